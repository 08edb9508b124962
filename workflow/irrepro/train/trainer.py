"""The training loop shared by every neural method: one place for what makes a run reproducible.

A run is a pure function of its settings, model, loss and batches: everything random is seeded,
batches are a function of the step (irrepro.train.data), and a checkpoint holds the whole state
(weights, optimizer, schedule, loss scaler, RNG states, the log so far), so a run killed and
resumed ends with exactly the weights and log of an uninterrupted one. Under torchrun the model
is wrapped in DistributedDataParallel, every process builds the global batch, and each encodes
its share of it (ShardedForward): the loss, and so the model, is that of one process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .. import precision as amp
from .. import runtime
from ..errors import ConfigError
from ..speed import TRAINING_BOOKKEEPING
from .distributed import ShardedForward, world
from .optim import OPTIMIZERS, build_optimizer, linear_schedule

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
TRAIN_LOG = "train_log.parquet"
CHECKPOINT_FORMAT = 2  # 2: the loss's state
LOG_COLUMNS = ("step", "loss", "lr", "grad_norm", "examples_per_s", "seconds")


@dataclass(frozen=True)
class TrainSettings:
    """How to train; `gradient_checkpointing` only matters on CUDA, `precision` is
    irrepro.precision's (`auto`: bf16 on CUDA and on CPUs with bf16 instructions)."""

    steps: int
    batch_size: int  # global: split across processes under torchrun
    lr: float
    optimizer: str = "adamw"
    weight_decay: float = 0.01
    warmup: int = 0
    max_grad_norm: float = 1.0  # 0: no clipping
    seed: int = 42
    checkpoint_every: int = 500  # steps; 0: only the final state
    log_every: int = 10
    precision: str = "auto"  # auto | fp32 | fp16 | bf16
    gradient_checkpointing: bool = False

    def __post_init__(self):
        problems = [
            f"{name} must be {rule}, not {getattr(self, name)!r}"
            for name, rule, ok in (
                ("steps", ">= 1", self.steps >= 1),
                ("batch_size", ">= 1", self.batch_size >= 1),
                ("lr", ">= 0", self.lr >= 0),
                ("optimizer", " or ".join(OPTIMIZERS), self.optimizer in OPTIMIZERS),
                ("weight_decay", ">= 0", self.weight_decay >= 0),
                ("warmup", ">= 0", self.warmup >= 0),
                ("max_grad_norm", ">= 0", self.max_grad_norm >= 0),
                ("checkpoint_every", ">= 0", self.checkpoint_every >= 0),
                ("log_every", ">= 1", self.log_every >= 1),
                ("precision", " | ".join(amp.PRECISIONS), self.precision in amp.PRECISIONS),
            )
            if not ok
        ]
        if problems:
            raise ConfigError("training settings: " + "; ".join(problems))

    @classmethod
    def from_config(cls, section: dict) -> TrainSettings:
        """From a config section; numbers given as strings (YAML's `1e-4`) are converted."""
        known = {field.name: field for field in fields(cls)}
        unknown = sorted(set(section) - set(known))
        if unknown:
            raise ConfigError(
                f"unknown training settings: {', '.join(unknown)} (known: {', '.join(known)})"
            )
        required = [name for name, field in known.items() if field.default is MISSING]
        missing = [name for name in required if name not in section]
        if missing:
            raise ConfigError(f"missing training settings: {', '.join(missing)}")
        return cls(**{key: _coerce(key, known[key].type, value) for key, value in section.items()})


def _coerce(key: str, type_name: str, value):
    """`value` as the field's type, or a ConfigError naming the key."""
    with contextlib.suppress(TypeError, ValueError, OverflowError):
        if type_name == "bool" and isinstance(value, bool):
            return value
        if type_name == "str" and isinstance(value, str):
            return value
        if type_name in ("int", "float") and not isinstance(value, bool):
            number = float(value)
            if type_name == "float":
                return number
            if number == int(number):
                return int(number)
    raise ConfigError(f"training setting {key}: expected {type_name}, got {value!r}")


