"""Config validation (JSON schema + semantic checks) and what a config asks Snakemake to build."""

import copy
from dataclasses import asdict
from pathlib import Path

import jsonschema
import pytest
import yaml
from snakemake.utils import validate

from irrepro import methods
from irrepro.errors import ConfigError
from irrepro.plan import Plan

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def load(name: str) -> dict:
    config = yaml.safe_load((ROOT / "config" / name).read_text())
    validate(config, SCHEMA)
    return config


def test_demo_config_plan():
    plan = Plan(load("config.yaml"))
    assert plan.splits == ["train", "dev", "test"]
    assert plan.eval_splits == ["dev", "test"]
    assert plan.roles == {"dev": "dev", "test": "test"}
    assert plan.relevance_level("test") == 2 and plan.relevance_level("dev") == 1
    assert plan.metrics[:5] == ["MRR@10", "R@100", "R@1000", "nDCG@10", "MAP"]
    targets = plan.targets()
    assert "results/demo/tables/star_adore.md" in targets
    assert "results/demo/metrics/bm25/dev.json" in targets
    assert "results/demo/negatives/bm25.parquet" in targets
    star_metrics = plan.table_inputs("star_adore")["metrics"]
    for method in ["bm25", "inbatch", "randneg", "bm25neg", "star", "adore-star"]:
        for split in ["dev", "test"]:
            assert f"results/demo/metrics/{method}/{split}.json" in star_metrics
    # the PQ runs feed Table 5, not the passage rows of Table 2
    assert not any("pq" in path for path in star_metrics)
    # BM25's train run is bm25_retrieve_train's (the profiles' threads), the rest bm25_retrieve's:
    # between them every split once, or Snakemake finds two rules or none for a run
    assert plan.bm25_splits(threaded=True) == ["train"]
    assert plan.bm25_splits(threaded=False) == ["dev", "test", "tune"]


def test_schema_fills_defaults():
    config = {"dataset": "x", "datasets": {"x": {"source": "demo"}}}
    validate(config, SCHEMA)
    assert config["methods"] == ["bm25"]
    assert config["retrieval"] == {"depth": 1000, "train_depth": 200}
    assert config["datasets"]["x"]["title"] == "join"
    assert config["datasets"]["x"]["qrels_unknown_docs"] == "error"


@pytest.mark.parametrize(
    "change",
    [
        {"bm25": {"k1": -1}},
        {"bm25": {"k_1": 1.0}},  # a typo is an error, not silently ignored
        {"retrieval": {"depth": 0}},
        {"colour": "blue"},
    ],
)
def test_schema_rejects_bad_values(change):
    config = {"dataset": "x", "datasets": {"x": {"source": "demo"}}, **change}
    with pytest.raises((jsonschema.ValidationError, Exception)):
        validate(config, SCHEMA)


def base_config() -> dict:
    return copy.deepcopy(load("config.yaml"))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"dataset": "nope"}, "not defined"),
        ({"methods": ["bm25", "bm26"]}, "unknown method"),
        ({"methods": ["bm25", "bm25"]}, "twice"),
        ({"tables": ["table9"]}, "unknown table"),
        ({"evaluation": {"metrics": ["MRR@x"], "skip_splits": ["train"]}}, "unknown metric"),
    ],
)
def test_semantic_errors_name_the_problem(change, message):
    config = base_config()
    config.update(change)
    with pytest.raises(ConfigError, match=message):
        Plan(config)


@pytest.mark.parametrize(
    ("where", "value", "key"),
    [
        (("datasets", "demo", "relevance_level"), {"tset": 2}, "datasets.demo.relevance_level"),
        (("evaluation", "skip_splits"), ["train", "tset"], "evaluation.skip_splits"),
    ],
)
def test_split_keyed_settings_must_name_a_split(where, value, key):
    """A typo in a split name would otherwise score DL19 at level 1 or evaluate train."""
    config = base_config()
    section = config
    for part in where[:-1]:
        section = section[part]
    section[where[-1]] = value
    with pytest.raises(ConfigError) as caught:
        Plan(config)
    assert str(caught.value) == (f"{key}: 'tset' is not a split of demo (splits: train, dev, test)")


def test_skip_splits_default_skips_train_only_where_there_is_one():
    config = base_config()
    assert config["evaluation"]["skip_splits"] is None
    assert Plan(config).eval_splits == ["dev", "test"]
    config["evaluation"]["skip_splits"] = []
    assert Plan(config).eval_splits == ["train", "dev", "test"]


def test_impossible_demo_sizes_fail_at_dag_time():
    config = base_config()
    config["datasets"]["demo"]["n_train"] = 10_000
    with pytest.raises(ConfigError, match="exceeds n_passages"):
        Plan(config)


