"""Training losses of the dense retrievers, as in the official STAR/ADORE code (DRhard).

Every dense method uses the RankNet pairwise loss log(1 + exp(s_neg - s_pos)); they differ in
which (positive, negative) pairs enter it:
- In-Batch Neg: each query against every other query's positive in the batch;
- Rand Neg / BM25 Neg: each query against every sampled negative in the batch;
- STAR: both at once (the batch's positives reused as random negatives, plus the static hard
  negatives), one mean over all pairs;
- ADORE: the query's current top-k from the index, pairs weighted by |ΔMRR|.
Pairs whose "negative" is in fact a positive of the query are masked out.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pairwise_loss(
    positive: torch.Tensor, negatives: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Mean RankNet loss over the valid pairs: positive (B,), negatives (B, M), mask (B, M)."""
    losses = F.softplus(negatives - positive.unsqueeze(1))
    mask = mask.to(losses.dtype)
    return (losses * mask).sum() / mask.sum().clamp(min=1)


def inbatch_loss(queries: torch.Tensor, passages: torch.Tensor, positive_mask: torch.Tensor):
    """Passage i is query i's positive; positive_mask[i, j]: passage j is relevant to query i."""
    scores = queries @ passages.T
    return pairwise_loss(scores.diagonal(), scores, ~positive_mask)


def sampled_negatives_loss(
    queries: torch.Tensor,
    positives: torch.Tensor,
    negatives: torch.Tensor,
    negative_is_positive: torch.Tensor,
) -> torch.Tensor:
    """Rand Neg / BM25 Neg: each query against all (B * n) sampled negatives of the batch."""
    positive_scores = (queries * positives).sum(-1)
    return pairwise_loss(positive_scores, queries @ negatives.T, ~negative_is_positive)


def star_loss(
    queries: torch.Tensor,
    positives: torch.Tensor,
    hard_negatives: torch.Tensor,
    positive_mask: torch.Tensor,
    hard_is_positive: torch.Tensor,
) -> torch.Tensor:
    """STAR: the batch's positives as random negatives plus every row's static hard negatives."""
    inbatch = queries @ positives.T
    negatives = torch.cat([inbatch, queries @ hard_negatives.T], dim=1)
    mask = torch.cat([~positive_mask, ~hard_is_positive], dim=1)
    return pairwise_loss(inbatch.diagonal(), negatives, mask)


def reciprocal_rank_gains(length: int, cutoff: int | None, device=None) -> torch.Tensor:
    """1/rank for ranks 1..length, zero from the cutoff on (MRR@cutoff's gain per position)."""
    gains = 1.0 / torch.arange(1, length + 1, dtype=torch.float32, device=device)
    if cutoff is not None:
        gains[cutoff:] = 0.0
    return gains


def delta_mrr_weights(length: int, cutoff: int | None, device=None) -> torch.Tensor:
    """|1/rank_i - 1/rank_j| (cut at `cutoff`): how much RR@cutoff changes when positions i and j
    swap, for a query with one relevant document among them (ADORE's LambdaLoss weight)."""
    gains = reciprocal_rank_gains(length, cutoff, device)
    return (gains.unsqueeze(1) - gains.unsqueeze(0)).abs()


def adore_loss(scores: torch.Tensor, relevant: torch.Tensor, cutoff: int | None) -> torch.Tensor:
    """ADORE's loss for one query's retrieved list (in retrieval order, positives appended).

    scores (L,) from the trained query encoder, relevant (L,) bool. The mean over (relevant,
    non-relevant) pairs of |ΔMRR| * log(1 + exp(s_non - s_rel)).
    """
    weights = delta_mrr_weights(len(scores), cutoff, scores.device)
    pairs = relevant.unsqueeze(1) & ~relevant.unsqueeze(0)  # [i, j]: i relevant, j not
    losses = F.softplus(scores.unsqueeze(0) - scores.unsqueeze(1))  # [i, j]: s_j - s_i
    pairs = pairs.to(losses.dtype)
    return (losses * weights * pairs).sum() / pairs.sum().clamp(min=1)


# ---------------------------------------------------------------------- TCT-ColBERT


def inbatch_softmax_loss(scores: torch.Tensor, false_negatives: torch.Tensor) -> torch.Tensor:
    """Softmax cross entropy of query i over the batch's passages, its positive at column i.

    scores (B, P) with P >= B (the positives first, then the negatives); false_negatives (B, P)
    marks other columns that are also relevant to the query: they leave the softmax.
    """
    scores = scores.masked_fill(false_negatives, float("-inf"))
    target = torch.arange(len(scores), device=scores.device)
    return F.cross_entropy(scores, target)


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
