"""Metrics against hand computations and against trec_eval (pytrec_eval) to 4+ decimals."""

import math

import numpy as np
import pandas as pd
import pytest
import pytrec_eval

from irrepro.errors import ConfigError
from irrepro.metrics import aggregate, evaluate, parse_metric

ALL = ["MRR@10", "R@5", "R@100", "P@5", "nDCG@10", "nDCG", "MAP", "MAP@5"]
TREC_NAMES = {
    "R@5": "recall_5",
    "R@100": "recall_100",
    "P@5": "P_5",
    "nDCG@10": "ndcg_cut_10",
    "nDCG": "ndcg",
    "MAP": "map",
    "MAP@5": "map_cut_5",
}


def frame(rows, columns):
    return pd.DataFrame(rows, columns=columns)


def test_hand_computed_values():
    qrels = frame(
        [("q1", "a", 1), ("q1", "c", 2), ("q1", "z", 1), ("q2", "b", 1)],
        ["query_id", "doc_id", "relevance"],
    )
    # q1 ranking: x(3.0) a(2.0) y(1.0) c(0.5); z never retrieved. q2 absent from the run.
    run = frame(
        [("q1", "a", 2.0), ("q1", "x", 3.0), ("q1", "c", 0.5), ("q1", "y", 1.0)],
        ["query_id", "doc_id", "score"],
    )
    values = evaluate(run, qrels, ["MRR@10", "R@2", "R@4", "P@4", "MAP", "nDCG@4"])
    q1 = values.set_index("query_id").loc["q1"]
    assert q1["MRR@10"] == pytest.approx(1 / 2)
    assert q1["R@2"] == pytest.approx(1 / 3)
    assert q1["R@4"] == pytest.approx(2 / 3)
    assert q1["P@4"] == pytest.approx(2 / 4)
    assert q1["MAP"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    dcg = 1 / math.log2(3) + 2 / math.log2(5)
    ideal = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert q1["nDCG@4"] == pytest.approx(dcg / ideal)
    means = aggregate(values)
    assert means["MRR@10"] == pytest.approx((1 / 2 + 0) / 2)  # q2 missing from the run scores 0
    assert list(values["query_id"]) == ["q1", "q2"]


def test_relevance_level_applies_to_binary_metrics_not_ndcg_gains():
    qrels = frame([("q", "a", 1), ("q", "b", 2)], ["query_id", "doc_id", "relevance"])
    run = frame([("q", "a", 2.0), ("q", "b", 1.0)], ["query_id", "doc_id", "score"])
    level1 = evaluate(run, qrels, ["MRR@10", "R@1", "nDCG@10"], relevance_level=1).iloc[0]
    level2 = evaluate(run, qrels, ["MRR@10", "R@1", "nDCG@10"], relevance_level=2).iloc[0]
    assert level1["MRR@10"] == 1.0 and level2["MRR@10"] == 0.5
    assert level1["R@1"] == 0.5 and level2["R@1"] == 0.0
    assert level1["nDCG@10"] == pytest.approx(level2["nDCG@10"])


def test_ties_are_broken_by_doc_id_descending_like_trec_eval():
    qrels = frame([("q", "d1", 1)], ["query_id", "doc_id", "relevance"])
    run = frame([("q", "d1", 1.0), ("q", "d2", 1.0)], ["query_id", "doc_id", "score"])
    assert evaluate(run, qrels, ["MRR@10"]).iloc[0]["MRR@10"] == 0.5


def test_input_rank_column_is_ignored():
    qrels = frame([("q", "a", 1)], ["query_id", "doc_id", "relevance"])
    run = frame([("q", "a", 1, 5.0), ("q", "b", 2, 9.0)], ["query_id", "doc_id", "rank", "score"])
    assert evaluate(run, qrels, ["MRR@10"]).iloc[0]["MRR@10"] == 0.5


def test_empty_run_scores_zero_everywhere():
    qrels = frame([("q", "a", 1), ("r", "b", 2)], ["query_id", "doc_id", "relevance"])
    run = frame([], ["query_id", "doc_id", "score"]).astype({"score": float})
    values = evaluate(run, qrels, ALL)
    assert (values[ALL].to_numpy() == 0).all() and len(values) == 2


def test_duplicate_document_in_run_is_an_error():
    qrels = frame([("q", "a", 1)], ["query_id", "doc_id", "relevance"])
    run = frame([("q", "a", 1.0), ("q", "a", 0.5)], ["query_id", "doc_id", "score"])
    with pytest.raises(ValueError, match="twice"):
        evaluate(run, qrels, ["MRR@10"])


@pytest.mark.parametrize("name", ["MRR@x", "R", "Foo@10", "P@0"])
def test_bad_metric_names(name):
    with pytest.raises(ConfigError):
        parse_metric(name)


def generated(seed: int):
    """Runs with heavy score ties, missing queries, graded and negative labels, empty lists."""
    rng = np.random.default_rng(seed)
    docs = [f"d{i}" for i in range(80)]
    qrels, run = [], []
    for q in range(60):
        query = f"q{q}"
        for doc in rng.choice(docs, int(rng.integers(1, 20)), replace=False):
            qrels.append((query, doc, int(rng.integers(-1, 4))))
        if q % 9 == 4:
            continue  # judged query the run misses
        for doc in rng.choice(docs, int(rng.integers(0, 60)), replace=False):
            run.append((query, doc, float(rng.integers(0, 6)) / 2))
    run.append(("unjudged", "d1", 1.0))
    return (
        frame(run, ["query_id", "doc_id", "score"]),
        frame(qrels, ["query_id", "doc_id", "relevance"]),
    )


def trec_eval_reference(run, qrels, level):
    """Per-query values from pytrec_eval; RR@10 on the run cut to its trec_eval top 10."""
    judged = {}
    for r in qrels.itertuples():
        judged.setdefault(r.query_id, {})[r.doc_id] = int(r.relevance)
    scored = {}
    for r in run.itertuples():
        scored.setdefault(r.query_id, {})[r.doc_id] = float(r.score)
    measures = {"recall.5,100", "P.5", "ndcg_cut.10", "ndcg", "map", "map_cut.5"}
    result = pytrec_eval.RelevanceEvaluator(judged, measures, relevance_level=level).evaluate(
        scored
    )
    top10 = {
        q: dict(sorted(d.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)[:10])
        for q, d in scored.items()
    }
    rr = pytrec_eval.RelevanceEvaluator(judged, {"recip_rank"}, relevance_level=level).evaluate(
        top10
    )
    return result, rr


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("level", [1, 2])
def test_agrees_with_trec_eval(seed, level):
    run, qrels = generated(seed)
    ours = evaluate(run, qrels, ALL, relevance_level=level).set_index("query_id")
    result, rr = trec_eval_reference(run, qrels, level)
    assert set(ours.index) == set(qrels["query_id"])
    assert set(result) < set(ours.index)  # trec_eval skips missing queries; we score them 0
    for query in ours.index:
        for ours_name, trec_name in TREC_NAMES.items():
            expected = result.get(query, {}).get(trec_name, 0.0)
            assert ours.loc[query, ours_name] == pytest.approx(expected, abs=1e-9), (
                query,
                ours_name,
            )
        expected = rr.get(query, {}).get("recip_rank", 0.0)
        assert ours.loc[query, "MRR@10"] == pytest.approx(expected, abs=1e-9)
    # the aggregate is trec_eval -c: the mean over every judged query
    means = aggregate(ours.reset_index())
    expected_map = sum(result.get(q, {}).get("map", 0.0) for q in ours.index) / len(ours)
    assert means["MAP"] == pytest.approx(expected_map, abs=1e-9)
