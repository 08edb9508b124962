"""Training the STAR/ADORE paper's bi-encoders: the warm-up models and STAR.

- In-Batch Neg: each query against the other queries' positives of the batch.
- Rand Neg: `negatives` random passages per query; each query against all of the batch's.
- BM25 Neg: the same with negatives drawn from the query's BM25 top-200 (minus positives).
- STAR: one static hard negative per query (from the warm-up model's top-200) plus the batch's
  positives reused as random negatives, initialised from the warm-up (BM25 Neg) model.
All use the RankNet pairwise loss of irrepro.train.losses.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..errors import ConfigError
from ..train.data import (
    BatchPlan,
    Corpus,
    NegativePool,
    TrainQueries,
    sample_negatives,
    sample_positives,
    shard,
)
from ..train.distributed import is_main_process, world
from ..train.losses import inbatch_loss, sampled_negatives_loss, star_loss
from ..train.trainer import Trainer, TrainSettings
from .model import BiEncoder

log = logging.getLogger(__name__)

METHODS = ("inbatch", "randneg", "bm25neg", "star")


@dataclass(frozen=True)
class EncoderSpec:
    """How texts become vectors; the `dense` config section minus training settings."""

    backbone: str = "minilm"
    pooling: str = "cls"
    head: bool = True
    normalize: bool = False
    markers: bool = False  # TCT-ColBERT's input format (see BiEncoder)
    query_length: int = 24
    passage_length: int = 120

    @classmethod
    def from_config(cls, section: dict) -> EncoderSpec:
        spec = cls(**{k: v for k, v in section.items() if k in cls.__dataclass_fields__})
        if spec.pooling not in ("cls", "mean"):
            raise ConfigError(f"dense.pooling must be cls or mean, not {spec.pooling!r}")
        return spec

    def new_model(self, seed: int) -> BiEncoder:
        return BiEncoder.from_backbone(
            self.backbone, self.pooling, self.head, self.normalize, seed, self.markers
        )


def settings_for(section: dict, n_queries: int) -> TrainSettings:
    """TrainSettings from a method's config; `epochs` (if given) is turned into steps."""
    section = dict(section)
    section.pop("negatives", None)
    section.pop("init", None)
    epochs = section.pop("epochs", None)
    for key in ("depth", "metric_cut"):
        section.pop(key, None)
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


class PairBatches:
    """Deterministic batches of (query, positive, negatives) for the pairwise methods."""

    def __init__(
        self,
        model: BiEncoder,
        corpus: Corpus,
        queries: TrainQueries,
        plan: BatchPlan,
        encoder: EncoderSpec,
        negatives: int = 0,
        pool: NegativePool | None = None,
    ):
        self.model, self.corpus, self.queries, self.plan = model, corpus, queries, plan
        self.encoder, self.negatives, self.pool = encoder, negatives, pool

    def __call__(self, step: int, rank: int = 0, world_size: int = 1) -> dict:
        picked = self.plan.queries(step)
        rng = self.plan.rng(step)
        positives = sample_positives(self.queries, picked, rng)
        negatives = (
            sample_negatives(self.queries, picked, self.negatives, rng, len(self.corpus), self.pool)
            if self.negatives
            else None
        )
        picked, positives = shard(picked, rank, world_size), shard(positives, rank, world_size)
        batch = {
            "queries": self._tokens(self.queries.texts[picked], "query"),
            "positives": self._tokens(self.corpus.text(positives)),
            "positive_mask": torch.from_numpy(self.queries.is_positive(picked, positives)),
        }
        if negatives is not None:
            negatives = shard(negatives, rank, world_size).reshape(-1)
            batch["negatives"] = self._tokens(self.corpus.text(negatives))
            batch["negative_is_positive"] = torch.from_numpy(
                self.queries.is_positive(picked, negatives)
            )
        return batch

    def _tokens(self, texts, kind: str = "passage") -> dict:
        length = self.encoder.query_length if kind == "query" else self.encoder.passage_length
        return self.model.tokenize([str(t) for t in texts], length, kind)


def pairwise_loss_fn(method: str):
    """The loss of a warm-up method or STAR, as loss_fn(model, batch) for the Trainer."""

    def loss_fn(model, batch):
        queries = model(**batch["queries"])
        positives = model(**batch["positives"])
        if method == "inbatch":
            loss = inbatch_loss(queries, positives, batch["positive_mask"])
        elif method == "star":
            negatives = model(**batch["negatives"])
            loss = star_loss(
                queries, positives, negatives, batch["positive_mask"], batch["negative_is_positive"]
            )
        else:
            negatives = model(**batch["negatives"])
            loss = sampled_negatives_loss(
                queries, positives, negatives, batch["negative_is_positive"]
            )
        return loss, {}

    return loss_fn


def train_biencoder(
    method: str,
    *,
    corpus_path: str,
    queries_path: str,
    qrels_path: str,
    out_dir: str,
    checkpoint_dir: str,
    encoder: dict,
    training: dict,
    negatives_path: str | None = None,
    init_dir: str | None = None,
) -> None:
    """Train one of METHODS and save it (model + train_log.parquet + training.json) to out_dir."""
    if method not in METHODS:
        raise ConfigError(f"not a bi-encoder training method: {method!r}")
    spec = EncoderSpec.from_config(encoder)
    corpus = Corpus(corpus_path)
    queries = TrainQueries(queries_path, qrels_path, corpus)
    settings = settings_for(training, len(queries))
    n_negatives = 0 if method == "inbatch" else int(training.get("negatives", 1))
    if method in ("bm25neg", "star") and not negatives_path:
        raise ConfigError(f"{method} needs a negatives file")
    pool = NegativePool(negatives_path, queries, corpus) if negatives_path else None
    model = BiEncoder.load(init_dir) if init_dir else spec.new_model(settings.seed)
    log.info(
        "%s: %d train queries, %d passages, %d steps of %d",
        method,
        len(queries),
        len(corpus),
        settings.steps,
        settings.batch_size,
    )
    batches = PairBatches(
        model,
        corpus,
        queries,
        BatchPlan(len(queries), settings.batch_size, settings.seed),
        spec,
        n_negatives,
        pool,
    )
    job = fingerprint(
        method=method,
        encoder=asdict(spec),
        settings=asdict(settings),
        inputs=input_signature(corpus_path, queries_path, qrels_path, negatives_path),
        init=init_dir,
    )
    train_and_save(
        model,
        pairwise_loss_fn(method),
        batches,
        settings,
        checkpoint_dir,
        job,
        out_dir,
        method=method,
    )


def train_and_save(
    model, loss_fn, batches, settings: TrainSettings, checkpoint_dir, job: str, out_dir, **details
) -> None:
    """Train (resuming a checkpoint of the same `job` fingerprint), then save the model, its log
    and its cost from the main process and drop the checkpoint."""
    trainer = Trainer(model, loss_fn, batches, settings, checkpoint_dir, fingerprint=job)
    train_log = trainer.train()
    if is_main_process():
        save_trained(model, train_log, out_dir, settings=settings, **details)
        trainer.clear_checkpoint()


def save_trained(model: BiEncoder, train_log, out_dir: str, **details) -> None:
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
    }
    (Path(out_dir) / "training.json").write_text(json.dumps(cost, indent=2) + "\n")
