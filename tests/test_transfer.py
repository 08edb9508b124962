"""Zero-shot transfer: what the plan resolves (targets, methods, paths) and the zero_shot table
(its means by hand, published numbers only where the targets are their collections)."""

import copy
import json
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from irrepro import provenance, tables, zero_shot
from irrepro.errors import ConfigError
from irrepro.plan import Plan

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")
BEIR_13 = zero_shot.published()["mean_over"]


def demo_config(**transfer) -> dict:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["transfer"] = {**config["transfer"], **transfer}
    validate(config, SCHEMA)
    return copy.deepcopy(config)


def test_the_demo_transfers_to_its_shifted_collection():
    plan = Plan(demo_config())
    transfer = plan.transfer
    assert list(transfer.targets) == ["demo-shifted"] and transfer.splits == {
        "demo-shifted": "test"
    }
    assert transfer.relevance_level("demo-shifted", "test") == 2
    assert plan.tables[-1] == "zero_shot" and "nDCG@10" in plan.metrics
    files = plan.table_inputs("zero_shot")["transfers"]
    assert "results/demo-shifted/transfer/demo/metrics/adore-star/test.json" in files
    assert len(files) == len(transfer.methods) == 11
    # ADORE searches its base's index on the target, with its own query encoder
    assert transfer.dense_search_files("adore-star", "demo-shifted") == {
        "model": "results/demo/models/adore-star",
        "index": "results/demo-shifted/transfer/demo/index/star/flat.faiss",
        "embeddings": "results/demo-shifted/transfer/demo/embeddings/star",
    }
    assert "model" not in transfer.dense_search_files("star", "demo-shifted")
    assert transfer.encoded_queries("demo-shifted") == {
        "test": "results/demo-shifted/data/queries/test.parquet"
    }
    assert transfer.document_models() == ["ance", "bm25neg", "star", "tct"]
    layout = transfer.layout("demo-shifted")
    assert layout.corpus() == "results/demo-shifted/data/corpus.parquet"
    assert "results/demo-shifted/logs" in plan.log_dirs()
    per_query, metric, split = plan.per_query_sources("zero_shot")
    assert metric == "nDCG@10" and split == "test of demo-shifted"
    assert per_query["bm25"] == "results/demo-shifted/transfer/demo/metrics/bm25/test.parquet"


def test_without_a_method_list_every_bm25_dense_and_splade_row_transfers():
    plan = Plan(demo_config(methods=None))
    assert "colbert" not in plan.transfer.methods and "bert-reranker" not in plan.transfer.methods
    assert "hybrid-tct-bm25" not in plan.transfer.methods
    assert {"bm25", "adore-bm25neg-pq24", "tct-released", "splade-released"} <= set(
        plan.transfer.methods
    )


def test_a_transferred_row_this_config_does_not_run_is_left_out():
    config = demo_config()
    config["methods"] = ["bm25", "star", "splade-max"]
    assert Plan(config).transfer.methods == ["bm25", "star", "splade-max"]


def test_no_targets_no_zero_shot_table():
    plan = Plan(demo_config(targets=[]))
    assert "zero_shot" not in plan.tables and plan.transfer.methods == []
    config = demo_config(targets=[])
    config["tables"] = ["zero_shot"]
    with pytest.raises(ConfigError, match="needs `transfer.targets`"):
        Plan(config)


@pytest.mark.parametrize(
    ("transfer", "message"),
    [
        ({"targets": ["demo"]}, "must be another dataset than 'demo'"),
        ({"targets": ["scifact"]}, "transfer.targets: 'scifact' is not defined under `datasets:`"),
        ({"methods": ["colbert"]}, "'colbert' does not transfer"),
        ({"methods": ["hybrid-tct-bm25"]}, "'hybrid-tct-bm25' does not transfer"),
        ({"methods": ["randneg-nope"]}, "unknown method 'randneg-nope'"),
    ],
)
def test_a_transfer_that_cannot_run_is_refused_by_name(transfer, message):
    with pytest.raises(ConfigError, match=message):
        Plan(demo_config(**transfer))


def test_a_target_without_a_test_or_dev_split_is_refused():
    config = demo_config()
    config["datasets"]["demo-shifted"]["table_splits"] = {"test": None, "dev": None}
    with pytest.raises(ConfigError, match="has no test or dev split to score"):
        Plan(config)


def beir(*names: str) -> dict:
    return {name: {"split": "test", "collection": name} for name in names}


