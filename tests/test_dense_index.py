"""faiss indexes: exact search against numpy, compressed ones against the exact top-10."""

import faiss
import numpy as np
import pytest

from irrepro.dense.index import (
    build_index,
    gpu_available,
    index_size_bytes,
    pq_as_single_list_ivf,
    read_index,
    search,
    write_index,
)

N, D = 3000, 32


@pytest.fixture(scope="module")
def data():
    """Passages around 256 centres; queries are perturbed passages, so top-10s are meaningful."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(256, D))
    passages = centres[rng.integers(0, 256, size=N)] + 0.1 * rng.normal(size=(N, D))
    queries = passages[rng.choice(N, size=50)] + 0.05 * rng.normal(size=(50, D))
    return passages.astype(np.float32), queries.astype(np.float32)


def exact_top(passages, queries, k):
    scores = queries @ passages.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
    rows = np.take_along_axis(top, order, axis=1)
    return np.take_along_axis(scores, rows, axis=1), rows


def overlap(rows, reference):
    return np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(rows, reference, strict=True)])


@pytest.fixture(scope="module")
def pq8(data):
    return build_index(data[0], "pq8", seed=0)


def test_flat_search_is_numpy_brute_force(data):
    passages, queries = data
    scores, rows = search(build_index(passages, "flat"), queries, 20, batch_size=7)
    expected_scores, expected_rows = exact_top(passages, queries, 20)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5)
    assert scores.dtype == np.float32 and rows.dtype == np.int64


def test_fewer_passages_than_k_pads_with_minus_one(data):
    passages, queries = data
    scores, rows = search(build_index(passages[:5], "flat"), queries[:2], 8)
    assert (rows[:, 5:] == -1).all() and np.isneginf(scores[:, 5:]).all()
    assert sorted(rows[0, :5]) == [0, 1, 2, 3, 4]


def test_pq_keeps_most_of_the_exact_top10_in_far_less_space(data, pq8, tmp_path):
    passages, queries = data
    _, rows = search(pq8, queries, 10)
    assert overlap(rows, exact_top(passages, queries, 10)[1]) >= 0.6
    write_index(pq8, tmp_path / "pq.faiss")
    write_index(build_index(passages, "flat"), tmp_path / "flat.faiss")
    assert index_size_bytes(tmp_path / "pq.faiss") < index_size_bytes(tmp_path / "flat.faiss") / 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flat.faiss", "pq.faiss"]


def test_training_is_deterministic_and_files_round_trip(data, pq8, tmp_path):
    passages, queries = data
    again = build_index(passages, "pq8", seed=0)
    assert np.array_equal(faiss.vector_to_array(again.codes), faiss.vector_to_array(pq8.codes))
    write_index(pq8, tmp_path / "pq.faiss")
    np.testing.assert_array_equal(
        search(read_index(tmp_path / "pq.faiss"), queries, 10)[1], search(pq8, queries, 10)[1]
    )


def test_ivf_flat_with_every_list_probed_is_exact(data):
    passages, queries = data
    index = build_index(passages, "ivf16-flat")
    _, rows = search(index, queries, 10, nprobe=16)
    np.testing.assert_array_equal(rows, exact_top(passages, queries, 10)[1])
    _, probed = search(index, queries, 10, nprobe=1)
    assert overlap(probed, rows) >= 0.5


def test_ivf_pq_approximates_the_exact_top10(data):
    passages, queries = data
    _, rows = search(build_index(passages, "ivf16-pq8"), queries, 10, nprobe=16)
    assert overlap(rows, exact_top(passages, queries, 10)[1]) >= 0.6


def test_pq_as_single_list_ivf_scores_like_indexpq(data, pq8):
    """The form a PQ index takes on the GPU gives the same results (checked here on the CPU)."""
    queries = data[1]
    scores, rows = search(pq_as_single_list_ivf(pq8), queries, 10, use_gpu=False)
    expected_scores, expected_rows = search(pq8, queries, 10, use_gpu=False)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-6)


@pytest.mark.parametrize("kind", ["hnsw32", "pq", "ivf-flat", "ivf8", "pq0", "ivf0-flat", "Flat"])
def test_unknown_kinds_are_refused(data, kind):
    with pytest.raises(ValueError, match="kind"):
        build_index(data[0], kind)


@pytest.mark.parametrize(
    ("kind", "rows", "message"),
    [("pq5", N, "divisible"), ("pq8", 255, "at least 256"), ("ivf64-flat", 63, "at least")],
)
def test_indexes_faiss_cannot_train_are_refused(data, kind, rows, message):
    with pytest.raises(ValueError, match=message):
        build_index(data[0][:rows], kind)


@pytest.mark.skipif(gpu_available(), reason="a GPU is there")
def test_asking_for_a_missing_gpu_fails_clearly(data, pq8):
    with pytest.raises(RuntimeError, match="GPU"):
        search(pq8, data[1], 10, use_gpu=True)
