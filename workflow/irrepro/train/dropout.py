"""Dropout with a cheaper random mask, for training on a CPU.

torch's CPU dropout draws one number per element from its serial generator (`bernoulli_`): the
hidden dropouts of a bf16 MiniLM step at 64 x 64 tokens take about 10 ms each, 13 of them a
step. `FastDropout` draws 64 random bits per 4 elements and keeps an element when its 16 bits
clear p, p rounded to 1/65536 (0.1 becomes 0.100006), scaling the kept ones by 1/(1 - p) as
nn.Dropout does: the same distribution from fewer draws of the same seeded generator (3x
faster). The attention dropout inside transformers' attention is left as it is.
"""

from __future__ import annotations

import torch
from torch import nn

LEVELS = 1 << 16


def keep_mask(shape: torch.Size, p: float, device=None) -> torch.Tensor:
    """Bool mask of `shape`, each element kept with probability 1 - p (p to 1/65536)."""
    count = shape.numel()
    size = ((count + 3) // 4,)
    words = torch.randint(-(2**63), 2**63 - 1, size, dtype=torch.int64, device=device)
    lanes = words.view(torch.int16)[:count].view(shape)  # uniform over [-32768, 32767]
    return lanes >= round(p * LEVELS) - LEVELS // 2


def fast_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Training-mode dropout of `x` (autograd keeps the bool mask, as nn.Dropout does)."""
    return torch.where(keep_mask(x.shape, p, x.device), x * (1.0 / (1.0 - p)), 0)


class FastDropout(nn.Dropout):
    """nn.Dropout (so isinstance checks and `p` still hold) drawing its mask by keep_mask."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        return fast_dropout(x, self.p)


def use_fast_dropout(model: nn.Module) -> int:
    """Swap every nn.Dropout of `model` for a FastDropout of the same p; how many."""
    swapped = 0
    for parent in model.modules():
        for name, child in parent.named_children():
            if type(child) is nn.Dropout:
                setattr(parent, name, FastDropout(child.p))
                swapped += 1
    return swapped
