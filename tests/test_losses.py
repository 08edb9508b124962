"""Every loss against a value computed by hand or by an explicit loop."""

import itertools
import math

import pytest
import torch

from irrepro.dense.losses import (
    BIENCODER_LOSSES,
    InBatchLoss,
    SampledNegativesLoss,
    StarLoss,
    adore_loss,
    delta_mrr_weights,
    inbatch_loss,
    sampled_negatives_loss,
    star_loss,
)
from irrepro.errors import ConfigError
from irrepro.tct.losses import STUDENT_LOSSES, LabelsLoss, TripletKdLoss
from irrepro.train.losses import loss_class, pairwise_loss


def softplus(x: float) -> float:
    return math.log(1 + math.exp(x))


def test_pairwise_loss_by_hand():
    positive = torch.tensor([2.0, 0.0])
    negatives = torch.tensor([[1.0, 3.0], [0.0, 5.0]])
    mask = torch.tensor([[True, True], [True, False]])
    expected = (softplus(-1) + softplus(1) + softplus(0)) / 3
    assert pairwise_loss(positive, negatives, mask).item() == pytest.approx(expected, rel=1e-6)


def test_pairwise_loss_is_drhard_two_way_log_softmax():
    """DRhard writes each pair as -log_softmax([s_pos, s_neg])[0]; that is the same loss."""
    torch.manual_seed(0)
    positive, negatives = torch.randn(4), torch.randn(4, 6)
    mask = torch.ones(4, 6, dtype=torch.bool)
    logits = torch.stack([positive.unsqueeze(1).expand(-1, 6), negatives], dim=-1)
    reference = -torch.log_softmax(logits, dim=-1)[..., 0].mean()
    assert pairwise_loss(positive, negatives, mask).item() == pytest.approx(reference.item())


def loop_mean(terms):
    return sum(terms) / len(terms)


@pytest.fixture
def embeddings():
    torch.manual_seed(1)
    return torch.randn(3, 4), torch.randn(3, 4), torch.randn(6, 4)


def test_inbatch_loss_masks_other_positives_of_the_query(embeddings):
    q, p, _ = embeddings
    relevant = torch.eye(3, dtype=torch.bool)
    relevant[0, 2] = True  # passage 2 is also relevant to query 0
    s = (q @ p.T).tolist()
    terms = [softplus(s[i][j] - s[i][i]) for i in range(3) for j in range(3) if not relevant[i, j]]
    assert inbatch_loss(q, p, relevant).item() == pytest.approx(loop_mean(terms), rel=1e-5)


def test_sampled_negatives_loss_uses_every_negative_in_the_batch(embeddings):
    q, p, n = embeddings
    is_positive = torch.zeros(3, 6, dtype=torch.bool)
    is_positive[1, 4] = True
    pos = (q * p).sum(-1).tolist()
    s = (q @ n.T).tolist()
    terms = [
        softplus(s[i][k] - pos[i]) for i in range(3) for k in range(6) if not is_positive[i, k]
    ]
    value = sampled_negatives_loss(q, p, n, is_positive).item()
    assert value == pytest.approx(loop_mean(terms), rel=1e-5)


def test_star_loss_is_one_mean_over_random_and_hard_pairs(embeddings):
    q, p, h = embeddings
    relevant = torch.eye(3, dtype=torch.bool)
    hard_is_positive = torch.zeros(3, 6, dtype=torch.bool)
    hard_is_positive[2, 0] = True
    s, hs = (q @ p.T).tolist(), (q @ h.T).tolist()
    terms = [softplus(s[i][j] - s[i][i]) for i in range(3) for j in range(3) if i != j]
    terms += [
        softplus(hs[i][k] - s[i][i])
        for i in range(3)
        for k in range(6)
        if not hard_is_positive[i, k]
    ]
    value = star_loss(q, p, h, relevant, hard_is_positive).item()
    assert value == pytest.approx(loop_mean(terms), rel=1e-5)


def reciprocal_rank(relevant: list[bool], cutoff: int) -> float:
    return next((1 / (r + 1) for r, rel in enumerate(relevant[:cutoff]) if rel), 0.0)


@pytest.mark.parametrize("cutoff", [3, 5, None])
def test_delta_mrr_weights_equal_a_brute_force_swap(cutoff):
    length = 6
    weights = delta_mrr_weights(length, cutoff)
    cut = cutoff or length
    for rel, other in itertools.permutations(range(length), 2):
        ranking = [False] * length
        ranking[rel] = True
        swapped = list(ranking)
        swapped[rel], swapped[other] = swapped[other], swapped[rel]
        delta = abs(reciprocal_rank(ranking, cut) - reciprocal_rank(swapped, cut))
        assert weights[rel, other].item() == pytest.approx(delta)


