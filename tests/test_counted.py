"""Warnings that count things: what a run or an index kept but could not use, in its JSON and
in the tables' provenance, never only in a job log."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from irrepro import provenance, tables
from irrepro.logs import Tally
from irrepro.metrics import unanswered
from irrepro.splade.index import empty_queries


def test_judged_queries_a_run_has_no_result_for_are_counted():
    run = pd.DataFrame({"query_id": ["q1"], "doc_id": ["d1"], "rank": [1], "score": [1.0]})
    qrels = pd.DataFrame({"query_id": ["q1", "q2", "q3"], "doc_id": ["d1"] * 3, "relevance": 1})
    assert unanswered(run, qrels).record() == {
        "judged queries with no results": {"count": 2, "examples": ["q2", "q3"]}
    }


def test_queries_whose_expansion_is_empty_are_counted():
    weights = sp.csr_matrix(np.array([[0.0, 1.0], [0.0, 0.0], [0.5, 0.0]]))
    tally = empty_queries(["a", "b", "c"], weights)
    assert (tally.count, tally.examples) == (1, ["b"])


def test_a_tally_keeps_the_first_examples_and_counts_all():
    tally = Tally("things")
    for i in range(25):
        tally.add(str(i))
    assert tally.count == 25 and tally.examples == [str(i) for i in range(Tally.EXAMPLES)]


def test_the_summary_table_shows_what_was_counted(tmp_path):
    manifest = tmp_path / "manifest.json"
    empty = {
        "documents with empty text": {"count": 2, "examples": ["d2 (c.tsv:2)", "d3 (c.tsv:3)"]}
    }
    manifest.write_text(json.dumps({"counted": empty}))
    summary = {"method": "bm25", "split": "dev", "metrics": {"MRR@10": 0.5}}
    nothing = {"judged queries with no results": {"count": 1, "examples": ["q9"]}}
    none = {"judged queries with no results": {"count": 0, "examples": []}}
    (tmp_path / "a.json").write_text(json.dumps({**summary, "counted": nothing}))
    (tmp_path / "b.json").write_text(json.dumps({**summary, "split": "test", "counted": none}))
    found = tables.load_measurements(
        [str(tmp_path / "a.json"), str(tmp_path / "b.json")], manifest=[str(manifest)]
    )
    out = [str(tmp_path / n) for n in ("s.md", "s.csv", "s.json")]
    record = provenance.collect({}, tmp_path)
    tables.write("summary", found, {}, ["MRR@10"], "mine", record, *out)
    text = Path(out[0]).read_text()
    assert "- data: 2 documents with empty text (d2 (c.tsv:2), d3 (c.tsv:3))" in text
    assert "- bm25/dev: 1 judged queries with no results (q9)" in text
    assert "bm25/test" not in text
    assert json.loads(Path(out[2]).read_text())["counted"] == {"data": empty, "bm25/dev": nothing}
