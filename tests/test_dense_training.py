"""The STAR/ADORE methods on a tiny backbone: they train, save, resume, and ADORE's dynamic
negatives are the brute-force top-k of the current query vectors."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from irrepro.artefacts import NEGATIVES, QRELS, QUERIES, read_table, write_table
from irrepro.datasets import prepare_folder
from irrepro.dense import losses
from irrepro.dense.adore import dynamic_candidates
from irrepro.dense.embeddings import load_embeddings, read_query_vectors
from irrepro.dense.encode import encode_corpus
from irrepro.dense.index import build_index, write_index
from irrepro.dense.model import BiEncoder
from irrepro.errors import ConfigError
from irrepro.lookup import query_inputs, stored_queries_path
from irrepro.train.job import train_method

ENCODER = {
    "backbone": "tiny",
    "pooling": "cls",
    "head": True,
    "normalize": False,
    "query_length": 12,
    "passage_length": 24,
}
TRAINING = {
    "optimizer": "adamw",
    "lr": 1e-3,
    "batch_size": 8,
    "steps": 4,
    "warmup": 1,
    "checkpoint_every": 2,
    "log_every": 1,
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    spec = {"source": "demo", "n_passages": 120, "n_train": 40, "n_dev": 10, "n_test": 5}
    prepare_folder(spec, root)
    qrels = read_table(root / "qrels/train.parquet", QRELS)
    # negatives: a few passages per train query that are not its positive
    rows = [
        (q, f"{(int(d) + k) % 120}", k)
        for q, d in zip(qrels.query_id, qrels.doc_id, strict=True)
        for k in (1, 2, 3)
    ]
    write_table(
        pd.DataFrame(rows, columns=["query_id", "doc_id", "rank"]),
        root / "negatives.parquet",
        NEGATIVES,
    )
    return root


def train_data(data: Path) -> dict[str, str]:
    return {
        "corpus": str(data / "corpus.parquet"),
        "queries": str(data / "queries/train.parquet"),
        "qrels": str(data / "qrels/train.parquet"),
    }


def train(data: Path, tmp: Path, method: str, training=None, **inputs) -> Path:
    out = tmp / method
    train_method(
        method,
        inputs={**train_data(data), **inputs},
        settings={"encoder": ENCODER, "training": {**TRAINING, **(training or {})}},
        out_dir=str(out),
        checkpoint_dir=str(tmp / f"ck-{method}"),
    )
    return out


@pytest.mark.parametrize("method", ["inbatch", "randneg", "bm25neg", "star"])
def test_each_method_trains_and_saves(data, tmp_path, method):
    inputs = {}
    if method in ("bm25neg", "star"):
        inputs["negatives"] = str(data / "negatives.parquet")
    if method == "star":
        inputs["init"] = str(train(data, tmp_path / "init", "bm25neg", **inputs))
    out = train(data, tmp_path, method, training={"negatives": 2}, **inputs)
    log = pd.read_parquet(out / "train_log.parquet")
    assert log["step"].tolist() == [1, 2, 3, 4] and np.isfinite(log["loss"]).all()
    cost = json.loads((out / "training.json").read_text())
    assert cost["method"] == method and cost["gpus"] == 0 and cost["seconds"] > 0
    assert BiEncoder.load(out).encode(["a query"], 12).shape == (1, 96)
    assert not (tmp_path / f"ck-{method}" / "checkpoint.pt").exists()  # cleared once saved


def test_hard_negative_methods_need_a_negatives_file(data, tmp_path):
    with pytest.raises(ConfigError, match="negatives"):
        train(data, tmp_path, "bm25neg")


def test_star_starts_from_the_warm_up_model(data, tmp_path):
    warm = train(data, tmp_path, "bm25neg", negatives=str(data / "negatives.parquet"))
    star = train(
        data,
        tmp_path,
        "star",
        training={"steps": 1, "lr": 1e-9, "warmup": 0},
        negatives=str(data / "negatives.parquet"),
        init=str(warm),
    )
    before, after = BiEncoder.load(warm), BiEncoder.load(star)
    assert all(
        torch.allclose(a, b, atol=1e-5)
        for a, b in zip(before.state_dict().values(), after.state_dict().values(), strict=True)
    )


def test_a_killed_training_resumes_to_the_same_weights(data, tmp_path, monkeypatch):
    inputs = {"negatives": str(data / "negatives.parquet")}
    inputs["init"] = str(train(data, tmp_path / "init", "bm25neg", **inputs))
    whole = train(data, tmp_path / "whole", "star", **inputs)
    original = losses.StarLoss.__call__

    def dies_at_step_three(self, model, batch, step):
        if step == 2:
            raise KeyboardInterrupt("killed")
        return original(self, model, batch, step)

    monkeypatch.setattr(losses.StarLoss, "__call__", dies_at_step_three)
    with pytest.raises(KeyboardInterrupt):
        train(data, tmp_path / "killed", "star", **inputs)
    assert (tmp_path / "killed" / "ck-star" / "checkpoint.pt").exists()
    monkeypatch.setattr(losses.StarLoss, "__call__", original)
    resumed = train(data, tmp_path / "killed", "star", **inputs)
    a, b = BiEncoder.load(whole).state_dict(), BiEncoder.load(resumed).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_dynamic_negatives_are_the_brute_force_top_k():
    rng = np.random.default_rng(0)
    documents = rng.standard_normal((50, 8)).astype(np.float32)
    queries = rng.standard_normal((3, 8)).astype(np.float32)
    positives = [np.array([7]), np.array([1, 2]), np.array([49])]
    lists, _, _ = dynamic_candidates(build_index(documents, "flat"), queries, positives, depth=10)
    for query, wanted, (candidates, relevant) in zip(queries, positives, lists, strict=True):
        top = np.argsort(-(documents @ query), kind="stable")[:10]
        assert candidates[:10].tolist() == top.tolist()
        missed = [p for p in wanted if p not in top]
        assert candidates[10:].tolist() == missed
        assert relevant.tolist() == np.isin(candidates, wanted).tolist()


def test_adore_trains_only_against_the_fixed_index(data, tmp_path):
    """...and stores its queries' vectors, those of the saved query encoder, in its folder."""
    base = train(data, tmp_path, "inbatch")
    model = BiEncoder.load(base)
    encode_corpus(model, data / "corpus.parquet", tmp_path / "emb", tmp_path / "work", 24)
    write_index(build_index(load_embeddings(tmp_path / "emb"), "flat"), tmp_path / "flat.faiss")
    splits = {split: str(data / f"queries/{split}.parquet") for split in ["train", "dev"]}
    train_method(
        "adore-inbatch",
        inputs={
            **train_data(data),
            "doc_encoder": str(base),
            "embeddings": str(tmp_path / "emb"),
            "index": str(tmp_path / "flat.faiss"),
            **query_inputs(splits),
        },
        settings={"training": {**TRAINING, "depth": 20, "metric_cut": 20}, "query_length": 12},
        out_dir=str(tmp_path / "adore"),
        checkpoint_dir=str(tmp_path / "ck-adore"),
    )
    log = pd.read_parquet(tmp_path / "adore" / "train_log.parquet")
    assert {"train_mrr@10", "search_seconds"} <= set(log.columns)
    adore = BiEncoder.load(tmp_path / "adore")
    changed = [
        not torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), adore.state_dict().values(), strict=True)
    ]
    assert any(changed)  # the query encoder moved; the documents it searches did not
    assert load_embeddings(tmp_path / "emb").shape == (120, 96)
    for split, path in splits.items():
        queries = read_table(path, QUERIES)
        expected = adore.encode(queries["text"].tolist(), 12, 128, kind="query", precision="auto")
        order = np.random.default_rng(0).permutation(len(queries))  # read back in another order
        stored = read_query_vectors(stored_queries_path(tmp_path / "adore", split),
                                    queries["query_id"].iloc[order])  # fmt: skip
        np.testing.assert_array_equal(stored, expected[order])
    assert not (tmp_path / "inbatch" / "queries-dev.parquet").exists()  # not its job
