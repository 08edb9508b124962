"""One training function, run in this process or in N processes under torchrun.

A Snakemake rule script calls `run(train_method, kwargs, gpus)`: with one process the function
is simply called; with more, torchrun starts N copies of this module, each of which imports the
function by its module and name and calls it (the Trainer inside sets up DistributedDataParallel
from the environment torchrun provides). Only rank 0 writes outputs, so the multi-process call
returns None: its results are the files the function writes.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch.distributed as dist

from ..logs import FORMAT

WORKER_MODULE = "irrepro.train.distributed"  # what torchrun runs: this file's `main`


def world() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's environment; (0, 1, 0) without it."""
    env = os.environ
    return int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0))


def is_main_process() -> bool:
    """Rank 0, the process that writes checkpoints, logs and outputs."""
    return world()[0] == 0


def qualified_name(function: Callable) -> str:
    """ "package.module:function" of a module-level function, which a worker can import."""
    name = f"{function.__module__}:{function.__qualname__}"
    if "<" in function.__qualname__ or resolve(name) is not function:
        raise ValueError(f"{name} is not a module-level function: a worker cannot import it")
    return name


def resolve(function: str) -> Callable:
    """The function named by "package.module:function"."""
    module_name, sep, attribute = function.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"expected 'module.path:function', not {function!r}")
    return getattr(importlib.import_module(module_name), attribute)


def run(function: Callable, kwargs: dict, processes: int):
    """Call `function(**kwargs)` here (processes <= 1) or in `processes` torchrun workers.

    kwargs travel as JSON to the workers, so they must be JSON values (paths become strings).
    """
    if processes <= 1:
        return function(**kwargs)
    name = qualified_name(function)  # fail here, not in N workers
    with tempfile.TemporaryDirectory(prefix="irrepro-run-") as tmp:
        arguments = Path(tmp) / "kwargs.json"
        arguments.write_text(json.dumps(kwargs, default=_path_to_str))
        command = [
            sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node", str(processes), "-m", WORKER_MODULE, name, str(arguments),
        ]  # fmt: skip
        subprocess.run(command, check=True)
    return None


def _path_to_str(value):
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


def main(argv: list[str]) -> None:
    """A torchrun worker: call the function with the JSON kwargs, then leave the process group.

    Its log goes to the stderr it inherits (the rule's log handlers live in the parent).
    """
    function, arguments = argv
    logging.basicConfig(level=logging.INFO, format=f"[rank {world()[0]}] {FORMAT}")
    try:
        resolve(function)(**json.loads(Path(arguments).read_text()))
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1:])
