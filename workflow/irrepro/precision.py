"""Mixed precision, one rule for training and inference: which autocast dtype a setting means on
a device.

`auto` is the fastest precision the hardware computes natively: bf16 (else fp16) on CUDA, and
bf16 on a CPU with bf16 matrix instructions (AMX or AVX512-BF16), where MiniLM trains 1.7-1.9x
and encodes and scores 3x faster than in fp32 (benchmarks/results/cpu_precision.md); fp32 on
other CPUs, where bf16 is emulated and slower. Numbers then depend on the CPU kind, which
provenance records.

Inference (encoding, scoring, reranking) runs in the process's precision, which a job sets from
the config's `precision` (irrepro.runtime.use_precision), as it sets its threads; a library call
outside a job runs in fp32, so its outputs are exact unless asked otherwise.
"""

from __future__ import annotations

import contextlib
import functools
import logging

import torch

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
DTYPES = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}

_process_precision = "fp32"


def use(precision: str) -> None:
    """The precision of this process's inference from now on."""
    global _process_precision
    check(precision)
    _process_precision = precision


def current() -> str:
    return _process_precision


def check(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be {', '.join(PRECISIONS)}, not {precision!r}")


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True where the CPU multiplies bf16 matrices in hardware (AMX tiles or AVX512-BF16)."""
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # private, so looked up
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def autocast_dtype(precision: str | None, device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype `precision` (None: the process's) means on `device`; None: fp32."""
    precision = current() if precision is None else precision
    check(precision)
    kind = torch.device(device).type
    if kind == "cuda":
        if precision == "auto":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return DTYPES[precision]
    if precision == "auto":
        return torch.bfloat16 if cpu_has_native_bf16() else None
    if precision == "fp16":
        log.info("precision fp16 applies on CUDA only: fp32 on %s", kind)
        return None
    return DTYPES[precision]


def autocast(device: torch.device | str, precision: str | None = None):
    """A context that runs its operations in `precision` (None: the process's) on `device`."""
    return autocast_to(device, autocast_dtype(precision, device))


def autocast_to(device: torch.device | str, dtype: torch.dtype | None):
    """A context that runs its operations in `dtype` on `device` (nothing for None: fp32)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def describe(precision: str | None, device: torch.device | str) -> str:
    """What `precision` (None: the process's) resolves to on `device`: fp32, bf16 or fp16."""
    return dtype_name(autocast_dtype(precision, device))


def dtype_name(dtype: torch.dtype | None) -> str:
    return "fp32" if dtype is None else str(dtype).removeprefix("torch.")
