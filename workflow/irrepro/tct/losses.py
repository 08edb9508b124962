"""Training losses of TCT-ColBERT's teacher and students.

- ColBERT (`colbert`): in-batch softmax over the batch's 2B passages scored by MaxSim;
- PoolAvg (`labels`): the same cross entropy for a bi-encoder, without a teacher;
- TCT (`inbatch-kd`): Eq. 6, the frozen teacher run inside every step on the same token batch,
  distilled over the batch's passages; TCT (triplet KD, `triplet-kd`): over each query's own
  (positive, negative) pair only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..train.losses import Loss, false_negatives, inbatch_softmax_loss
from .colbert import maxsim


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


class ColbertLoss(Loss):
    """The teacher's own training: in-batch softmax cross entropy over MaxSim scores."""

    name = "colbert"

    def __call__(self, model, batch, step):
        return inbatch_softmax_loss(colbert_scores(model, batch), false_negatives(batch)), {}


class LabelsLoss(Loss):
    """PoolAvg: a student trained on the labels alone (Eq. 6 without its teacher term)."""

    name = "labels"
    needs_teacher = False

    def __init__(self, teacher=None, gamma: float = 0.1, tau: float = 0.25):
        self.teacher, self.gamma, self.tau = teacher, gamma, tau
        if teacher is not None:
            teacher.eval().requires_grad_(False)

    def __call__(self, model, batch, step):
        student = biencoder_scores(model, batch).float()
        return self.combine(student, batch), {}

    def combine(self, student: torch.Tensor, batch: dict) -> torch.Tensor:
        return inbatch_softmax_loss(student, false_negatives(batch))


class InBatchKdLoss(LabelsLoss):
    """TCT: Eq. 6 over the batch's 2B passages; the teacher scores the very same token batch."""

    name = "inbatch-kd"
    needs_teacher = True
    triplet_only = False

    def combine(self, student, batch):
        self.teacher.to(student.device)
        with torch.no_grad():
            teacher = colbert_scores(self.teacher, batch).float()
        return tct_loss(
            student, teacher, false_negatives(batch), self.gamma, self.tau, self.triplet_only
        )


class TripletKdLoss(InBatchKdLoss):
    """TCT (triplet KD): Eq. 6 with the KL over each query's own (positive, negative) pair."""

    name = "triplet-kd"
    triplet_only = True


STUDENT_LOSSES = (LabelsLoss, TripletKdLoss, InBatchKdLoss)


def distillation_kl(student: torch.Tensor, teacher: torch.Tensor, tau: float) -> torch.Tensor:
    """Mean over queries of KL(softmax(teacher / tau) || softmax(student)), Eq. 5-6 of the
    TCT-ColBERT paper (the student's dot products enter the softmax untempered)."""
    target = F.log_softmax(teacher / tau, dim=-1)
    return F.kl_div(F.log_softmax(student, dim=-1), target, log_target=True, reduction="batchmean")


def tct_loss(
    student: torch.Tensor,
    teacher: torch.Tensor | None,
    false_negatives: torch.Tensor,
    gamma: float,
    tau: float,
    triplet_only: bool,
) -> torch.Tensor:
    """Eq. 6: gamma * CE on the labels + (1 - gamma) * KL to the teacher over the batch's
    passages (in-batch), or over each query's own (positive, negative) pair (`triplet_only`).
    Without a teacher (PoolAvg) it is the labels' cross entropy alone.

    student, teacher: (B, 2B) scores of each query against [positives; negatives].
    """
    labels = inbatch_softmax_loss(student, false_negatives)
    if teacher is None:
        return labels
    if triplet_only:
        own = torch.arange(len(student), device=student.device)
        pair = torch.stack([own, own + len(student)], dim=1)
        student, teacher = student.gather(1, pair), teacher.gather(1, pair)
    return gamma * labels + (1 - gamma) * distillation_kl(student, teacher, tau)
