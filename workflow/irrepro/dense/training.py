"""The recipe of the STAR/ADORE paper's bi-encoders: the warm-up models and STAR.

- In-Batch Neg: each query against the other queries' positives of the batch.
- Rand Neg: `negatives` random passages per query; each query against all of the batch's.
- BM25 Neg: the same with negatives drawn from the query's BM25 top-200 (minus positives).
- STAR: one static hard negative per query (from the warm-up model's top-200) plus the batch's
  positives reused as random negatives, initialised from the warm-up (BM25 Neg) model.
Their losses are irrepro.dense.losses (RankNet on different pairs); which files each method
reads (negatives, the model it starts from) is the method registry's business.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import ConfigError
from ..train.data import BatchPlan, NegativePool, PairBatches
from ..train.job import Job, TrainData
from ..train.losses import loss_class
from .losses import BIENCODER_LOSSES
from .model import BiEncoder


@dataclass(frozen=True)
class EncoderSpec:
    """How texts become vectors: the `dense.encoder` config section (defaults as the schema's:
    the official STAR model, RoBERTa-base with CLS pooling and a Linear+LayerNorm head)."""

    backbone: str = "roberta-base"
    pooling: str = "cls"
    head: bool = True
    normalize: bool = False
    query_length: int = 24
    passage_length: int = 120

    @classmethod
    def from_config(cls, section: dict) -> EncoderSpec:
        spec = cls(**{k: v for k, v in section.items() if k in cls.__dataclass_fields__})
        if spec.pooling not in ("cls", "mean"):
            raise ConfigError(f"dense.pooling must be cls or mean, not {spec.pooling!r}")
        return spec

    def new_model(self, seed: int) -> BiEncoder:
        return BiEncoder.from_backbone(self.backbone, self.pooling, self.head, self.normalize, seed)

    def lengths(self) -> dict[str, int]:
        return {"query_length": self.query_length, "passage_length": self.passage_length}


def biencoder_job(data: TrainData) -> Job:
    """A warm-up model from the backbone, or STAR from the warm-up model (`init`)."""
    spec = EncoderSpec.from_config(data.settings["encoder"])
    loss = loss_class(BIENCODER_LOSSES, data.loss_name(), data.method.name)()
    negatives = data.inputs.get("negatives")
    pool = NegativePool(negatives, data.queries, data.corpus) if negatives else None
    init = data.inputs.get("init")
    model = BiEncoder.load(init) if init else spec.new_model(data.train.seed)
    batches = PairBatches(
        model.tokenize,
        spec.lengths(),
        data.corpus,
        data.queries,
        BatchPlan(len(data.queries), data.train.batch_size, data.train.seed),
        negatives=int(data.section.get("negatives", 1)) if loss.uses_negatives else 0,
        pool=pool,
    )
    return Job(model, loss, batches, {"encoder": asdict(spec)})
