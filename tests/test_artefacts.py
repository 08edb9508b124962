"""Artefact IO: schemas, atomic writes, run ordering and the TREC export."""

import numpy as np
import pandas as pd
import pytest
from trectools import TrecRun

from irrepro.artefacts import (
    QRELS,
    RUN,
    RunWriter,
    descending_id_order,
    rank_rows,
    read_table,
    write_table,
    write_trec_run,
)


def test_read_table_rejects_missing_columns(tmp_path):
    pd.DataFrame({"query_id": ["q"], "doc_id": ["d"]}).to_parquet(tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="relevance"):
        read_table(tmp_path / "x.parquet", QRELS)


def test_write_table_casts_ids_to_strings_and_leaves_no_temp_file(tmp_path):
    qrels = pd.DataFrame({"query_id": [1], "doc_id": [7], "relevance": [2]}).astype(str)
    write_table(qrels.astype({"relevance": int}), tmp_path / "q.parquet", QRELS)
    back = read_table(tmp_path / "q.parquet", QRELS)
    assert back.loc[0, "doc_id"] == "7" and back["relevance"].dtype == np.int32
    assert [p.name for p in tmp_path.iterdir()] == ["q.parquet"]


def test_descending_id_order_is_string_order():
    key = descending_id_order(np.array(["10", "9", "a", "100"], dtype=object))
    # descending string order: a > 9 > 100 > 10
    assert list(np.argsort(key)) == [2, 1, 3, 0]


def test_run_writer_orders_by_score_then_doc_id_descending_and_drops_padding(tmp_path):
    doc_ids = np.array(["d1", "d2", "d3", "d4"], dtype=object)
    with RunWriter(tmp_path / "run.parquet", doc_ids) as writer:
        writer.add(
            ["q1", "q2"],
            np.array([[0, 1, 2], [3, -1, -1]]),
            np.array([[1.0, 2.0, 1.0], [0.5, 0.0, 0.0]]),
        )
    run = read_table(tmp_path / "run.parquet", RUN)
    assert run["doc_id"].tolist() == ["d2", "d3", "d1", "d4"]
    assert run["rank"].tolist() == [1, 2, 3, 1]
    assert run["query_id"].tolist() == ["q1", "q1", "q1", "q2"]


def test_rank_rows_equals_a_full_sort_whether_or_not_rows_arrive_sorted():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, size=(200, 12)).astype(float)  # many ties
    scores[:100] = -np.sort(-scores[:100], axis=1)  # half arrive sorted, as retrievers give them
    scores[:50] += np.linspace(0.5, 0, 12)  # ...and strictly descending (no sort needed)
    scores[rng.random(scores.shape) < 0.1] = -np.inf  # padding, wherever it lands
    tie_key = np.argsort(rng.random((200, 12)), axis=1)
    order = rank_rows(scores, tie_key)
    reference = np.lexsort((tie_key, -scores), axis=-1)
    valid = np.take_along_axis(scores, reference, axis=1) > -np.inf
    for got, want, keep in zip(order, reference, valid, strict=True):
        assert list(got[keep]) == list(want[keep])


def test_failed_stream_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError), RunWriter(tmp_path / "run.parquet", np.array(["d"])) as w:
        w.add(["q"], np.array([[0]]), np.array([[1.0]]))
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_trec_export_round_trips_through_trectools(tmp_path):
    run = pd.DataFrame(
        {
            "query_id": ["q1", "q1", "q2"],
            "doc_id": ["d1", "d2", "d3"],
            "rank": [1, 2, 1],
            "score": [1 / 3, 0.1 + 0.2, -2.5],
        }
    )
    write_trec_run(run, tmp_path / "run.trec", tag="test")
    parsed = TrecRun(str(tmp_path / "run.trec")).run_data
    assert parsed["query"].astype(str).tolist() == ["q1", "q1", "q2"]
    assert parsed["docid"].tolist() == ["d1", "d2", "d3"]
    assert parsed["score"].tolist() == run["score"].tolist()  # exact: full precision
    assert set(parsed["system"]) == {"test"}
