"""The recipe of the SPLADE family: SPLADE-max, DistilSPLADE-max, SPLADE++ EnsembleDistil and
SelfDistil differ in their loss and in the negatives they train on (which the method registry
says); each sees `negatives` per query (one unless its training block says more), from its
negatives file (the first `teacher_depth` per query where a teacher scored them)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..errors import ConfigError
from ..train.data import BatchPlan, NegativePool, PairBatches, TeacherScores
from ..train.job import Job, TrainData
from ..train.losses import loss_class
from .losses import SPLADE_LOSSES, Regularizer
from .model import Splade

log = logging.getLogger(__name__)

# Keys of a SPLADE training block read by this recipe (irrepro.train.job leaves them out of
# TrainSettings): the FLOPS weights of queries and documents and the ramp's length in steps.
REGULARIZER_KEYS = {
    "flops_query": "query_weight",
    "flops_document": "document_weight",
    "flops_ramp": "ramp_steps",
    "query_regularizer": "query_regularizer",
}


@dataclass(frozen=True)
class SpladeSpec:
    """The `splade.encoder` section (defaults: the SPLADE v2 / SPLADE++ released configs)."""

    backbone: str = "distilbert-base-uncased"
    query_length: int = 256
    passage_length: int = 256

    def lengths(self) -> dict[str, int]:
        return {"query_length": self.query_length, "passage_length": self.passage_length}


class TeacherScoreBatches(PairBatches):
    """Pair batches with the teacher's (B, 1 + n) scores of each positive and its negatives."""

    def __init__(self, *args, teacher: TeacherScores, **kwargs):
        super().__init__(*args, **kwargs)
        self.teacher = teacher

    def extra(self, picked, positives, negatives):
        scores = [
            [self.teacher(q, row) for row in (positive, *negative)]
            for q, positive, negative in zip(picked, positives, negatives, strict=True)
        ]
        return {"teacher_scores": torch.tensor(np.asarray(scores, dtype=np.float32))}


def regularizer(section: dict, loss_type) -> Regularizer:
    """The method's FLOPS weights: its block's, else its loss's defaults (the papers')."""
    values = {**loss_type.default_regularizer}
    values.update({REGULARIZER_KEYS[k]: v for k, v in section.items() if k in REGULARIZER_KEYS})
    return Regularizer(**values)


def inbatch_term(data: TrainData, loss_type) -> dict:
    """The `inbatch_weight` a distillation loss adds its in-batch NLL with (refused elsewhere:
    inbatch-nll is that term already)."""
    if "inbatch_weight" not in data.section:
        return {}
    if not loss_type.needs_teacher_scores:
        raise ConfigError(f"{data.method.name}: inbatch_weight adds an in-batch term to a "
                          f"distillation loss (margin-mse, kl), not {loss_type.name}")  # fmt: skip
    return {"inbatch_weight": float(data.section["inbatch_weight"])}


def splade_job(data: TrainData) -> Job:
    spec = SpladeSpec(**data.settings["encoder"])
    loss_type = loss_class(SPLADE_LOSSES, data.loss_name(), data.method.name)
    loss = loss_type(regularizer(data.section, loss_type), **inbatch_term(data, loss_type))
    model = Splade.from_backbone(spec.backbone, data.train.seed)
    negatives = data.section.get("negatives", 1)
    depth = data.settings.get("teacher_depth") if loss_type.needs_teacher_scores else None
    if depth is not None and negatives > depth:
        raise ConfigError(f"{data.method.name}: {negatives} negatives per query, but the teacher "
                          f"scores only {depth} (splade.teacher_depth)")  # fmt: skip
    pool = NegativePool(data.inputs["negatives"], data.queries, data.corpus, depth)
    queries = data.queries
    if loss_type.needs_teacher_scores:  # a random negative would have no teacher score
        keep = np.flatnonzero([len(rows) >= negatives for rows in pool.rows])
        if len(keep) < len(queries):
            log.warning("%d of %d train queries have fewer than %d scored negatives: left out",
                        len(queries) - len(keep), len(queries), negatives)  # fmt: skip
        queries, pool = queries.subset(keep), pool.subset(keep)
    plan = BatchPlan(len(queries), data.train.batch_size, data.train.seed)
    arguments = (model.tokenize, spec.lengths(), data.corpus, queries, plan)
    if loss_type.needs_teacher_scores:
        teacher = TeacherScores(data.inputs["teacher_scores"], queries, data.corpus)
        batches = TeacherScoreBatches(*arguments, negatives=negatives, pool=pool, teacher=teacher)
    else:
        batches = PairBatches(*arguments, negatives=negatives, pool=pool)
    details = {"encoder": asdict(spec), "regularizer": asdict(loss.regularizer)}
    return Job(model, loss, batches, details)


def released_job(data: TrainData) -> Job:
    """A released checkpoint (the `splade-released*` rows), saved as it is."""
    spec = SpladeSpec(**data.settings["encoder"])
    model = Splade.from_backbone(spec.backbone, data.train.seed)
    loss = loss_class(SPLADE_LOSSES, data.loss_name() or "inbatch-nll", data.method.name)
    return Job(model, loss(Regularizer()), None, {"encoder": asdict(spec)}, pretrained=True)