def test_adore_loss_by_explicit_pairs():
    scores = torch.tensor([3.0, 2.5, 1.0, 0.5, -1.0])
    relevant = torch.tensor([False, True, False, False, True])  # last one appended, not retrieved
    cutoff = 4
    gain = [1 / (r + 1) if r < cutoff else 0.0 for r in range(5)]
    terms = [
        abs(gain[i] - gain[j]) * softplus(scores[j].item() - scores[i].item())
        for i in range(5)
        for j in range(5)
        if relevant[i] and not relevant[j]
    ]
    assert adore_loss(scores, relevant, cutoff).item() == pytest.approx(loop_mean(terms), rel=1e-6)


def test_adore_loss_gradient_pushes_the_relevant_document_up():
    scores = torch.tensor([1.0, 0.0, -1.0], requires_grad=True)
    adore_loss(scores, torch.tensor([False, True, False]), None).backward()
    assert scores.grad[1] < 0 and scores.grad[0] > 0  # descent raises s_rel, lowers s_0


# ---------------------------------------------------------------------- the named loss classes


def identity(vectors):
    """A "model" whose output is its input: batches then carry the vectors themselves."""
    return vectors


def vector_batch(queries, positives, negatives=None, **masks):
    batch = {"queries": {"vectors": queries}, "positives": {"vectors": positives}, **masks}
    if negatives is not None:
        batch["negatives"] = {"vectors": negatives}
    return batch


def test_inbatch_loss_class_by_hand():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    mask = torch.eye(2, dtype=torch.bool)
    # scores [[2, 1], [0, 1]]: pairs (q0: 1 vs 2), (q1: 0 vs 1)
    expected = (softplus(1 - 2) + softplus(0 - 1)) / 2
    loss, metrics = InBatchLoss()(identity, vector_batch(q, p, positive_mask=mask), step=0)
    assert loss.item() == pytest.approx(expected, rel=1e-6) and metrics == {}
    assert not InBatchLoss.uses_negatives


def test_sampled_negatives_loss_class_by_hand():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    n = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    clash = torch.tensor([[False, False], [False, True]])  # negative 1 is a positive of q1
    batch = vector_batch(q, p, n, negative_is_positive=clash)
    # positive scores 1, 2; q0 vs negatives: 3, 0; q1 vs negative 0: 0 (negative 1 masked)
    expected = (softplus(3 - 1) + softplus(0 - 1) + softplus(0 - 2)) / 3
    loss, _ = SampledNegativesLoss()(identity, batch, step=0)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_star_loss_class_by_hand():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    n = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    batch = vector_batch(
        q, p, n, positive_mask=torch.eye(2, dtype=torch.bool),
        negative_is_positive=torch.zeros(2, 2, dtype=torch.bool),
    )  # fmt: skip
    # q0: positive 1 vs in-batch 0, hard 2, 0; q1: positive 2 vs in-batch 0, hard 0, 0
    terms = [softplus(0 - 1), softplus(2 - 1), softplus(0 - 1)]
    terms += [softplus(0 - 2), softplus(0 - 2), softplus(0 - 2)]
    loss, _ = StarLoss()(identity, batch, step=0)
    assert loss.item() == pytest.approx(sum(terms) / 6, rel=1e-6)


def test_student_losses_by_hand():
    """PoolAvg's labels-only loss and triplet KD on a 2-query batch ([positives; negatives])."""
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    n = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    batch = vector_batch(
        q, p, n, positive_mask=torch.eye(2, dtype=torch.bool),
        negative_is_positive=torch.zeros(2, 2, dtype=torch.bool),
    )  # fmt: skip
    # student scores: q0 -> [1, 0, 0, 1], q1 -> [0, 1, 1, 0]; the positive is column i
    labels = -math.log(math.e / (math.e + 1 + 1 + math.e))
    loss, _ = LabelsLoss()(identity, batch, step=0)
    assert loss.item() == pytest.approx(labels, rel=1e-6)

    class Teacher(torch.nn.Module):
        """One token per text, 3x the vector: MaxSim is 9x the dot product."""

        def forward(self, vectors, kind):
            return 3 * vectors.unsqueeze(1), torch.ones(len(vectors), 1, dtype=torch.bool)

    # triplet KD: each query's (positive, negative) pair only (both queries alike): student
    # pair (1, 0), teacher pair (9, 0) / tau
    tau, gamma = 0.5, 0.25
    target = torch.softmax(torch.tensor([9.0, 0.0]) / tau, 0)
    student = torch.log_softmax(torch.tensor([1.0, 0.0]), 0)
    kl = float((target * (target.log() - student)).sum())
    loss, _ = TripletKdLoss(Teacher(), gamma, tau)(identity, batch, step=0)
    assert loss.item() == pytest.approx(gamma * labels + (1 - gamma) * kl, rel=1e-5)


def test_losses_are_chosen_by_name_and_an_unknown_name_is_refused():
    assert loss_class(BIENCODER_LOSSES, "star", "star") is StarLoss
    assert loss_class(STUDENT_LOSSES, "labels", "poolavg") is LabelsLoss
    with pytest.raises(ConfigError, match="unknown loss 'margin-mse'.*inbatch"):
        loss_class(BIENCODER_LOSSES, "margin-mse", "star")
