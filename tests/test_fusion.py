"""Hybrid fusion (TCT-ColBERT Eq. 7) against the equation applied by hand, and its tuning."""

import numpy as np
import pandas as pd
import pytest

from irrepro import methods
from irrepro.artefacts import by_query_then_score
from irrepro.errors import ConfigError
from irrepro.fusion import (
    alpha_grid,
    fuse,
    normalized,
    sample_queries,
    tune_alpha,
)


def run(rows):
    frame = pd.DataFrame(rows, columns=["query_id", "doc_id", "score"])
    frame["rank"] = frame.groupby("query_id").cumcount() + 1
    return frame


DENSE = run([("q1", "a", 10.0), ("q1", "b", 8.0), ("q1", "c", 7.0), ("q2", "x", 3.0)])
SPARSE = run([("q1", "b", 20.0), ("q1", "d", 15.0), ("q1", "a", 12.0), ("q3", "y", 9.0)])


def test_fusion_follows_equation_7_by_hand():
    out = fuse(DENSE, SPARSE, alpha=0.5, depth=1000)
    got = {(q, d): s for q, d, s in zip(out.query_id, out.doc_id, out.score, strict=True)}
    # q1: dense min 7, sparse min 12
    assert got[("q1", "a")] == 0.5 * 12 + 10  # in both lists
    assert got[("q1", "b")] == 0.5 * 20 + 8
    assert got[("q1", "c")] == 0.5 * 12 + 7  # dense only: sparse minimum substituted
    assert got[("q1", "d")] == 0.5 * 15 + 7  # sparse only: dense minimum substituted
    # a query one list lacks entirely: that list contributes 0
    assert got[("q2", "x")] == 3.0 and got[("q3", "y")] == 0.5 * 9
    q1 = out[out.query_id == "q1"]
    assert list(q1.doc_id) == ["b", "a", "d", "c"] and list(q1["rank"]) == [1, 2, 3, 4]


def test_fusion_ties_follow_trec_eval_order_and_depth_cuts():
    dense = run([("q", "a", 1.0), ("q", "b", 1.0), ("q", "c", 0.0)])
    sparse = run([("q", "a", 0.0), ("q", "b", 0.0), ("q", "c", 0.0)])
    out = fuse(dense, sparse, alpha=1.0, depth=2)
    assert list(out.doc_id) == ["b", "a"]  # equal scores: doc id descending, as trec_eval


def test_alpha_zero_keeps_the_dense_order():
    out = fuse(DENSE, SPARSE, alpha=0.0, depth=1000)
    q1 = out[out.query_id == "q1"]
    # d (sparse only) takes the dense minimum, 7, and ties with c: doc id descending
    assert list(q1.doc_id) == ["a", "b", "d", "c"]


def test_duplicate_documents_are_an_error():
    dense = run([("q", "a", 1.0), ("q", "a", 2.0)])
    with pytest.raises(ValueError, match="dense run lists a document twice"):
        fuse(dense, SPARSE, 0.1, 10)


def test_alpha_grid_is_inclusive():
    assert alpha_grid({"start": 0.0, "stop": 0.3, "step": 0.1}) == [0.0, 0.1, 0.2, 0.3]
    assert len(alpha_grid({"start": 0.0, "stop": 1.0, "step": 0.01})) == 101
    with pytest.raises(ConfigError):
        alpha_grid({"start": 1.0, "stop": 0.0, "step": 0.1})


def test_tuning_finds_the_weight_that_ranks_the_relevant_document_first():
    # dense puts the relevant doc r second, sparse first: a small alpha is not enough
    dense = run([("q", "n", 10.0), ("q", "r", 9.0)])
    sparse = run([("q", "r", 10.0), ("q", "n", 5.0)])
    qrels = pd.DataFrame({"query_id": ["q"], "doc_id": ["r"], "relevance": [1]})
    result = tune_alpha(dense, sparse, qrels, [0.0, 0.1, 0.3, 0.5], "MRR@10")
    # r wins once alpha * (10 - 5) > 1, i.e. alpha > 0.2
    values = {row["alpha"]: row["MRR@10"] for row in result["grid"]}
    assert values == {0.0: 0.5, 0.1: 0.5, 0.3: 1.0, 0.5: 1.0}
    assert result["alpha"] == 0.3 and result["value"] == 1.0 and result["queries"] == 1


