"""Training TCT-ColBERT's teacher and students on (query, positive, BM25 negative) triples.

- ColBERT: in-batch softmax over the batch's 2B passages scored by MaxSim.
- PoolAvg: a bi-encoder with the same input format and mean pooling, labels only.
- TCT (in-batch KD): Eq. 6, the frozen teacher run inside every step on the same token batch;
  TCT (triplet KD) distils only each query's own (positive, negative) pair.
Every student starts from the teacher's transformer weights (the paper's initialisation), so
PoolAvg, TCT (triplet KD) and TCT differ only in their loss: Table 3's ablation.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import torch

from ..dense.model import BiEncoder
from ..dense.training import (
    EncoderSpec,
    PairBatches,
    fingerprint,
    input_signature,
    settings_for,
    train_and_save,
)
from ..errors import ConfigError
from ..train.data import BatchPlan, Corpus, NegativePool, TrainQueries
from ..train.losses import inbatch_softmax_loss, tct_loss
from .colbert import ColBERT, maxsim

log = logging.getLogger(__name__)

STUDENTS = ("poolavg", "tct-triplet", "tct")


@dataclass(frozen=True)
class TctSpec:
    """The `tct` config section minus training settings."""

    backbone: str = "bert-base-uncased"
    query_length: int = 32
    passage_length: int = 150
    dim: int = 128
    tau: float = 0.25
    gamma: float = 0.1

    @classmethod
    def from_config(cls, section: dict) -> TctSpec:
        encoder = section.get("encoder", {})
        values = {**encoder, **{k: section[k] for k in ("tau", "gamma") if k in section}}
        spec = cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})
        if spec.tau <= 0 or not 0 <= spec.gamma <= 1:
            raise ConfigError(f"tct: tau must be > 0 and gamma in [0, 1] (got {spec})")
        return spec

    def encoder(self) -> EncoderSpec:
        return EncoderSpec(
            backbone=self.backbone,
            pooling="mean",
            head=False,
            markers=True,
            query_length=self.query_length,
            passage_length=self.passage_length,
        )


def false_negatives(batch: dict) -> torch.Tensor:
    """(B, 2B): columns of [positives; negatives] relevant to the row's query, its own
    positive (column i) excepted."""
    inbatch = batch["positive_mask"].clone()
    inbatch.fill_diagonal_(False)
    return torch.cat([inbatch, batch["negative_is_positive"]], dim=1)


def colbert_scores(model, batch: dict) -> torch.Tensor:
    """(B, 2B) MaxSim of each query against the batch's positives then negatives."""
    queries, query_mask = model(**batch["queries"], kind="query")
    scores = []
    for part in ("positives", "negatives"):
        docs, doc_mask = model(**batch[part], kind="passage")
        scores.append(maxsim(queries, query_mask, docs, doc_mask))
    return torch.cat(scores, dim=1)


def biencoder_scores(model, batch: dict) -> torch.Tensor:
    queries = model(**batch["queries"])
    passages = torch.cat([model(**batch["positives"]), model(**batch["negatives"])])
    return queries @ passages.T


def colbert_loss_fn(model, batch):
    return inbatch_softmax_loss(colbert_scores(model, batch), false_negatives(batch)), {}


def student_loss_fn(method: str, teacher: ColBERT | None, spec: TctSpec):
    """Eq. 6 for one student; the teacher scores the very same token batch, without grad."""
    if teacher is not None:
        teacher.eval().requires_grad_(False)

    def loss_fn(model, batch):
        student = biencoder_scores(model, batch)
        soft = None
        if teacher is not None:
            teacher.to(student.device)
            with torch.no_grad():
                soft = colbert_scores(teacher, batch).float()
        loss = tct_loss(
            student.float(),
            soft,
            false_negatives(batch),
            spec.gamma,
            spec.tau,
            triplet_only=method == "tct-triplet",
        )
        return loss, {}

    return loss_fn


def train_tct(
    method: str,
    *,
    corpus_path: str,
    queries_path: str,
    qrels_path: str,
    negatives_path: str,
    out_dir: str,
    checkpoint_dir: str,
    tct: dict,
    training: dict,
    teacher_dir: str | None = None,
) -> None:
    """Train `colbert` or one of STUDENTS and save it with its train log and cost."""
    if method != "colbert" and method not in STUDENTS:
        raise ConfigError(f"not a TCT-ColBERT training method: {method!r}")
    if method != "colbert" and not teacher_dir:
        raise ConfigError(f"{method} starts from the trained ColBERT teacher: give teacher_dir")
    spec = TctSpec.from_config(tct)
    corpus = Corpus(corpus_path)
    queries = TrainQueries(queries_path, qrels_path, corpus)
    settings = settings_for(training, len(queries))
    pool = NegativePool(negatives_path, queries, corpus)
    if method == "colbert":
        model = ColBERT.from_backbone(spec.backbone, spec.dim, settings.seed)
        loss_fn = colbert_loss_fn
    else:
        model = BiEncoder.from_backbone(teacher_dir, "mean", markers=True, seed=settings.seed)
        teacher = ColBERT.load(teacher_dir) if method != "poolavg" else None
        loss_fn = student_loss_fn(method, teacher, spec)
    log.info(
        "%s: %d train queries, %d passages, %d steps of %d (tau %g, gamma %g)",
        method,
        len(queries),
        len(corpus),
        settings.steps,
        settings.batch_size,
        spec.tau,
        spec.gamma,
    )
    batches = PairBatches(
        model,
        corpus,
        queries,
        BatchPlan(len(queries), settings.batch_size, settings.seed),
        spec.encoder(),
        negatives=1,
        pool=pool,
    )
    job = fingerprint(
        method=method,
        tct=asdict(spec),
        settings=asdict(settings),
        inputs=input_signature(corpus_path, queries_path, qrels_path, negatives_path),
        teacher=teacher_dir,
    )
    train_and_save(model, loss_fn, batches, settings, checkpoint_dir, job, out_dir, method=method)