class Trainer:
    """Trains `model` for `settings.steps` steps of `loss_fn(model, batches(step, rank, world),
    step)` (an irrepro.train.losses.Loss, or any function of those arguments).

    loss_fn returns (loss, {metric: float}) and must call the model's forward (`model(...)`):
    under torchrun it receives the DistributedDataParallel wrapper, whose forward syncs gradients.
    Tensors anywhere in a batch (dicts, lists, tuples) are moved to the device; mappings arrive
    as plain dicts. A loss with `state_dict()` / `load_state_dict()` has that state saved in
    checkpoints and restored on resume. `parameters` (named) restricts training to them; every
    other parameter of the model is frozen. A checkpoint in `checkpoint_dir` with the same
    fingerprint and settings is resumed; any other one is ignored (and overwritten at the next
    checkpoint).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: Callable,
        batches: Callable,
        settings: TrainSettings,
        checkpoint_dir: str | Path,
        *,
        device: str | torch.device | None = None,
        fingerprint: str = "",
        parameters: Iterable[tuple[str, torch.nn.Parameter]] | None = None,
    ):
        self.settings, self.loss_fn, self.batches = settings, loss_fn, batches
        self.fingerprint = fingerprint
        self.rank, self.world_size, local_rank = world()
        self.distributed = self.world_size > 1
        self.device = torch.device(device) if device is not None else default_device(local_rank)
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", local_rank)  # DDP and barriers need the index
        if self.device.type == "cpu":
            runtime.keep_freed_memory()
        if self.distributed:
            if settings.batch_size % self.world_size:
                raise ConfigError(
                    f"batch_size {settings.batch_size} does not split evenly over "
                    f"{self.world_size} processes: make it a multiple of the number of GPUs"
                )
            init_process_group(self.device)
        self.checkpoint_path = Path(checkpoint_dir) / CHECKPOINT
        seed_everything(settings.seed)
        self.module = model.to(self.device)
        if settings.gradient_checkpointing:
            enable_gradient_checkpointing(model)
        named = trainable_parameters(model, parameters)
        self.parameters = [param for _, param in named]
        self.optimizer = build_optimizer(
            named, settings.optimizer, settings.lr, settings.weight_decay
        )
        self.scheduler = linear_schedule(self.optimizer, settings.warmup, settings.steps)
        self.autocast_dtype = amp.autocast_dtype(settings.precision, self.device)
        log.info("precision: %s", amp.dtype_name(self.autocast_dtype))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.autocast_dtype == torch.float16)
        self.step = 0  # steps done = the next step to run
        self.rows: list[dict] = []
        self.means = RunningMeans()
        self.seconds = 0.0  # training time behind the current state, carried across resumes
        self._lr = settings.lr
        self._clock = time.perf_counter()
        self._rng_to_restore: dict | None = None  # restored when train() starts
        self._resume()
        self.model = self._wrap(model)

    # -- training ----------------------------------------------------------------------------

    def train(self) -> pd.DataFrame:
        """Run the remaining steps; the whole log (earlier runs' rows included) as a DataFrame."""
        steps = self.settings.steps
        if self.step >= steps:
            log.info("%s: all %d steps already done", self.checkpoint_path, steps)
            return self._finish()
        self.module.train()
        if self._rng_to_restore is not None:
            restore_rng_states(self._rng_to_restore)
            self._rng_to_restore = None
        self._clock = time.perf_counter() - self.seconds
        bar = tqdm(total=steps, initial=self.step, unit="step", disable=self.rank != 0)
        try:
            for step in range(self.step, steps):
                self._train_step(step)
                self.step = step + 1
                self.seconds = self._elapsed()
                bar.update()
                if self.step % self.settings.log_every == 0 or self.step == steps:
                    row = self._log_row()
                    bar.set_postfix(loss=f"{row['loss']:.4f}")
                if self._checkpoint_due():
                    self._save_checkpoint()
        finally:
            bar.close()
        return self._finish()

    def _train_step(self, step: int) -> None:
        batch = to_device(self.batches(step), self.device)
        with amp.autocast_to(self.device, self.autocast_dtype):
            loss, metrics = self.loss_fn(self.model, batch, step)
        clashes = set(metrics) & set(LOG_COLUMNS)
        if clashes:
            raise ValueError(f"loss_fn metrics may not be named {sorted(clashes)}")
        self.scaler.scale(loss * self.world_size).backward()  # see ShardedForward
        self.scaler.unscale_(self.optimizer)
        max_norm = self.settings.max_grad_norm or float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(self.parameters, max_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self._lr = self.optimizer.param_groups[0]["lr"]  # the rate this step used
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.means.add({"loss": loss.detach().float(), "grad_norm": grad_norm.detach(), **metrics})

    def _elapsed(self) -> float:
        return time.perf_counter() - self._clock

    def _log_row(self) -> dict:
        steps_since, since = self.means.count, self.means.since
        means = self.means.take(self._all_mean)  # waits for the device: time it after
        seconds = self.seconds = self._elapsed()
        row = {
            "step": self.step,
            "loss": means.pop("loss"),
            "lr": self._lr,
            "grad_norm": means.pop("grad_norm"),
            "examples_per_s": self.settings.batch_size * steps_since / max(seconds - since, 1e-9),
            "seconds": seconds,
            **means,
        }
        self.means.since = seconds
        self.rows.append(row)
        if self.rank == 0:
            log.info(
                "step %d/%d loss %.5g lr %.3g grad_norm %.3g %.1f examples/s",
                row["step"], self.settings.steps, row["loss"], row["lr"], row["grad_norm"],
                row["examples_per_s"],
            )  # fmt: skip
        return row

    def _all_mean(self, values: dict[str, float]) -> dict[str, float]:
        """The mean over processes of each value (every process must pass the same keys)."""
        if not self.distributed or not values:
            return values
        keys = sorted(values)
        packed = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=self.device)
        dist.all_reduce(packed)
        return dict(zip(keys, (packed / self.world_size).tolist(), strict=True))

    def _finish(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows)
        if self.rank == 0:
            path = self.checkpoint_path.parent / TRAIN_LOG
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(path, lambda tmp: frame.to_parquet(tmp, index=False))
        return frame

    # -- checkpoints -------------------------------------------------------------------------

    def _checkpoint_due(self) -> bool:
        every = self.settings.checkpoint_every
        return self.step == self.settings.steps or (every > 0 and self.step % every == 0)

    def _save_checkpoint(self) -> None:
        self.means.fold(self._all_mean)  # every process, before rank 0 saves the result
        self._barrier()
        if self.rank == 0:
            state = self._checkpoint_state()
            self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(self.checkpoint_path, lambda tmp: torch.save(state, tmp))
        self._barrier()

    def _checkpoint_state(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": self.fingerprint,
            "settings": self._result_settings(),
            "step": self.step,
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_states(),
            "log": self.rows,
            "means": self.means.state_dict(),
            "seconds": self.seconds,
            "loss": loss_state(self.loss_fn),
        }

    def _result_settings(self) -> dict:
        return {k: v for k, v in asdict(self.settings).items() if k not in TRAINING_BOOKKEEPING}

    def _resume(self) -> None:
        if not self.checkpoint_path.exists():
            return
        try:
            state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=True)
        except Exception as error:  # an unreadable checkpoint costs a restart, not the run
            log.warning("%s unreadable (%s): starting afresh", self.checkpoint_path, error)
            return
        reason = self._incompatibility(state)
        if reason:
            log.warning("ignoring %s (%s): starting afresh", self.checkpoint_path, reason)
            return
        self.module.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state["scaler"]:  # empty when saved without fp16
            self.scaler.load_state_dict(state["scaler"])
        self._rng_to_restore = state["rng"]
        self.step, self.rows, self.seconds = state["step"], state["log"], state["seconds"]
        self.means.load_state_dict(state["means"])
        if hasattr(self.loss_fn, "load_state_dict"):
            self.loss_fn.load_state_dict(state["loss"])
        log.info("resumed %s at step %d/%d", self.checkpoint_path, self.step, self.settings.steps)

    def _incompatibility(self, state: dict) -> str:
        """Why this checkpoint is not this run's, or "" when it is."""
        if state.get("format") != CHECKPOINT_FORMAT:
            return f"checkpoint format {state.get('format')!r}, expected {CHECKPOINT_FORMAT}"
        if state["fingerprint"] != self.fingerprint:
            return f"fingerprint {state['fingerprint']!r}, this run's is {self.fingerprint!r}"
        ours = self._result_settings()
        differing = sorted(k for k in ours.keys() | state["settings"].keys()
                           if ours.get(k) != state["settings"].get(k))  # fmt: skip
        return f"settings differ: {', '.join(differing)}" if differing else ""

    def clear_checkpoint(self) -> None:
        """Delete the checkpoint (once the trained model is saved); the train log stays."""
        if self.rank == 0:
            self.checkpoint_path.unlink(missing_ok=True)

    # -- processes ---------------------------------------------------------------------------

    def _wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """DDP with a static graph, called through ShardedForward: the same parameters take
        part in every step, but some may take none (BERT's pooler) and the loss may call the
        model several times (queries, then passages, possibly through different sub-encoders),
        which the default mode rejects."""
        if not self.distributed:
            return model
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        parallel = DistributedDataParallel(model, device_ids=device_ids, static_graph=True)
        return ShardedForward(parallel, self.rank, self.world_size)

    def _barrier(self) -> None:
        if not self.distributed:
            return
        if self.device.type == "cuda":
            dist.barrier(device_ids=[self.device.index])
        else:
            dist.barrier()