def beyond_the_grid():
    """Three queries whose relevant document (r) is ranked first only for 1.5 < alpha < 5."""
    dense = run([("q1", "n", 1.5), ("q1", "r", 0.0), ("q2", "r", 5.0), ("q2", "n", 0.0),
                 ("q3", "n", 0.9), ("q3", "r", 0.0)])  # fmt: skip
    sparse = run([("q1", "r", 1.0), ("q1", "n", 0.0), ("q2", "n", 1.0), ("q2", "r", 0.0),
                  ("q3", "r", 1.0), ("q3", "n", 0.0)])  # fmt: skip
    qrels = pd.DataFrame({"query_id": ["q1", "q2", "q3"], "doc_id": "r", "relevance": 1})
    return dense, sparse, qrels


def test_a_best_weight_on_the_grids_edge_extends_the_grid_until_it_is_inside():
    dense, sparse, qrels = beyond_the_grid()
    grid = [0.0, 0.25, 0.5, 0.75, 1.0]  # best on it: 1.0 (q3 only), its last point
    result = tune_alpha(dense, sparse, qrels, grid, "MRR@10")
    values = {row["alpha"]: row["MRR@10"] for row in result["grid"]}
    # 2 ranks every r first; 4 does too (a tie, so the smaller weight stays): inside the grid
    assert list(values) == [*grid, 2.0, 4.0] and values[2.0] == values[4.0] == 1.0
    assert values[1.0] == pytest.approx((0.5 + 1 + 1) / 3)
    assert result["alpha"] == 2.0 and result["extended"]
    assert result["configured"] == {"start": 0.0, "stop": 1.0, "points": 5}
    assert result["score_scale"]["dense"]["max"] == 5.0
    assert result["score_scale"]["sparse"] == {"mean": 0.5, "std": 0.5, "min": 0.0, "max": 1.0}
    with pytest.raises(ConfigError, match=r"best alpha 1 .*last point of the grid \[0, 1\]"):
        tune_alpha(dense, sparse, qrels, grid, "MRR@10", extend=False)
    # a grid starting above the optimum extends downwards, halving
    low = tune_alpha(dense, sparse, qrels, [8.0, 16.0], "MRR@10")
    assert low["alpha"] == 2.0 and [row["alpha"] for row in low["grid"]] == [
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
    ]
    # an interior optimum leaves the grid as configured
    inside = tune_alpha(dense, sparse, qrels, [0.0, 2.0, 4.0, 8.0], "MRR@10")
    assert not inside["extended"] and len(inside["grid"]) == 4


def test_normalisations_by_hand():
    query = np.array([0, 0, 0, 1, 1])
    scores = np.array([2.0, 4.0, 6.0, 3.0, 3.0])
    assert normalized(query, scores, "none", 2) is scores
    np.testing.assert_allclose(normalized(query, scores, "minmax", 2), [0, 0.5, 1, 0, 0])
    std = np.sqrt(8 / 3)  # of 2, 4, 6 around 4 (population)
    np.testing.assert_allclose(normalized(query, scores, "zscore", 2), [-2 / std, 0, 2 / std, 0, 0])
    with pytest.raises(ConfigError, match="rank"):
        normalized(query, scores, "rank", 2)


def test_fusion_of_normalised_scores_by_hand():
    out = fuse(DENSE, SPARSE, alpha=0.5, depth=1000, normalize="minmax")
    got = {(q, d): s for q, d, s in zip(out.query_id, out.doc_id, out.score, strict=True)}
    # q1: dense 10, 8, 7 -> 1, 1/3, 0; sparse 20, 15, 12 -> 1, 3/8, 0; gaps take the minimum 0
    assert got[("q1", "a")] == pytest.approx(0.5 * 0 + 1)
    assert got[("q1", "b")] == pytest.approx(0.5 * 1 + 1 / 3)
    assert got[("q1", "c")] == pytest.approx(0.5 * 0 + 0)
    assert got[("q1", "d")] == pytest.approx(0.5 * 3 / 8 + 0)
    assert got[("q2", "x")] == 0.0  # one document: no spread, 0
    # none is Eq. 7 as the paper writes it
    assert fuse(DENSE, SPARSE, 0.5, 1000, "none").equals(fuse(DENSE, SPARSE, 0.5, 1000))


