"""Process-level settings a rule applies before heavy work: threads and the compute device."""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import sys

log = logging.getLogger(__name__)

# glibc's mallopt parameters (malloc.h) and the value given to both: 1 GiB.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEEP_BELOW = 1 << 30


def use_threads(threads: int) -> None:
    """Give torch, numba and faiss the rule's thread budget (Snakemake's `threads`). A job that
    has not imported torch or numba is not made to (3 s): the environment caps them if imported
    later. numba first: its OpenMP threading layer shares torch's libgomp, and its launch (or a
    later numba.set_num_threads) sets the thread count torch reads too, so a numba default of
    every core would leave torch on every core after a job's first sparse retrieval."""
    threads = max(1, int(threads))
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "numba" in sys.modules:
        use_numba_threads(threads)
    else:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    try:
        import faiss

        faiss.omp_set_num_threads(threads)
    except ImportError:
        pass


def use_numba_threads(threads: int) -> None:
    """numba's thread count: `threads`, capped to the NUMBA_NUM_THREADS it started with."""
    import numba

    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed blocks up to 1 GiB for reuse instead of handing them back
    to the kernel. A CPU training step allocates and frees the same large tensors every step
    (a MiniLM's 47 MB embedding gradient, the activations); by default glibc unmaps or trims
    them and the next step faults their pages in again (~20,000 page faults a MiniLM step): a
    bf16 MiniLM step 5-17% slower (NOTES.md). Changes no number; the process keeps its peak
    heap. False where the C library is not glibc (nothing done)."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    kept = mallopt(M_MMAP_THRESHOLD, KEEP_BELOW) == 1 and mallopt(M_TRIM_THRESHOLD, KEEP_BELOW) == 1
    if not kept:
        log.warning("mallopt refused the thresholds: freed memory goes back to the kernel")
    return kept


def resolve(function: str):
    """The function named by "package.module:function", imported only now: registries name
    the heavy ones (torch, transformers), so only the jobs that run them import them."""
    module_name, sep, attribute = function.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"expected 'module.path:function', not {function!r}")
    return getattr(importlib.import_module(module_name), attribute)


def use_precision(precision: str) -> None:
    """The job's inference precision (the config's `precision`; irrepro.precision)."""
    from . import precision as amp

    amp.use(precision)


def device() -> str:
    """Where a rule's model runs: the GPU when there is one."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def training_processes(resources) -> int:
    """torchrun workers for a training job: one per GPU it was given (the profile's `gpu`
    resource, capped by what torch sees); without CUDA, the `processes` resource (CPU workers
    on gloo: a multi-GPU setting tried on a CPU); one by default."""
    import torch

    if torch.cuda.is_available():
        wanted = int(getattr(resources, "gpu", 0) or 0)
        return max(1, min(wanted, torch.cuda.device_count()))
    return max(1, int(getattr(resources, "processes", 1) or 1))


def retrieval_splits(job, *extra_outputs: str):
    """For each split a retrieval job serves (its rule lists them in order: the evaluated
    splits, or one): the queries file, depth, run and TREC paths, then each named output."""
    columns = (job.input.queries, job.params.depth, job.output.run, job.output.trec)
    return zip(*columns, *(job.output[name] for name in extra_outputs), strict=True)