def test_msmarco_config_plans_every_method_and_dl19():
    plan = Plan(load("msmarco-passage.yaml"))
    assert plan.splits == ["train", "dev", "dl19"]
    assert plan.roles == {"dev": "dev", "test": "dl19"}
    assert plan.relevance_level("dl19") == 2
    assert "results/msmarco-passage/metrics/adore-star/dl19.json" in plan.targets()
    cost = plan.table_inputs("training_cost")
    assert cost["models"] == [
        "results/msmarco-passage/models/adore-star",
        "results/msmarco-passage/models/ance",
        "results/msmarco-passage/models/star",
    ]
    pq = plan.table_inputs("adore_pq")
    assert "results/msmarco-passage/index/bm25neg/pq6.json" in pq["indexes"]
    assert "results/msmarco-passage/index/bm25neg/flat.json" in pq["indexes"]


def local_trec_config(folder, methods: list[str]) -> dict:
    """The demo config pointed at a one-document TREC folder with a single test split."""
    (folder / "corpus.jsonl").write_text('{"id": "d1", "contents": "hello world"}\n')
    (folder / "topics.txt").write_text("1\thello\n")
    (folder / "qrels.txt").write_text("1 0 d1 1\n")
    config = base_config()
    config["datasets"]["mine"] = {"source": "local", "format": "trec", "path": str(folder)}
    config["dataset"] = "mine"
    config["methods"] = methods
    return config


def test_local_trec_folder_gives_a_test_split_and_no_dev_role(tmp_path):
    plan = Plan(local_trec_config(tmp_path, ["bm25"]))
    assert plan.splits == ["test"] and plan.eval_splits == ["test"]
    assert plan.roles == {"dev": None, "test": "test"}
    assert plan.data.source_files() == sorted(
        str(tmp_path / name) for name in ("corpus.jsonl", "topics.txt", "qrels.txt")
    )
    assert "results/mine/negatives/bm25.parquet" not in plan.targets()  # no train split
    assert plan.bm25_splits(threaded=True) == []


def test_hybrids_plan_their_latency_and_need_train_queries(tmp_path):
    plan = Plan(base_config())
    assert plan.hybrids == [
        "hybrid-poolavg-bm25", "hybrid-tct-bm25", "hybrid-tct-splade-ensembledistil"
    ]  # fmt: skip
    assert plan.table_inputs("tct_latency")["latency"] == [
        "results/demo/latency/hybrid-tct-bm25.json"
    ]
    assert plan.latency_split() == "dev"
    config = local_trec_config(tmp_path, ["bm25", "tct", "hybrid-tct-bm25"])
    with pytest.raises(ConfigError, match="no train split"):
        Plan(config)


def test_dense_retrieval_reads_the_queries_the_encoding_job_stored():
    """A model's encoding job stores its queries' vectors, so its retrieval reads no model;
    ADORE's query encoder searches another model's documents, and its training job (trained or
    released) stores its queries' vectors in its model folder."""
    plan = Plan(base_config())
    assert plan.dense_search_files("star") == {
        "index": "results/demo/index/star/flat.faiss",
        "embeddings": "results/demo/embeddings/star",
    }
    adore = plan.dense_search_files("adore-bm25neg-pq24")
    assert adore == {
        "index": "results/demo/index/bm25neg/pq24.faiss",
        "embeddings": "results/demo/embeddings/bm25neg",
        "query_vectors": "results/demo/models/adore-bm25neg-pq24",
    }
    assert plan.encoded_queries() == {
        split: f"results/demo/data/queries/{split}.parquet" for split in ["train", "dev", "test"]
    }
    stored = {f"queries_{split}": path for split, path in plan.encoded_queries().items()}
    for method in ["adore-bm25neg-pq24", "adore-released"]:
        assert stored.items() <= plan.train_inputs(method).items()
    for method in ["star", "star-released", "bm25neg"]:
        assert not any(name.startswith("queries_") for name in plan.train_inputs(method))
    vector_splits = [plan.query_vectors_split(s) for s in ["tune", "train", "dev"]]
    assert vector_splits == ["train", "train", "dev"]
    assert plan.latency_inputs("tct", "bm25")["model"] == "results/demo/models/tct"


def schema_defaults(*path: str) -> dict:
    node = yaml.safe_load(Path(SCHEMA).read_text())
    for key in path:
        node = node["properties"][key]
    return {key: spec["default"] for key, spec in node["properties"].items() if "default" in spec}


def test_schema_defaults_are_the_codes_defaults():
    """A setting left out means the same whether the schema or the code fills it in."""
    from irrepro.dense.training import EncoderSpec
    from irrepro.tct.training import TctSpec

    assert schema_defaults("dense", "encoder") == asdict(EncoderSpec())
    tct = {**schema_defaults("tct", "encoder"), **schema_defaults("tct")}
    assert {key: tct[key] for key in asdict(TctSpec())} == asdict(TctSpec())


def test_each_training_rule_gets_only_its_methods_settings():
    plan = Plan(load("config.yaml"))
    colbert, student = plan.training("colbert"), plan.training("tct")
    assert set(colbert) == {"encoder", "training"} and colbert["training"]["steps"] == 90
    assert student["distillation"] == {"tau": 0.25, "gamma": 0.1}
    assert student["training"]["batch_size"] == 32  # tct.train
    assert "rerank" not in str(colbert) + str(student)  # reranking depth is not theirs
    assert plan.training("star")["training"]["steps"] == 120  # dense.train + methods.star
    adore = plan.training("adore-bm25neg-pq6")
    assert adore["query_length"] == 16 and adore["training"]["depth"] == 100
    assert "table_splits" not in plan.data.settings()


