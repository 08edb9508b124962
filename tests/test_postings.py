"""irrepro.postings' exact top-k against a brute-force dense product in trec_eval order."""

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from irrepro.postings import top_k


def brute_force(queries, documents, tie_key, depth, dtype):
    """Scores summed over each query's terms in the order given, as the kernel sums; the
    documents scoring above zero sorted by (score descending, tie key ascending), cut."""
    dense = documents.toarray()
    rows = np.full((len(queries), depth), -1)
    scores = np.full((len(queries), depth), -np.inf)
    for q, (terms, weights) in enumerate(queries):
        total = np.zeros(dense.shape[0], dtype=dtype)
        for term, weight in zip(terms, weights, strict=True):
            if 0 <= term < dense.shape[1]:
                total += dtype(weight) * dense[:, term].astype(dtype)
        matched = np.flatnonzero(total > 0)
        ranked = matched[np.lexsort((tie_key[matched], -total[matched]))][:depth]
        rows[q, : len(ranked)] = ranked
        scores[q, : len(ranked)] = total[ranked]
    return rows, scores


def kernel(queries, documents, tie_key, depth, dtype, threads=1):
    postings = sp.csc_matrix(documents)
    ptr = np.cumsum([0] + [len(terms) for terms, _ in queries])
    terms = np.concatenate([np.asarray(t, dtype=np.int64) for t, _ in queries])
    weights = np.concatenate([np.asarray(w, dtype=dtype) for _, w in queries])
    return top_k(
        ptr, terms, weights, postings.indptr, postings.indices, postings.data, tie_key, depth,
        threads,
    )  # fmt: skip


def tied_collection(rng, n_docs, n_terms, density, negative=False):
    """Weights from a few levels, so many documents tie, also at the depth cut."""
    levels = np.array([0.5, 1.0, 1.5, 2.0], dtype=np.float32)
    if negative:
        levels = np.concatenate([levels, -levels])
    matrix = sp.random(n_docs, n_terms, density=density, format="csr", random_state=rng)
    matrix.data = rng.choice(levels, size=matrix.nnz).astype(np.float32)
    return matrix


def random_queries(rng, n_queries, n_terms, negative=False):
    queries = []
    for _ in range(n_queries):
        terms = rng.integers(-1, n_terms + 2, size=rng.integers(0, 6))  # some out of vocabulary
        weights = rng.choice([1.0, 2.0] + ([-1.0] if negative else []), size=len(terms))
        queries.append((terms, weights))
    return queries


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("depth", [1, 3, 7, 40])
def test_top_k_equals_brute_force_with_ties_at_the_cut(dtype, depth):
    rng = np.random.default_rng(depth)
    documents = tied_collection(rng, 60, 12, 0.3)
    tie_key = rng.permutation(60)
    queries = random_queries(rng, 50, 12) + [([], []), ([99], [1.0])]
    expected = brute_force(queries, documents, tie_key, depth, dtype)
    rows, scores = kernel(queries, documents, tie_key, depth, dtype)
    np.testing.assert_array_equal(rows, expected[0])
    np.testing.assert_array_equal(scores, expected[1])
    assert (rows[-2:] == -1).all()  # no term, and only an out-of-vocabulary term


def test_buffer_cuts_keep_the_first_in_run_order():
    """Thousands of candidates tied on few scores overflow the kernel's candidate buffer, so
    it cuts and raises its threshold while scanning."""
    rng = np.random.default_rng(1)
    documents = tied_collection(rng, 5000, 4, 0.9)
    tie_key = rng.permutation(5000)
    queries = [([0, 1, 2], [1.0, 1.0, 1.0]), ([3], [2.0]), ([0, 3, 0], [1.0, 1.0, 1.0])]
    for depth in (5, 300, 1500):
        expected = brute_force(queries, documents, tie_key, depth, np.float32)
        rows, scores = kernel(queries, documents, tie_key, depth, np.float32, threads=2)
        np.testing.assert_array_equal(rows, expected[0])
        np.testing.assert_array_equal(scores, expected[1])


def test_negative_weights_that_cancel():
    """A document whose partial score returns to zero is still counted once."""
    rng = np.random.default_rng(2)
    documents = tied_collection(rng, 80, 10, 0.4, negative=True)
    tie_key = rng.permutation(80)
    queries = random_queries(rng, 60, 10, negative=True)
    expected = brute_force(queries, documents, tie_key, 9, np.float64)
    rows, scores = kernel(queries, documents, tie_key, 9, np.float64)
    np.testing.assert_array_equal(rows, expected[0])
    np.testing.assert_array_equal(scores, expected[1])


def test_threads_and_depth_zero():
    rng = np.random.default_rng(3)
    documents = tied_collection(rng, 200, 20, 0.2)
    tie_key = rng.permutation(200)
    queries = random_queries(rng, 37, 20)
    one = kernel(queries, documents, tie_key, 10, np.float32, threads=1)
    two = kernel(queries, documents, tie_key, 10, np.float32, threads=2)
    np.testing.assert_array_equal(one[0], two[0])
    rows, scores = kernel(queries, documents, tie_key, 0, np.float32)
    assert rows.shape == scores.shape == (37, 0)


THREADS_AFTER_A_SEARCH = """
import numpy as np, torch
from irrepro import runtime
from irrepro.postings import top_k
runtime.use_threads(1)
torch.randn(1 << 20).sum()  # torch has run in parallel (trained, encoded) before the search
top_k(np.array([0, 1]), np.array([0]), np.array([1.0]), np.array([0, 1]),
      np.array([0], dtype=np.int32), np.array([1.0], dtype=np.float32), np.array([0]), 1)
print(torch.get_num_threads())
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a budget below the cores needs 2 cores")
def test_a_search_leaves_torch_on_the_jobs_threads():
    """numba's OpenMP layer shares torch's libgomp: its launch used to set torch's threads to
    numba's default (every core), so the next training or encoding in the process ran on all
    cores whatever the job's budget (runtime.use_threads now gives numba the budget too)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", THREADS_AFTER_A_SEARCH], env=env, check=True,
                          capture_output=True, text=True)  # fmt: skip
    assert done.stdout.split()[-1] == "1"


@pytest.mark.parametrize("order", ["ascending", "descending", "equal"])
def test_sorted_candidates_select_and_sort_in_run_order(order):
    """Candidates arriving already in (or against) run order, or all tied, are the hard inputs
    of a hand-written selection and sort."""
    n_docs = 6000
    weights = {
        "ascending": np.arange(1, n_docs + 1),
        "descending": np.arange(n_docs, 0, -1),
        "equal": np.ones(n_docs),
    }[order].astype(np.float32)
    documents = sp.csr_matrix(weights[:, None])
    tie_key = np.arange(n_docs) if order != "equal" else np.arange(n_docs)[::-1].copy()
    for depth in (1, 17, 1000, n_docs):
        expected = brute_force([([0], [1.0])], documents, tie_key, depth, np.float32)
        rows, scores = kernel([([0], [1.0])], documents, tie_key, depth, np.float32)
        np.testing.assert_array_equal(rows, expected[0])
        np.testing.assert_array_equal(scores, expected[1])
