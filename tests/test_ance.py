"""ANCE on a tiny backbone: its loss is the official NLL, each refresh's negatives are the
brute-force top-k of the weights at that step, and a killed job resumes to the same weights."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from test_dense_training import ENCODER, TRAINING, data, train, train_data  # noqa: F401

from irrepro.artefacts import NEGATIVES, read_table
from irrepro.dense import losses
from irrepro.dense.model import BiEncoder
from irrepro.train.data import Corpus, TrainQueries
from irrepro.train.job import train_method

# fp32: the refreshes encode in the training's precision, the brute force below in fp32
ANCE = {**TRAINING, "refresh_every": 2, "depth": 20, "negatives": 2, "keep_indexes": True,
        "precision": "fp32"}  # fmt: skip


def test_ance_loss_is_the_nll_of_the_positive_against_each_own_negative():
    torch.manual_seed(0)
    queries, positives = torch.randn(3, 4), torch.randn(3, 4)
    negatives = torch.randn(6, 4)  # two per query: rows 2b and 2b+1 are query b's
    negative_is_positive = torch.zeros(3, 6, dtype=torch.bool)
    negative_is_positive[1, 3] = True  # query 1's second negative is one of its positives
    negative_is_positive[0, 4] = True  # another query's negative: not query 0's pair anyway
    got = losses.own_negatives_loss(queries, positives, negatives, negative_is_positive)
    q, p, n = queries.numpy(), positives.numpy(), negatives.numpy()
    expected = []
    for b in range(3):
        for j in (2 * b, 2 * b + 1):
            if (b, j) == (1, 3):
                continue
            logits = np.array([q[b] @ p[b], q[b] @ n[j]], dtype=np.float64)
            expected.append(-(logits[0] - np.log(np.exp(logits).sum())))  # microsoft/ANCE's NLL
    assert got.item() == pytest.approx(np.mean(expected), rel=1e-5)


def train_ance(data, tmp, init, training=None):  # noqa: F811
    out = tmp / "ance"
    train_method(
        "ance",
        inputs={**train_data(data), "init": str(init)},
        settings={"encoder": ENCODER, "training": {**ANCE, **(training or {})}, "shard_size": 50},
        out_dir=str(out),
        checkpoint_dir=str(tmp / "ck-ance"),
    )
    return out


@pytest.fixture(scope="module")
def warm(data, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("warm")
    return train(data, tmp, "bm25neg", negatives=str(data / "negatives.parquet"))


def brute_force_negatives(model: BiEncoder, data, depth: int) -> pd.DataFrame:  # noqa: F811
    corpus = Corpus(data / "corpus.parquet")
    queries = TrainQueries(data / "queries/train.parquet", data / "qrels/train.parquet", corpus)
    documents = model.encode(corpus.text(range(len(corpus))), ENCODER["passage_length"])
    documents = documents.astype(np.float16).astype(np.float32)  # as stored in the shards
    vectors = model.encode([str(t) for t in queries.texts], ENCODER["query_length"], kind="query")
    rows = []
    for query_id, vector, positives in zip(queries.ids, vectors, queries.positives, strict=True):
        top = np.argsort(-(documents @ vector), kind="stable")[:depth]
        rows += [
            (query_id, corpus.doc_ids[r], rank)
            for rank, r in enumerate(top, start=1)
            if r not in positives
        ]
    return pd.DataFrame(rows, columns=["query_id", "doc_id", "rank"])


def test_each_refresh_mines_the_current_weights_top_k(data, warm, tmp_path):  # noqa: F811
    out = train_ance(data, tmp_path, warm)
    refreshes = tmp_path / "ck-ance" / "refreshes"
    assert sorted(p.name for p in refreshes.iterdir()) == ["step-0000000", "step-0000002"]
    first = read_table(refreshes / "step-0000000" / "negatives.parquet", NEGATIVES)
    expected = brute_force_negatives(BiEncoder.load(warm), data, depth=20)
    pairs = ["query_id", "doc_id"]
    first_pairs = set(map(tuple, first[pairs].to_numpy()))
    assert first_pairs == set(map(tuple, expected[pairs].to_numpy()))
    second = read_table(refreshes / "step-0000002" / "negatives.parquet", NEGATIVES)
    assert set(map(tuple, second[pairs].to_numpy())) != first_pairs  # the model moved
    assert (refreshes / "step-0000002" / "index.faiss").exists()
    cost = json.loads((out / "training.json").read_text())
    assert [r["step"] for r in cost["refreshes"]] == [0, 2]
    assert cost["refresh_seconds"] > 0 and 0 <= cost["refreshes"][0]["train_mrr@10"] <= 1
    assert cost["refresh_seconds"] <= cost["seconds"]  # refreshes are training time


@pytest.mark.parametrize("refresh_lost", [False, True])
def test_a_killed_ance_job_resumes_to_the_same_weights(
    data,  # noqa: F811
    warm,
    tmp_path,
    monkeypatch,
    refresh_lost,
):
    whole = train_ance(data, tmp_path / "whole", warm)
    original = losses.AnceLoss.__call__

    def dies_at_step_four(self, model, batch, step):
        if step == 3:
            raise KeyboardInterrupt("killed")
        return original(self, model, batch, step)

    monkeypatch.setattr(losses.AnceLoss, "__call__", dies_at_step_four)
    killed = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        train_ance(data, killed, warm)
    assert (killed / "ck-ance" / "checkpoint.pt").exists()
    if refresh_lost:  # killed during the refresh of step 2: it is made again from step 2's weights
        shutil.rmtree(killed / "ck-ance" / "refreshes" / "step-0000002")
    monkeypatch.setattr(losses.AnceLoss, "__call__", original)
    resumed = train_ance(data, killed, warm)
    a, b = BiEncoder.load(whole).state_dict(), BiEncoder.load(resumed).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    pd.testing.assert_frame_equal(
        pd.read_parquet(whole / "train_log.parquet").drop(columns=["examples_per_s", "seconds"]),
        pd.read_parquet(resumed / "train_log.parquet").drop(columns=["examples_per_s", "seconds"]),
    )


def test_a_refresh_of_other_settings_is_not_reused(data, warm, tmp_path):  # noqa: F811
    train_ance(data, tmp_path, warm, training={"steps": 2})
    stale = tmp_path / "ck-ance" / "refreshes" / "step-0000000" / "refresh.json"
    before = json.loads(stale.read_text())["fingerprint"]
    train_ance(data, tmp_path, warm, training={"steps": 2, "depth": 10})
    after = json.loads(stale.read_text())
    assert after["fingerprint"] != before
    negatives = read_table(stale.with_name("negatives.parquet"), NEGATIVES)
    assert negatives["rank"].max() <= 10
