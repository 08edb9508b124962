"""SPLADE's training losses: a ranking loss plus the FLOPS regularizer on the term weights.

- `inbatch-nll` (SPLADE-max): softmax cross entropy of each query over the batch's positives and
  one BM25 negative per query;
- `margin-mse` (DistilSPLADE-max, SPLADE++): mean squared error between the model's margin
  s(q, d+) - s(q, d-) and the cross-encoder teacher's, over each of the query's negatives;
- `kl` (naver/splade's DistilKLLoss): KL divergence from the teacher's softmax over the
  positive and the query's negatives to the model's.
A distillation loss can add `inbatch_weight` times the in-batch NLL over the batch's positives
and negatives (0, the papers' recipes, by default): the demo's distilled models see five
passages a query and nothing of the rest of the corpus, which full retrieval ranks against.
Each adds lambda_q(t) * FLOPS(queries) + lambda_d(t) * FLOPS(documents), FLOPS(w) =
sum_j (mean over the batch of |w_j|)^2 (the documents' term: the mean of the positives' and the
negatives'), with lambda(t) = lambda * min(1, (t / T)^2) at step t = 1, 2, ... (the trainer's
0-based step plus one): the quadratic warm-up of the SPLADE papers. `query_regularizer: l1`
takes the mean L1 norm of the query weights instead, as SPLADE v2 offers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..train.losses import Loss, false_negatives, inbatch_softmax_loss


def flops(weights: torch.Tensor) -> torch.Tensor:
    """sum_j (mean_b |w_bj|)^2 of (B, V) weights."""
    return weights.abs().mean(dim=0).square().sum()


def l1(weights: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of sum_j |w_bj|."""
    return weights.abs().sum(dim=1).mean()


@dataclass(frozen=True)
class Regularizer:
    """lambda_q / lambda_d ramped quadratically over the first `ramp_steps` steps."""

    query_weight: float = 3e-4
    document_weight: float = 1e-4
    ramp_steps: int = 50_000
    query_regularizer: str = "flops"

    def __post_init__(self):
        if self.query_regularizer not in ("flops", "l1"):
            raise ConfigError(
                f"splade: query_regularizer must be flops or l1, not {self.query_regularizer!r}"
            )
        if self.ramp_steps < 1 or self.query_weight < 0 or self.document_weight < 0:
            raise ConfigError(f"splade regularizer: need ramp_steps >= 1 and weights >= 0 ({self})")

    def ramp(self, step: int) -> float:
        return min(1.0, ((step + 1) / self.ramp_steps) ** 2)

    def __call__(self, queries, documents: list[torch.Tensor], step: int):
        """(penalty, metrics) for one step."""
        ramp = self.ramp(step)
        query_term = (flops if self.query_regularizer == "flops" else l1)(queries)
        document_term = torch.stack([flops(d) for d in documents]).mean()
        penalty = ramp * (self.query_weight * query_term + self.document_weight * document_term)
        metrics = {
            "flops_query": float(query_term.detach()),
            "flops_document": float(document_term.detach()),
            "regularizer_ramp": ramp,
        }
        return penalty, metrics


class SpladeLoss(Loss):
    """A ranking loss over (query, positive, negative) weights, plus the regularizer."""

    needs_teacher_scores = False
    default_regularizer: dict = {}

    def __init__(self, regularizer: Regularizer):
        self.regularizer = regularizer

    def __call__(self, model, batch, step):
        queries = model(**batch["queries"])
        positives, negatives = model(**batch["positives"]), model(**batch["negatives"])
        ranking = self.ranking(queries, positives, negatives, batch)
        penalty, metrics = self.regularizer(queries, [positives, negatives], step)
        nonzero = {
            "query_nonzero": float((queries > 0).sum(dim=1).float().mean()),
            "document_nonzero": float((positives > 0).sum(dim=1).float().mean()),
        }
        return ranking + penalty, {"ranking_loss": float(ranking.detach()), **metrics, **nonzero}

    def ranking(self, queries, positives, negatives, batch) -> torch.Tensor:
        raise NotImplementedError


class InBatchNllLoss(SpladeLoss):
    """SPLADE-max: cross entropy over the batch's positives and BM25 negatives."""

    name = "inbatch-nll"
    default_regularizer = {"query_weight": 3e-4, "document_weight": 1e-4}  # SPLADE v2

    def ranking(self, queries, positives, negatives, batch):
        return inbatch_nll(queries, positives, negatives, batch)


def inbatch_nll(queries, positives, negatives, batch) -> torch.Tensor:
    """Cross entropy of each query over the batch's positives and negatives."""
    scores = queries @ torch.cat([positives, negatives]).T
    return inbatch_softmax_loss(scores, false_negatives(batch))


def own_scores(queries, positives, negatives) -> torch.Tensor:
    """(B, 1 + n) scores of each query's positive and its own n negatives (rows q*n .. q*n+n-1)."""
    per_query = negatives.view(len(queries), -1, queries.shape[1])
    negative_scores = torch.einsum("bv,bnv->bn", queries, per_query)
    return torch.cat([(queries * positives).sum(-1, keepdim=True), negative_scores], dim=1)


class DistillationLoss(SpladeLoss):
    """A loss against the teacher's (B, 1 + n) scores of each positive and negatives, plus
    `inbatch_weight` times the in-batch NLL."""

    needs_teacher_scores = True
    default_regularizer = {"query_weight": 0.5, "document_weight": 0.4}  # SPLADE++ CoCondenser

    def __init__(self, regularizer: Regularizer, inbatch_weight: float = 0.0):
        super().__init__(regularizer)
        self.inbatch_weight = inbatch_weight

    def ranking(self, queries, positives, negatives, batch):
        scores = own_scores(queries, positives, negatives)
        loss = self.distance(scores, batch["teacher_scores"].to(scores.dtype))
        if self.inbatch_weight:
            loss = loss + self.inbatch_weight * inbatch_nll(queries, positives, negatives, batch)
        return loss

    def distance(self, scores: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class MarginMseLoss(DistillationLoss):
    """DistilSPLADE-max, SPLADE++: the teacher's margin between each positive and negative."""

    name = "margin-mse"

    def distance(self, scores, teacher):
        return F.mse_loss(scores[:, :1] - scores[:, 1:], teacher[:, :1] - teacher[:, 1:])


class KlLoss(DistillationLoss):
    """KL(teacher || model) of the softmax over the positive and the negatives, batch mean."""

    name = "kl"

    def distance(self, scores, teacher):
        return F.kl_div(F.log_softmax(scores, 1), F.log_softmax(teacher, 1), log_target=True,
                        reduction="batchmean")  # fmt: skip


SPLADE_LOSSES = (InBatchNllLoss, MarginMseLoss, KlLoss)