class RunningMeans:
    """Sums of the loss, grad norm and metrics since the last log row.

    Tensors are summed on the device (no host sync per step). At a checkpoint the sums are
    averaged over processes and folded into `folded`, which the checkpoint keeps, so a resumed
    run logs the very means an uninterrupted one does.
    """

    def __init__(self):
        self.count = 0  # steps summed
        self.since = 0.0  # training seconds at the previous row
        self.sums: dict[str, torch.Tensor | float] = {}
        self.folded: dict[str, float] = {}

    def add(self, values: Mapping[str, torch.Tensor | float]) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.count += 1

    def fold(self, all_mean: Callable[[dict], dict]) -> None:
        local = {key: float(value) for key, value in self.sums.items()}
        for key, value in all_mean(local).items():
            self.folded[key] = self.folded.get(key, 0.0) + value
        self.sums = {}

    def take(self, all_mean: Callable[[dict], dict]) -> dict[str, float]:
        """The means since the last call, averaged over processes; starts the next interval."""
        self.fold(all_mean)
        means = {key: value / self.count for key, value in self.folded.items()}
        self.folded, self.count = {}, 0
        return means

    def state_dict(self) -> dict:
        if self.sums:
            raise RuntimeError("RunningMeans.fold() before saving")
        return {"count": self.count, "since": self.since, "folded": dict(self.folded)}

    def load_state_dict(self, state: dict) -> None:
        self.count, self.since, self.folded = state["count"], state["since"], dict(state["folded"])
        self.sums = {}


