"""The loss contract of the shared trainer, and the pairwise loss every dense method builds on.

A loss is a small named class per method family (irrepro.dense.losses, irrepro.tct.losses),
chosen from config by its `name`. The trainer calls `loss(model, batch, step)` and gets
(loss tensor, {metric: float}); a loss whose behaviour changes over training (a weight that
ramps with the step, negatives refreshed on a schedule) keeps that state in `state_dict()`,
which checkpoints save and a resumed run restores.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from ..errors import ConfigError


class Loss:
    """loss(model, batch, step) -> (loss, metrics). Subclasses set `name` and `__call__`."""

    name: ClassVar[str]
    uses_negatives: ClassVar[bool] = True  # whether its batches carry sampled negatives

    def __call__(self, model, batch: dict, step: int) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """What a checkpoint must keep for a resumed run to compute what this one would."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            raise ValueError(f"{type(self).__name__} has no state, got {sorted(state)}")


def loss_class(losses: tuple[type[Loss], ...], name: str, method: str) -> type[Loss]:
    """The class of `losses` called `name`, or a ConfigError naming the choices."""
    by_name = {loss.name: loss for loss in losses}
    if name not in by_name:
        raise ConfigError(f"{method}: unknown loss {name!r}; known: {', '.join(by_name)}")
    return by_name[name]


def pairwise_loss(
    positive: torch.Tensor, negatives: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Mean RankNet loss log(1 + exp(s_neg - s_pos)) over the valid pairs: positive (B,),
    negatives (B, M), mask (B, M)."""
    losses = F.softplus(negatives - positive.unsqueeze(1))
    mask = mask.to(losses.dtype)
    return (losses * mask).sum() / mask.sum().clamp(min=1)


def inbatch_softmax_loss(scores: torch.Tensor, false_negatives: torch.Tensor) -> torch.Tensor:
    """Softmax cross entropy of query i over the batch's passages, its positive at column i.

    scores (B, P) with P >= B (the positives first, then the negatives); false_negatives (B, P)
    marks other columns that are also relevant to the query: they leave the softmax.
    """
    scores = scores.masked_fill(false_negatives, float("-inf"))
    target = torch.arange(len(scores), device=scores.device)
    return F.cross_entropy(scores, target)


def false_negatives(batch: dict) -> torch.Tensor:
    """(B, 2B): columns of [positives; negatives] relevant to the row's query, its own
    positive (column i) excepted."""
    inbatch = batch["positive_mask"].clone()
    inbatch.fill_diagonal_(False)
    return torch.cat([inbatch, batch["negative_is_positive"]], dim=1)
