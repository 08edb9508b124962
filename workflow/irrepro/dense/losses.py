"""Training losses of the STAR/ADORE paper's bi-encoders, as in the official code (DRhard).

Every dense method uses the RankNet pairwise loss log(1 + exp(s_neg - s_pos)); they differ in
which (positive, negative) pairs enter it:
- In-Batch Neg: each query against every other query's positive in the batch;
- Rand Neg / BM25 Neg: each query against every sampled negative in the batch;
- STAR: both at once (the batch's positives reused as random negatives, plus the static hard
  negatives), one mean over all pairs;
- ANCE: each query against its own negatives only (microsoft/ANCE's NLL of the positive
  against one negative, -log softmax([s_pos, s_neg])[0], which is this loss);
- ADORE: the query's current top-k from the index, pairs weighted by |ΔMRR| (the retrieval
  inside each step is irrepro.dense.adore's AdoreLoss).
Pairs whose "negative" is in fact a positive of the query are masked out.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..train.losses import Loss, pairwise_loss


class InBatchLoss(Loss):
    """In-Batch Neg: the other queries' positives are the negatives."""

    name = "inbatch"
    uses_negatives = False

    def __call__(self, model, batch, step):
        queries, positives = model(**batch["queries"]), model(**batch["positives"])
        return inbatch_loss(queries, positives, batch["positive_mask"]), {}


class SampledNegativesLoss(Loss):
    """Rand Neg / BM25 Neg: the batch's sampled negatives (random, or from a negatives file)."""

    name = "sampled-negatives"

    def __call__(self, model, batch, step):
        queries, positives = model(**batch["queries"]), model(**batch["positives"])
        negatives = model(**batch["negatives"])
        loss = sampled_negatives_loss(queries, positives, negatives, batch["negative_is_positive"])
        return loss, {}


class StarLoss(Loss):
    """STAR: the batch's positives as random negatives plus the static hard negatives."""

    name = "star"

    def __call__(self, model, batch, step):
        queries, positives = model(**batch["queries"]), model(**batch["positives"])
        negatives = model(**batch["negatives"])
        loss = star_loss(
            queries, positives, negatives, batch["positive_mask"], batch["negative_is_positive"]
        )
        return loss, {}


class AnceLoss(Loss):
    """ANCE: each query against its own negatives (drawn from the current model's top-k)."""

    name = "ance"

    def __call__(self, model, batch, step):
        queries, positives = model(**batch["queries"]), model(**batch["positives"])
        negatives = model(**batch["negatives"])
        return own_negatives_loss(queries, positives, negatives, batch["negative_is_positive"]), {}


BIENCODER_LOSSES = (InBatchLoss, SampledNegativesLoss, StarLoss, AnceLoss)


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


def own_negatives_loss(
    queries: torch.Tensor,
    positives: torch.Tensor,
    negatives: torch.Tensor,
    negative_is_positive: torch.Tensor,
) -> torch.Tensor:
    """ANCE: query b against its own n negatives, rows b*n .. b*n+n-1 of `negatives` (B*n, d);
    negative_is_positive (B, B*n) as for the sampled-negatives loss."""
    batch = len(queries)
    own = negatives.view(batch, -1, negatives.shape[-1])
    rows = torch.arange(batch, device=queries.device)
    own_is_positive = negative_is_positive.view(batch, batch, -1)[rows, rows]
    scores = torch.einsum("bd,bnd->bn", queries, own)
    return pairwise_loss((queries * positives).sum(-1), scores, ~own_is_positive)


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
