"""Deterministic batches and the negative/positive bookkeeping of training."""

import numpy as np
import pandas as pd
import pytest

from irrepro.artefacts import CORPUS, NEGATIVES, QRELS, QUERIES, write_table
from irrepro.dense.adore import candidate_list, reciprocal_rank_at_10
from irrepro.train.data import (
    BatchPlan,
    Corpus,
    NegativePool,
    TrainQueries,
    sample_negatives,
    sample_positives,
)


@pytest.fixture
def files(tmp_path):
    write_table(
        pd.DataFrame(
            {"doc_id": [f"d{i}" for i in range(10)], "text": [f"t{i}" for i in range(10)]}
        ),
        tmp_path / "corpus.parquet",
        CORPUS,
    )
    write_table(
        pd.DataFrame({"query_id": ["a", "b", "c", "x"], "text": ["qa", "qb", "qc", "qx"]}),
        tmp_path / "queries.parquet",
        QUERIES,
    )
    write_table(
        pd.DataFrame(
            {
                "query_id": ["a", "a", "b", "c", "x"],
                "doc_id": ["d1", "d2", "d3", "d4", "d5"],
                "relevance": [1, 2, 1, 1, 0],
            }
        ),
        tmp_path / "qrels.parquet",
        QRELS,
    )
    write_table(
        pd.DataFrame(
            {
                "query_id": ["a", "a", "a", "b"],
                "doc_id": ["d7", "d8", "d9", "d0"],
                "rank": [3, 1, 2, 1],
            }
        ),
        tmp_path / "negatives.parquet",
        NEGATIVES,
    )
    corpus = Corpus(tmp_path / "corpus.parquet")
    queries = TrainQueries(tmp_path / "queries.parquet", tmp_path / "qrels.parquet", corpus)
    return corpus, queries, tmp_path


def test_train_queries_keep_only_queries_with_positives(files):
    corpus, queries, _ = files
    assert list(queries.ids) == ["a", "b", "c"]  # x has only a grade-0 judgment
    assert [sorted(p) for p in queries.positives] == [[1, 2], [3], [4]]
    assert queries.is_positive([0, 1], np.array([2, 3, 5])).tolist() == [
        [True, False, False],
        [False, True, False],
    ]
    assert corpus.text([3, 0]) == ["t3", "t0"]
    with pytest.raises(KeyError):
        corpus.rows(["nope"])


def test_batch_plan_is_a_pure_function_of_seed_and_step():
    plan = BatchPlan(n_queries=7, batch_size=3, seed=5)
    first = [plan.queries(step).tolist() for step in range(7)]
    again = [BatchPlan(7, 3, 5).queries(step).tolist() for step in range(7)]
    assert first == again
    epoch = sorted(first[0] + first[1] + first[2][:1])  # 7 queries: steps 0, 1 and one of step 2
    assert epoch == list(range(7))  # every query once per epoch
    assert first != [BatchPlan(7, 3, 6).queries(step).tolist() for step in range(7)]
    assert plan.rng(3).integers(1000) == plan.rng(3).integers(1000)


def test_negatives_come_from_the_pool_or_at_random(files):
    corpus, queries, root = files
    pool = NegativePool(root / "negatives.parquet", queries, corpus)
    assert [p.tolist() for p in pool.rows] == [[8, 9, 7], [0], []]
    rng = np.random.default_rng(0)
    drawn = sample_negatives(queries, np.array([0, 1, 2]), 2, rng, len(corpus), pool)
    assert set(drawn[0]) <= {7, 8, 9} and len(set(drawn[0])) == 2  # without replacement
    assert drawn.shape == (3, 2) and (drawn[1:] < 10).all()  # too few in the pool: random
    positives = sample_positives(queries, np.array([0, 0, 1]), rng)
    assert set(positives[:2]) <= {1, 2} and positives[2] == 3


def test_adore_candidates_append_missed_positives():
    candidates, relevant = candidate_list(np.array([5, 7, 2, -1]), np.array([2, 9]))
    assert candidates.tolist() == [5, 7, 2, 9] and relevant.tolist() == [False, False, True, True]
    assert reciprocal_rank_at_10(np.array([5, 7, 2]), np.array([2, 9])) == pytest.approx(1 / 3)
    assert reciprocal_rank_at_10(np.arange(20, 40), np.array([2])) == 0.0
