"""FastDropout: nn.Dropout's distribution (keep 1 - p, kept ones scaled by 1/(1 - p)) from
fewer random draws; swapped into a model for CPU training."""

import torch
from torch import nn

from irrepro.backbone import load_backbone
from irrepro.train.dropout import FastDropout, fast_dropout, keep_mask, use_fast_dropout


def test_every_lane_of_a_draw_keeps_one_minus_p():
    """4 elements share one 64-bit draw: each of the 4 lanes must keep 1 - p on its own
    (binomial sd at 1M elements a lane: 0.0003)."""
    torch.manual_seed(0)
    for p in (0.1, 0.5):
        kept = keep_mask(torch.Size([4_000_000]), p).view(-1, 4).double().mean(0)
        assert torch.allclose(kept, torch.full((4,), 1 - p, dtype=torch.float64), atol=0.0015)


def test_kept_elements_are_scaled_and_the_gradient_follows_the_mask():
    torch.manual_seed(1)
    x = torch.randn(300, 70, requires_grad=True)
    y = fast_dropout(x, 0.25)
    kept = y != 0
    assert torch.allclose(y[kept], x[kept] / 0.75)
    y.sum().backward()
    assert torch.equal(x.grad, kept.float() / 0.75)
    assert 0.72 < kept.float().mean() < 0.78


def test_eval_mode_and_p_zero_are_the_identity():
    x = torch.randn(5, 7)
    dropout = FastDropout(0.3).eval()
    assert dropout(x) is x
    assert FastDropout(0.0).train()(x) is x


def test_same_seed_same_mask():
    torch.manual_seed(3)
    a = keep_mask(torch.Size([10, 11]), 0.1)
    torch.manual_seed(3)
    assert torch.equal(a, keep_mask(torch.Size([10, 11]), 0.1))


def test_a_backbone_gets_fast_dropouts_with_the_same_probabilities():
    model, _ = load_backbone("minilm")
    before = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert use_fast_dropout(model) == len(before) > 0
    after = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert all(type(m) is FastDropout for m in after) and [m.p for m in after] == before
    assert use_fast_dropout(model) == 0  # already swapped
