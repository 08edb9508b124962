"""One training function, run in this process or in N processes under torchrun.

A Snakemake rule script calls `run(train_method, kwargs, gpus)`: with one process the function
is simply called; with more, torchrun starts N copies of this module, each of which imports the
function by its module and name and calls it (the Trainer inside sets up DistributedDataParallel
from the environment torchrun provides). Only rank 0 writes outputs, so the multi-process call
returns None: its results are the files the function writes.

Every process builds the same global batch; `ShardedForward` is what the loss calls as its
model, so each process encodes only its share and the loss sees the whole batch's outputs.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as dist

from ..logs import FORMAT
from ..runtime import resolve

WORKER_MODULE = "irrepro.train.distributed"  # what torchrun runs: this file's `main`


def world() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's environment; (0, 1, 0) without it."""
    env = os.environ
    return int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0))


def is_main_process() -> bool:
    """Rank 0, the process that writes checkpoints, logs and outputs."""
    return world()[0] == 0


class ShardedForward:
    """The model as a loss calls it under torchrun: each process runs it on its contiguous share
    of the global batch (dim 0 of every tensor argument) and gets back the outputs of the whole
    batch, in batch order, so a loss is the same function of the global batch as in one process
    (in-batch negatives, FLOPS over the batch). Other processes' outputs arrive without
    gradient, so each process's gradient is 1/world_size of the global loss's: the trainer
    scales the loss it back-propagates by world_size, and DDP's mean is the global gradient."""

    def __init__(self, model: torch.nn.Module, rank: int, world_size: int):
        self.model, self.rank, self.world_size = model, rank, world_size

    def __call__(self, *args, **kwargs):
        args = [self._share(value) for value in args]
        kwargs = {key: self._share(value) for key, value in kwargs.items()}
        return self._gather(self.model(*args, **kwargs))

    def _share(self, value):
        if not isinstance(value, torch.Tensor) or value.dim() == 0:
            return value
        size, remainder = divmod(len(value), self.world_size)
        if remainder:
            raise ValueError(
                f"a batch of {len(value)} does not split evenly over {self.world_size} "
                "processes: choose a batch_size divisible by the number of GPUs"
            )
        return value[self.rank * size : (self.rank + 1) * size]

    def _gather(self, output):
        if isinstance(output, torch.Tensor):
            parts = [torch.empty_like(output) for _ in range(self.world_size)]
            dist.all_gather(parts, output.detach().contiguous())
            parts[self.rank] = output  # the one part whose gradient this process computes
            return torch.cat(parts)
        if isinstance(output, (tuple, list)):
            return type(output)(self._gather(part) for part in output)
        if isinstance(output, dict):
            return {key: self._gather(part) for key, part in output.items()}
        return output


def qualified_name(function: Callable) -> str:
    """ "package.module:function" of a module-level function, which a worker can import."""
    name = f"{function.__module__}:{function.__qualname__}"
    if "<" in function.__qualname__ or resolve(name) is not function:
        raise ValueError(f"{name} is not a module-level function: a worker cannot import it")
    return name


def run(function: Callable, kwargs: dict, processes: int, threads: int | None = None):
    """Call `function(**kwargs)` here (processes <= 1) or in `processes` torchrun workers,
    which share `threads` (torchrun's default: one each).

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
        env = dict(os.environ)
        if threads:
            env["OMP_NUM_THREADS"] = str(max(1, threads // processes))
        with subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        ) as workers:
            relay_output(workers.stdout)
        if workers.returncode:
            raise subprocess.CalledProcessError(workers.returncode, command)
    return None


def relay_output(stream) -> None:
    """The workers' output to our stderr as it comes (progress bars included), and their log
    records (from "[rank N]" to the end of a line) also to this process's log files, so that
    the rule's log holds every worker's records."""
    files = [h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]
    pending = b""
    for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
        sys.stderr.write(chunk.decode(errors="replace"))
        sys.stderr.flush()
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            start = line.find(b"[rank ")  # after any progress bar drawn on the same line
            if start >= 0:
                for handler in files:
                    handler.stream.write(line[start:].decode(errors="replace") + "\n")
                    handler.flush()


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