def test_sample_queries_draws_judged_queries_deterministically():
    queries = pd.DataFrame({"query_id": [f"q{i}" for i in range(10)], "text": ["t"] * 10})
    qrels = pd.DataFrame(
        {"query_id": [f"q{i}" for i in range(8)], "doc_id": "d", "relevance": [1] * 7 + [0]}
    )
    first = sample_queries(queries, qrels, 4, seed=3)
    again = sample_queries(queries, qrels, 4, seed=3)
    assert first[0].equals(again[0]) and len(first[0]) == 4
    assert set(first[0].query_id) <= {f"q{i}" for i in range(7)}  # judged relevant only
    assert set(first[1].query_id) == set(first[0].query_id)
    everything = sample_queries(queries, qrels, 100, seed=3)
    assert len(everything[0]) == 7
    assert np.array_equal(everything[0].query_id, [f"q{i}" for i in range(7)])


def test_any_dense_sparse_pair_is_a_method():
    assert methods.hybrid_parts("hybrid-tct-triplet-bm25") == ("tct-triplet", "bm25")
    assert methods.hybrid_parts("hybrid-adore-bm25neg-pq6-splade-max") == (
        "adore-bm25neg-pq6",
        "splade-max",
    )
    assert methods.get("hybrid-star-bm25").label == "STAR + BM25"
    assert methods.get("hybrid-star-bm25").implemented
    assert methods.get("hybrid-star-splade-max").label == "STAR + SPLADE-max"
    assert methods.get("hybrid-star-splade-max").implemented  # both parts are
    with pytest.raises(ConfigError, match="hybrid-<dense>-<sparse>"):
        methods.get("hybrid-bm25-star")


def reference_fusion(dense, sparse, alpha, depth):
    """Eq. 7 written plainly with pandas: the outer join, the minimum per query, the sort."""
    merged = pd.merge(dense, sparse, on=["query_id", "doc_id"], how="outer", suffixes=("_d", "_s"))
    for side, run in (("d", dense), ("s", sparse)):
        floor = merged["query_id"].map(run.groupby("query_id")["score"].min()).fillna(0.0)
        merged[f"score_{side}"] = merged[f"score_{side}"].fillna(floor)
    merged["score"] = alpha * merged["score_s"] + merged["score_d"]
    merged = merged.sort_values(
        ["query_id", "score", "doc_id"], ascending=[True, False, False], kind="mergesort"
    )
    merged["rank"] = merged.groupby("query_id").cumcount() + 1
    return merged[merged["rank"] <= depth][["query_id", "doc_id", "rank", "score"]]


def test_fusion_equals_the_plain_pandas_equation_on_random_runs():
    rng = np.random.default_rng(7)

    def random_run(queries):
        rows = [
            (q, f"d{d}", float(rng.integers(0, 5)))  # integer scores: many ties
            for q in queries
            for d in rng.choice(40, size=rng.integers(1, 15), replace=False)
        ]
        return run(rows)

    dense = random_run([f"q{i}" for i in range(30)])
    sparse = random_run([f"q{i}" for i in range(10, 40)])  # queries in one run only, both sides
    got = fuse(dense, sparse, alpha=0.3, depth=8)
    want = reference_fusion(dense, sparse, 0.3, 8)
    assert got["query_id"].tolist() == want["query_id"].tolist()
    assert got["doc_id"].tolist() == want["doc_id"].tolist()
    assert got["rank"].tolist() == want["rank"].tolist()
    assert np.allclose(got["score"], want["score"])


@pytest.mark.parametrize("n_queries", [50, 70_000])  # 16-bit codes (radix sort), and not
def test_the_fused_order_is_lexsorts(n_queries):
    rng = np.random.default_rng(n_queries)
    query = np.sort(rng.integers(0, n_queries, 5000))
    score = rng.integers(0, 4, 5000).astype(float)  # many ties: their row order must stay
    expected = np.lexsort((-score, query))
    np.testing.assert_array_equal(by_query_then_score(query, score, n_queries), expected)
