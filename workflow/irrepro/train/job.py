"""One training job for every trained method: its family's recipe on the shared trainer.

`train_method` is what every training rule runs (through irrepro.train.distributed): it reads
the corpus and the train queries, turns the method's config section into TrainSettings, asks
the family's recipe (named in irrepro.methods) for the model, its loss and its batches, and
trains them, resuming a checkpoint of the same job. The model folder gets the model, its
train log and what training cost (training.json, read by the training-cost table).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch

from .. import methods, runtime
from ..errors import ConfigError
from ..layout import Layout
from ..provenance import code_version
from .data import Corpus, TrainQueries
from .distributed import is_main_process, world
from .losses import Loss
from .trainer import Trainer, TrainSettings

log = logging.getLogger(__name__)

# Keys of a training section that the recipe reads, not the trainer.
RECIPE_KEYS = (
    "loss",
    "negatives",
    "depth",
    "metric_cut",
    "flops_query",
    "flops_document",
    "flops_ramp",
    "query_regularizer",
    "inbatch_weight",
    "refresh_every",
    "keep_indexes",
)


@dataclass
class TrainData:
    """What a recipe builds its job from."""

    method: methods.Method
    settings: dict  # the method's config fields (Plan.training)
    train: TrainSettings
    inputs: dict[str, str]  # the training rule's input files by name
    corpus: Corpus
    queries: TrainQueries
    work_dir: str = ""  # the job's checkpoint folder: what a recipe writes while it trains
    fingerprint: str = ""  # identifies the job (and what it wrote) across a kill and resume
    speed: dict = field(default_factory=dict)  # its section's speed-only settings (speed.py)

    @property
    def section(self) -> dict:
        return self.settings["training"]

    def loss_name(self) -> str:
        return self.section.get("loss", self.method.loss)


@dataclass
class Job:
    """A recipe's result: the model to train, its loss, its batches(step) (the global batch),
    and what training.json should say about it besides the settings and the cost. A
    `pretrained` job's model is saved as it is."""

    model: torch.nn.Module
    loss: Loss
    batches: Callable
    details: dict = field(default_factory=dict)
    pretrained: bool = False  # a released model used as it is: saved, not trained
    report: Callable[[], dict] | None = None  # more of training.json, known once trained
    after_save: Callable[[str], None] | None = None  # writes more into the saved model's folder


def train_method(
    method: str,
    *,
    inputs: dict,
    settings: dict,
    out_dir: str,
    checkpoint_dir: str,
    speed: dict | None = None,
) -> None:
    """Train `method` (any trained method of the registry) and save it to out_dir. `speed`:
    settings that change how fast, not what (irrepro.speed), kept out of the fingerprint."""
    record = methods.get(method)
    missing = sorted(set(record.family.train_inputs(record, Layout("."))) - set(inputs))
    if missing:
        raise ConfigError(f"{method} trains on {', '.join(missing)}: missing from its inputs")
    corpus = Corpus(inputs["corpus"])
    queries = TrainQueries(inputs["queries"], inputs["qrels"], corpus)
    train = settings_for(settings["training"], len(queries))
    key = fingerprint(method=method, settings=settings, inputs=input_signature(*inputs.values()))
    data = TrainData(
        record, settings, train, inputs, corpus, queries, checkpoint_dir, key, speed or {}
    )
    job = recipe(record)(data)
    log.info(
        "%s: %d train queries, %d passages, %d steps of %d, loss %s",
        method, len(queries), len(corpus), train.steps, train.batch_size, job.loss.name,
    )  # fmt: skip
    if job.pretrained:
        log.info("%s: a pretrained model, saved as it is (no training)", method)
        if is_main_process():
            empty = pd.DataFrame(columns=["step", "loss", "seconds"])
            save_job(job, empty, out_dir, settings=train, method=method, pretrained=True,
                     **job.details)  # fmt: skip
        return
    trainer = Trainer(job.model, job.loss, job.batches, train, checkpoint_dir, fingerprint=key)
    train_log = trainer.train()
    if is_main_process():
        details = {"method": method, "loss": job.loss.name, **job.details}
        if job.report is not None:
            details.update(job.report())
        save_job(job, train_log, out_dir, settings=train, **details)
        trainer.clear_checkpoint()


def recipe(method: methods.Method) -> Callable[[TrainData], Job]:
    """The family's recipe function, imported only here (the registry does not import torch)."""
    return runtime.resolve(method.family.recipe)


def save_job(job: Job, train_log, out_dir: str, **details) -> None:
    """save_trained, then what the recipe writes beside the saved model (`after_save`)."""
    save_trained(job.model, train_log, out_dir, **details)
    if job.after_save is not None:
        job.after_save(out_dir)


def settings_for(section: dict, n_queries: int) -> TrainSettings:
    """TrainSettings from a method's config; `epochs` (if given) is turned into steps."""
    section = {k: v for k, v in section.items() if k not in RECIPE_KEYS}
    epochs = section.pop("epochs", None)
    if epochs is not None:
        section["steps"] = max(1, math.ceil(epochs * n_queries / section["batch_size"]))
    return TrainSettings.from_config(section)


def fingerprint(**parts) -> str:
    """Identifies a training job so that a checkpoint is only resumed by the same job."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def input_signature(*paths) -> list:
    """Paths with size and mtime: a changed input invalidates a checkpoint."""
    out = []
    for path in paths:
        if path:
            stat = Path(path).stat()
            out.append([str(path), stat.st_size, stat.st_mtime_ns])
    return out


def save_trained(model, train_log, out_dir: str, **details) -> None:
    """The model, its train log, and what the training cost (read by the training-cost table)."""
    model.save(out_dir)
    train_log.to_parquet(Path(out_dir) / "train_log.parquet", index=False)
    cuda = torch.cuda.is_available()
    cost = {
        **{k: (asdict(v) if hasattr(v, "__dataclass_fields__") else v) for k, v in details.items()},
        "seconds": float(train_log["seconds"].iloc[-1]) if len(train_log) else 0.0,
        "device": "cuda" if cuda else "cpu",
        "gpus": world()[1] if cuda else 0,
        "gpu_name": torch.cuda.get_device_name(0) if cuda else None,
        "written_by": code_version(),
    }
    (Path(out_dir) / "training.json").write_text(json.dumps(cost, indent=2) + "\n")
