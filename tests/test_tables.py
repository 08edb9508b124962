"""Results tables: statuses, deltas, Markdown/CSV output and provenance."""

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from irrepro import methods, provenance, tables
from irrepro.errors import ConfigError


def test_published_numbers_are_consistent():
    specs = tables.published_tables()
    assert {"star_adore", "tct_colbert", "tct_ablation", "spladepp"} <= set(specs)
    for spec in specs.values():
        for row in spec.rows:
            assert len(row.published) == len(spec.columns)
            for column, value in zip(spec.columns, row.published, strict=True):
                assert value is None or column.source != "metrics" or 0 < value < 1
            assert all(methods.known(m) for m in row.methods), row.methods
    star = next(r for r in specs["star_adore"].rows if r.label == "STAR")
    assert star.published == (0.340, 0.867, 0.642, 0.467)  # DESIGN.md, STAR/ADORE Table 2


def test_cells_report_ours_not_run_not_in_pipeline_and_missing_split():
    spec = tables.get_table("star_adore")
    found = tables.Measurements({("bm25", "dev"): {"MRR@10": 0.2, "R@100": 0.7}}, {}, {})
    long = tables.build(spec, found, {"dev": "dev", "test": None})
    bm25 = long[long["row"] == "BM25"].set_index("column")
    assert bm25.loc["dev MRR@10", "ours"] == 0.2
    assert bm25.loc["dev MRR@10", "delta"] == pytest.approx(0.2 - 0.187)
    assert bm25.loc["test nDCG@10", "status"] == tables.NO_SPLIT
    star = long[long["row"] == "STAR"]
    assert set(star[star["split"] == "dev"]["status"]) == {tables.NOT_RUN}
    assert set(long[long["row"] == "ANCE"]["status"]) <= {tables.NOT_RUN, tables.NO_SPLIT}
    outside = tables.Row((), "a system we do not build", (0.3, None, None, None))
    spec = dataclasses.replace(spec, rows=(*spec.rows, outside))
    long = tables.build(spec, found, {"dev": "dev", "test": None})
    row = long[long["row"] == outside.label]
    assert set(row[row["split"] == "dev"]["status"]) == {tables.NOT_IN_PIPELINE}


def test_method_suffix_columns_read_the_rerank_runs():
    spec = tables.get_table("tct_ablation")
    found = tables.Measurements(
        {("tct-rerank", "dev"): {"MRR@10": 0.5}, ("tct", "dev"): {"MRR@10": 0.4}}, {}, {}
    )
    long = tables.build(spec, found, {"dev": "dev", "test": "test"})
    tct = long[long["row"] == "in-batch KD"].set_index("column")["ours"]
    assert tct["rerank MRR@10"] == 0.5 and tct["retrieval MRR@10"] == 0.4


def test_unknown_table_is_a_config_error():
    with pytest.raises(ConfigError):
        tables.get_table("table9")


def write_metric(path, method, split, values):
    path.write_text(json.dumps({"method": method, "split": split, "metrics": values}))
    return str(path)


def test_write_produces_markdown_csv_and_provenance(tmp_path):
    files = [
        write_metric(tmp_path / "a.json", "bm25", "dev", {"MRR@10": 0.25, "R@100": 0.8}),
        write_metric(tmp_path / "b.json", "bm25", "test", {"nDCG@10": 0.5, "R@100": 0.6}),
    ]
    record = provenance.collect({"dataset": "demo"}, tmp_path)
    out = {k: str(tmp_path / f"t.{k}") for k in ("md", "csv", "json")}
    tables.write(
        "star_adore",
        tables.load_measurements(files),
        {"dev": "dev", "test": "test"},
        ["MRR@10"],
        "demo",
        record,
        out["md"],
        out["csv"],
        out["json"],
    )
    text = Path(out["md"]).read_text()
    assert "| BM25 | 0.250 | 0.187 | +0.063 |" in text
    assert "| STAR | not run | 0.340 | – |" in text
    assert "not a git checkout" in text  # tmp_path is no repository
    csv = pd.read_csv(out["csv"])
    assert len(csv) == len(tables.get_table("star_adore").rows) * 4
    assert json.loads(Path(out["json"]).read_text())["config"] == {"dataset": "demo"}


def test_summary_lists_every_evaluated_run(tmp_path):
    files = [
        write_metric(tmp_path / "a.json", "bm25", "test", {"MAP": 0.3, "nDCG@10": 0.4}),
    ]
    record = provenance.collect({}, tmp_path)
    out = [str(tmp_path / n) for n in ("s.md", "s.csv", "s.json")]
    found = tables.load_measurements(files)
    frame = tables.write("summary", found, {}, ["MAP", "nDCG@10"], "cacm", record, *out)
    assert frame.to_dict("records") == [
        {"method": "bm25", "label": "BM25", "split": "test", "MAP": 0.3, "nDCG@10": 0.4}
    ]
    assert "| BM25 | test | 0.300 | 0.400 |" in Path(out[0]).read_text()


def test_provenance_names_packages_and_hardware(tmp_path):
    record = provenance.collect({"k": 1}, tmp_path)
    assert record["packages"]["pandas"] == pd.__version__
    assert record["hardware"]["cpu_count"] >= 1
    assert "Provenance: commit" in provenance.markdown_footer(record)


def test_training_cost_sums_a_chain_and_index_size_follows_the_searched_index(tmp_path):
    for name, seconds, gpus in [("star", 7200, 1), ("adore-star", 1800, 2)]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "training.json").write_text(
            json.dumps({"seconds": seconds, "gpus": gpus})
        )
    (tmp_path / "bm25neg").mkdir()
    (tmp_path / "bm25neg" / "pq6.json").write_text(json.dumps({"bytes": 2.5e8}))
    found = tables.load_measurements(
        [],
        {name: tmp_path / name for name in ("star", "adore-star")},
        {"bm25neg/pq6": tmp_path / "bm25neg" / "pq6.json"},
    )
    cost = tables.build(tables.get_table("training_cost"), found, {}).set_index(["row", "column"])
    assert cost.loc[("STAR", "hours"), "ours"] == pytest.approx(2.0)
    assert cost.loc[("ADORE+STAR", "hours"), "ours"] == pytest.approx(2.5)
    assert cost.loc[("ADORE+STAR", "GPUs"), "ours"] == 2
    assert cost.loc[("ANCE", "hours"), "status"] == tables.NOT_RUN
    pq = tables.build(tables.get_table("adore_pq"), found, {"dev": "dev", "test": None})
    pq = pq.set_index(["row", "column"])
    assert pq.loc[("PQ m=6", "index GB"), "ours"] == pytest.approx(0.25)
    assert pq.loc[("PQ m=12", "index GB"), "status"] == tables.NOT_RUN
    text = tables.markdown(tables.get_table("training_cost"), cost.reset_index(), "", "")
    assert "| STAR | 1 | 1 | +0 | 2 | 33 | -31 |" in text


def test_hybrid_rows_say_how_their_scores_were_normalised():
    spec = tables.label_hybrids(tables.get_table("tct_colbert"), "zscore")
    labels = [row.label for row in spec.rows]
    assert "TCT + BM25 (z-scored scores)" in labels and "TCT" in labels
    assert tables.label_hybrids(tables.get_table("tct_colbert"), "none") == tables.get_table(
        "tct_colbert"
    )
    frame = tables.summary({("hybrid-tct-bm25", "dev"): {"MRR@10": 0.5}}, ["MRR@10"], "minmax")
    assert frame["label"].tolist() == ["TCT + BM25 (min-max scores)"]
