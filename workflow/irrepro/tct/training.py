"""The recipes of TCT-ColBERT's teacher and students, on (query, positive, BM25 negative) triples.

- ColBERT: in-batch softmax over the batch's 2B passages scored by MaxSim.
- PoolAvg: a bi-encoder with the same input format and mean pooling, labels only.
- TCT (in-batch KD): Eq. 6, the frozen teacher run inside every step on the same token batch;
  TCT (triplet KD) distils only each query's own (positive, negative) pair.
Every student starts from the teacher's transformer weights (the paper's initialisation), so
PoolAvg, TCT (triplet KD) and TCT differ only in their loss (irrepro.tct.losses): Table 3's
ablation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..dense.model import BiEncoder
from ..errors import ConfigError
from ..train.data import BatchPlan, NegativePool, PairBatches
from ..train.job import Job, TrainData
from ..train.losses import loss_class
from .colbert import ColBERT
from .losses import STUDENT_LOSSES, ColbertLoss


@dataclass(frozen=True)
class TctSpec:
    """The `tct.encoder` section with the distillation's tau and gamma (defaults: the paper's)."""

    backbone: str = "bert-base-uncased"
    query_length: int = 32
    passage_length: int = 150
    dim: int = 128
    tau: float = 0.25
    gamma: float = 0.1

    @classmethod
    def from_config(cls, settings: dict) -> TctSpec:
        values = {**settings.get("encoder", {}), **settings.get("distillation", {})}
        spec = cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})
        if spec.tau <= 0 or not 0 <= spec.gamma <= 1:
            raise ConfigError(f"tct: tau must be > 0 and gamma in [0, 1] (got {spec})")
        return spec

    def lengths(self) -> dict[str, int]:
        return {"query_length": self.query_length, "passage_length": self.passage_length}


def triple_batches(model, spec: TctSpec, data: TrainData) -> PairBatches:
    """One BM25 negative per query, in ColBERT's input format (the model's tokenizer)."""
    pool = NegativePool(data.inputs["negatives"], data.queries, data.corpus)
    plan = BatchPlan(len(data.queries), data.train.batch_size, data.train.seed)
    return PairBatches(
        model.tokenize, spec.lengths(), data.corpus, data.queries, plan, negatives=1, pool=pool
    )


def colbert_job(data: TrainData) -> Job:
    """The teacher, from the backbone."""
    spec = TctSpec.from_config(data.settings)
    loss = loss_class((ColbertLoss,), data.loss_name(), data.method.name)()
    model = ColBERT.from_backbone(spec.backbone, spec.dim, data.train.seed)
    return Job(model, loss, triple_batches(model, spec, data), {"tct": asdict(spec)})


def student_job(data: TrainData) -> Job:
    """A student, started from the trained teacher and (but PoolAvg) distilled from it."""
    spec = TctSpec.from_config(data.settings)
    loss_type = loss_class(STUDENT_LOSSES, data.loss_name(), data.method.name)
    teacher_dir = data.inputs["teacher"]
    model = BiEncoder.from_backbone(teacher_dir, "mean", markers=True, seed=data.train.seed)
    teacher = ColBERT.load(teacher_dir) if loss_type.needs_teacher else None
    loss = loss_type(teacher, spec.gamma, spec.tau)
    return Job(model, loss, triple_batches(model, spec, data), {"tct": asdict(spec)})