def test_how_often_a_method_checkpoints_is_read_by_its_job_not_passed_as_params():
    """Params that change rerun a job; checkpoint_every changes no model, so it is left out of
    them and the job reads it from the config, the method's own override first."""
    config = load("config.yaml")
    config["dense"]["methods"]["adore"]["checkpoint_every"] = 31
    plan = Plan(config)
    for name in ("star", "adore-star", "tct", "bert-reranker", "splade-max", "star-released"):
        assert "checkpoint_every" not in plan.training(name)["training"], name
        assert plan.training(name)["training"]["steps"] > 0

    def checkpoint_every(name):
        settings = methods.with_checkpointing(plan.training(name), config, name)
        return settings["training"]["checkpoint_every"]

    assert checkpoint_every("adore-star") == 31
    assert checkpoint_every("star") == 40  # methods.star
    assert checkpoint_every("inbatch") == 15  # dense.train


def test_training_inputs_come_from_the_registry():
    plan = Plan(load("config.yaml"))
    data = "results/demo/data"
    base = {"corpus": f"{data}/corpus.parquet", "queries": f"{data}/queries/train.parquet",
            "qrels": f"{data}/qrels/train.parquet"}  # fmt: skip
    assert plan.train_inputs("inbatch") == base
    assert plan.train_inputs("star") == {
        **base,
        "init": "results/demo/models/bm25neg",
        "negatives": "results/demo/negatives/bm25neg.parquet",
    }
    assert plan.train_inputs("poolavg")["teacher"] == "results/demo/models/colbert"
    assert plan.train_inputs("adore-bm25neg-pq6")["index"] == "results/demo/index/bm25neg/pq6.faiss"
    assert plan.train_inputs("distilsplade")["teacher_scores"] == (
        "results/demo/teacher/cross-encoder-bm25.parquet"
    )
    assert plan.train_inputs("splade-selfdistil")["negatives"] == (
        "results/demo/negatives/distilsplade.parquet"
    )
    assert plan.train_inputs("splade-ensembledistil")["negatives"].endswith("ensemble.parquet")
    assert plan.ensemble_negatives()[1] == "results/demo/negatives/star.parquet"
    assert "teacher_depth" not in plan.training("splade-max")
    assert plan.training("splade-released")["encoder"]["backbone"] == "splade-tiny"
    selfdistil = plan.training("splade-released-selfdistil")["encoder"]["backbone"]
    assert selfdistil == "naver/splade-cocondenser-selfdistil"  # the schema's default
    assert plan.rerank_settings("bert-reranker")["scorer"] == "cross-encoder"
    assert plan.rerank_inputs("colbert-rerank") == {"model": "results/demo/models/colbert"}
    assert plan.rerank_settings("colbert-rerank")["scorer"] == "maxsim"
    assert plan.train_inputs("ance") == {**base, "init": "results/demo/models/bm25neg"}
    assert plan.training("ance")["training"]["refresh_every"] == 20
    assert plan.colbert_search_settings() == {"query_length": 16, "k_per_token": 1024, "nprobe": 10}
    # a bi-encoder reranks with the vectors its encoding job stored: no model to load
    assert plan.rerank_inputs("tct-rerank") == {"embeddings": "results/demo/embeddings/tct"}
    with pytest.raises(ConfigError, match="bm25 is not trained"):
        plan.training("bm25")


def test_every_registered_method_has_a_family_whose_recipe_imports():
    from irrepro import methods
    from irrepro.train.job import recipe

    assert {m.family for m in methods.METHODS.values()} <= set(methods.FAMILIES)
    for name, method in methods.METHODS.items():
        if method.implemented and method.family.recipe:
            assert callable(recipe(method)), name
    assert methods.trained(methods.WARMUP) == ("inbatch", "randneg", "bm25neg")
    assert methods.negative_sources() == ("bm25", "bm25neg", "distilsplade", "ensemble")
    assert methods.dense_index_of("adore-bm25neg-pq24") == ("bm25neg", "pq24")


def deep_merge(base: dict, over: dict) -> dict:
    """Snakemake's layering of --configfile a.yaml b.yaml: b's keys over a's, section by section."""
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def test_the_1m_slice_is_msmarco_with_a_sampled_corpus_and_fewer_steps():
    raw = [yaml.safe_load((ROOT / "config" / name).read_text())
           for name in ("msmarco-passage.yaml", "msmarco-1m.yaml")]  # fmt: skip
    config = deep_merge(*raw)
    validate(config, SCHEMA)
    plan = Plan(config)
    assert plan.splits == ["train", "dev", "dl19"] and plan.relevance_level("dl19") == 2
    assert plan.data.settings()["sample_passages"] == 1_000_000
    assert plan.training("star")["training"]["steps"] == 5000
    assert plan.training("ance")["training"]["refresh_every"] == 5000
    assert "results/msmarco-1m/metrics/star-released/dl19.json" in plan.targets()
