"""Process-level settings a rule applies before heavy work: threads and the compute device."""

from __future__ import annotations

import os
import sys


def use_threads(threads: int) -> None:
    """Give torch and faiss the rule's thread budget (Snakemake's `threads`). A job that has
    not imported torch is not made to (3 s): the environment caps it if imported later."""
    threads = max(1, int(threads))
    os.environ["OMP_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    try:
        import faiss

        faiss.omp_set_num_threads(threads)
    except ImportError:
        pass


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