# -- helpers -----------------------------------------------------------------------------------


def loss_state(loss_fn) -> dict:
    """The loss's state to checkpoint ({} for a stateless loss or a plain function)."""
    return loss_fn.state_dict() if hasattr(loss_fn, "state_dict") else {}


def default_device(local_rank: int = 0) -> torch.device:
    """This process's GPU (cuda:LOCAL_RANK under torchrun), or the CPU without CUDA."""
    if torch.cuda.is_available():
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def init_process_group(device: torch.device) -> None:
    """NCCL between GPUs, gloo between CPU processes (torchrun provides the rendezvous)."""
    if dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def trainable_parameters(model: torch.nn.Module, parameters=None) -> list[tuple[str, torch.Tensor]]:
    """The named parameters to optimise: those given (the rest frozen) or all requiring grad."""
    if parameters is None:
        return [(name, param) for name, param in model.named_parameters() if param.requires_grad]
    chosen = list(parameters)
    chosen_ids = {id(param) for _, param in chosen}
    frozen = [param for param in model.parameters() if id(param) not in chosen_ids]
    for param in frozen:
        param.requires_grad_(False)
    if frozen:
        log.info("training %d parameter tensors, %d frozen", len(chosen), len(frozen))
    return chosen


def enable_gradient_checkpointing(model: torch.nn.Module) -> None:
    enable = getattr(model, "gradient_checkpointing_enable", None)
    if enable is None:
        log.warning("%s has no gradient_checkpointing_enable(): ignored", type(model).__name__)
        return
    enable()


def to_device(batch, device: torch.device):
    """`batch` with every tensor inside (nested dicts, lists, tuples) on `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, Mapping):
        return {key: to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a namedtuple
        return type(batch)(*(to_device(value, device) for value in batch))
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(value, device) for value in batch)
    return batch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # the CPU and every CUDA device


def rng_states() -> dict:
    """Python, numpy, torch CPU and all CUDA RNG states, as types torch.load(weights_only) reads."""
    name, keys, position, has_gauss, cached_gauss = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [name, keys.tolist(), int(position), int(has_gauss), float(cached_gauss)],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_states(states: dict) -> None:
    random.setstate(states["python"])
    name, keys, position, has_gauss, cached_gauss = states["numpy"]
    keys = np.asarray(keys, dtype=np.uint32)
    np.random.set_state((name, keys, position, has_gauss, cached_gauss))
    torch.set_rng_state(states["torch"])
    cuda = states["cuda"]
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if len(cuda) != available:
        log.warning("checkpoint has %d CUDA RNG states, %d devices here", len(cuda), available)
    for index, state in enumerate(cuda[:available]):
        torch.cuda.set_rng_state(state, index)


def replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """write(tmp) then rename over `path`: a crash leaves the old file or the new, never half."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