def test_published_means_are_over_the_targets_or_the_papers_13():
    rows = zero_shot.published()["rows"]
    two = beir("scifact", "nfcorpus")
    # BM25 per collection (Pyserini): the mean over the targets, by hand
    assert zero_shot.published_row(rows["bm25"], two) == pytest.approx(
        (0.6789, 0.3218, (0.6789 + 0.3218) / 2)
    )
    # SPLADE v2 gives means only: shown for its 13 collections, not for two of them
    assert zero_shot.published_row(rows["splade-max"], two) == (None, None, None)
    assert zero_shot.published_row(rows["distilsplade"], beir(*BEIR_13))[-1] == 0.506
    ed = zero_shot.published_row(rows["splade-released"], beir(*BEIR_13))
    assert ed[-1] == pytest.approx(sum(ed[:-1]) / 13) and ed[-1] == pytest.approx(0.5050, abs=1e-4)
    # a target that is not a BEIR collection has no published number
    local = {"mine": {"split": "test", "collection": None}}
    assert zero_shot.published_row(rows["bm25"], local) == (None, None)


def write_summary(path: Path, method: str, ndcg: float) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"method": method, "split": "test", "metrics": {"nDCG@10": ndcg}}))
    return str(path)


def test_the_table_is_each_targets_ndcg_and_their_mean(tmp_path):
    transfer = {
        "source": "msmarco",
        "methods": ["bm25", "star"],
        "targets": beir("scifact", "fiqa"),
    }
    scores = {("bm25", "scifact"): 0.6, ("bm25", "fiqa"): 0.2, ("star", "scifact"): 0.5}
    files = {
        target: {
            m: write_summary(tmp_path / target / f"{m}.json", m, scores[(m, target)])
            for m in transfer["methods"]
            if (m, target) in scores
        }
        for target in transfer["targets"]
    }
    found = tables.load_measurements(transfers=files)
    assert found.run_writers.keys() == {
        "scifact: bm25/test",
        "fiqa: bm25/test",
        "scifact: star/test",
    }
    out = {name: str(tmp_path / f"zero_shot.{name}") for name in ("md", "csv", "json")}
    frame = tables.write(
        "zero_shot", found, {}, [], "msmarco", provenance.collect({}, tmp_path),
        out["md"], out["csv"], out["json"],
        transfer=transfer,
    )  # fmt: skip
    cells = frame.set_index(["method", "column"])
    assert cells.loc[("bm25", "mean"), "ours"] == pytest.approx(0.4)
    assert cells.loc[("bm25", "mean"), "published"] == pytest.approx((0.6789 + 0.2361) / 2)
    assert cells.loc[("bm25", "fiqa"), "delta"] == pytest.approx(0.2 - 0.2361)
    assert cells.loc[("star", "fiqa"), "status"] == "not run"
    assert cells.loc[("star", "mean"), "status"] == "not run"
    text = Path(out["md"]).read_text()
    assert (
        "| BM25 | 0.600 | 0.679 | -0.079 | 0.200 | 0.236 | -0.036 | 0.400 | 0.457 | -0.057 |"
        in text
    )
    assert "| STAR | 0.500 | – | – | not run | – | – | not run | – | – |" in text
    assert "`scifact` (split `test`, BEIR scifact)" in text


def test_the_beir_13_config_plans_the_papers_collections_without_downloading():
    config = yaml.safe_load((ROOT / "config" / "msmarco-passage.yaml").read_text())
    beir_13 = yaml.safe_load((ROOT / "config" / "beir-13.yaml").read_text())
    config["datasets"] |= beir_13["datasets"]
    config["transfer"] = beir_13["transfer"]
    validate(config, SCHEMA)
    plan = Plan(config)
    described = plan.transfer.describe()
    assert sorted(t["collection"] for t in described["targets"].values()) == sorted(BEIR_13)
    assert set(plan.transfer.splits.values()) == {"test"}
    assert {"bm25", "star", "tct", "splade-ensembledistil"} <= set(described["methods"])
    table = zero_shot.spec(described)
    published = {row.methods[0]: row.published[-1] for row in table.rows}
    assert published["distilsplade"] == 0.506 and published["splade-max"] == 0.464
    assert published["splade-released"] == pytest.approx(0.5050, abs=1e-4)
    assert published["bm25"] == pytest.approx(0.4370, abs=1e-4)
    assert published["star"] is None


def test_bm25_on_the_targets_scores_with_anserinis_defaults_like_pyserinis_beir_runs():
    plan = Plan(demo_config())
    assert plan.bm25_index_settings()["k1"] == 0.82  # the demo's MS MARCO setting
    settings = plan.transfer.bm25_index_settings({"k1": 0.82, "b": 0.68, "stemmer": "english"})
    assert settings == {"k1": 0.9, "b": 0.4, "stemmer": "english"}


def test_a_rule_with_no_method_to_transfer_matches_none():
    """Without a dense row, transfer_dense_retrieve must not claim BM25's run."""
    import re

    from irrepro import methods

    config = demo_config()
    config["methods"] = ["bm25"]
    transfer = Plan(config).transfer
    constraint = transfer.wildcards(method=transfer.of_run(methods.DENSE_RUN))["method"]
    assert re.fullmatch(constraint, "bm25") is None and re.fullmatch(constraint, "") is None
    assert re.fullmatch(transfer.wildcards()["target"], "demo-shifted")
