"""Optimisers and the learning-rate schedule of the official STAR/ADORE code (DRhard).

STAR trains with LAMB (cybertronai/pytorch-lamb), ADORE with AdamW; both exempt biases and
normalisation weights from weight decay, and both warm up linearly then decay linearly to zero.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.optim.lr_scheduler import LambdaLR

OPTIMIZERS = ("adamw", "lamb", "sgd")

# Substrings of a parameter name (lower-cased) that exempt it from weight decay: every bias, and
# the weight of a normalisation layer named like transformers' `LayerNorm`, `layer_norm`, `norm`.
NO_DECAY = ("bias", "norm.weight")


class Lamb(torch.optim.Optimizer):
    """LAMB (You et al. 2019) exactly as cybertronai/pytorch-lamb, which the STAR code uses.

    Adam moments without bias correction; the step m / (sqrt(v) + eps) + weight_decay * p is
    rescaled per tensor by the trust ratio ||p|| (clamped to [0, 10]) / ||step||, or 1 when
    either norm is zero.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        clamp_value: float = 10.0,
    ):
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(f"Lamb: negative lr, eps or weight_decay: {lr}, {eps}, {weight_decay}")
        if not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"Lamb: betas must be in [0, 1): {betas}")
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, clamp_value=clamp_value
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, group)
        return loss

    def _update(self, param: torch.Tensor, group: dict) -> None:
        if param.grad.is_sparse:
            raise RuntimeError("Lamb does not support sparse gradients")
        state = self.state[param]
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(param)
            state["exp_avg_sq"] = torch.zeros_like(param)
        beta1, beta2 = group["betas"]
        state["step"] += 1
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.mul_(beta1).add_(param.grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(param.grad, param.grad, value=1 - beta2)
        update = exp_avg / exp_avg_sq.sqrt().add(group["eps"])
        if group["weight_decay"]:
            update.add_(param, alpha=group["weight_decay"])
        ratio = trust_ratio(param.norm().clamp(0, group["clamp_value"]), update.norm())
        param.sub_(update * (ratio * group["lr"]))


def trust_ratio(weight_norm: torch.Tensor, update_norm: torch.Tensor) -> torch.Tensor:
    """weight_norm / update_norm, or 1 when either is 0 (kept on the device: no host sync)."""
    defined = (weight_norm > 0) & (update_norm > 0)
    return torch.where(defined, weight_norm / update_norm, 1.0)


def applies_weight_decay(name: str) -> bool:
    """False for biases and normalisation weights (the DRhard rule, case-insensitive)."""
    lowered = name.lower()
    return not any(part in lowered for part in NO_DECAY)


def build_optimizer(
    named_parameters: Iterable[tuple[str, torch.nn.Parameter]],
    name: str,
    lr: float,
    weight_decay: float,
    *,
    eps: float = 1e-8,
) -> torch.optim.Optimizer:
    """AdamW, LAMB or plain SGD over two groups: decayed weights, and biases/norm weights
    without decay.

    eps 1e-8 is DRhard's `adam_epsilon`, which it passes to both optimisers. SGD's step is
    proportional to the gradient, so runs that should compute the same gradients (one process
    against several) can be compared by their weights; Adam's normalised step turns the rounding
    of a near-zero gradient into a step of about lr.
    """
    decayed, exempt = [], []
    for param_name, param in named_parameters:
        (decayed if applies_weight_decay(param_name) else exempt).append(param)
    groups = [
        {"params": params, "weight_decay": decay}
        for params, decay in ((decayed, weight_decay), (exempt, 0.0))
        if params
    ]
    if not groups:
        raise ValueError("build_optimizer: no parameters to optimise")
    if name == "adamw":
        # fused: one kernel over all tensors, not a dozen passes (a fifth of a MiniLM CPU step)
        return torch.optim.AdamW(groups, lr=lr, eps=eps, fused=True)
    if name == "lamb":
        return Lamb(groups, lr=lr, eps=eps)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}: expected one of {', '.join(OPTIMIZERS)}")


def linear_schedule(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> LambdaLR:
    """Linear warm-up from 0 over `warmup` steps, then linear decay to 0 at `total` steps.

    The same factors as transformers.get_linear_schedule_with_warmup, without importing it.
    """

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return LambdaLR(optimizer, factor)
