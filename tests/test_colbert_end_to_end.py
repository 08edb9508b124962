"""ColBERT end to end: the stored token vectors are the ones MaxSim reads, and with a flat
index and k' covering every token the run is exhaustive MaxSim over the whole corpus."""

import numpy as np
import pandas as pd
import pytest
import torch

from irrepro.artefacts import QUERIES, RUN, read_table
from irrepro.datasets import prepare_folder
from irrepro.dense.embeddings import embedding_doc_ids
from irrepro.rerank import encode_tokens
from irrepro.tct import token_index
from irrepro.tct.colbert import ColBERT, maxsim
from irrepro.tct.token_index import (
    TokenStore,
    build_token_index,
    encode_token_vectors,
    end_to_end_run,
)
from irrepro.train.data import Corpus

PASSAGE_LENGTH, QUERY_LENGTH = 24, 12


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("colbert")
    prepare_folder({"source": "demo", "n_passages": 90, "n_train": 5, "n_dev": 8}, root)
    model = ColBERT.from_backbone("tiny", dim=16, seed=3)
    meta = encode_token_vectors(
        model, root / "corpus.parquet", root / "tokens", root / "work", PASSAGE_LENGTH,
        batch_size=16, shard_size=40,
    )  # fmt: skip
    return root, model, meta


def exhaustive(model, root, queries: pd.DataFrame, depth: int):
    """Every passage scored by MaxSim with float16-rounded passage tokens, as stored."""
    corpus = Corpus(root / "corpus.parquet")
    docs, doc_mask = encode_tokens(model, corpus.text(range(len(corpus))), PASSAGE_LENGTH, 16,
                                   "passage")  # fmt: skip
    docs = docs.half().float()
    texts = queries["text"].astype(str).tolist()
    query_vectors, query_mask = encode_tokens(model, texts, QUERY_LENGTH, 16, "query")
    scores = maxsim(query_vectors, query_mask, docs, doc_mask).numpy()
    rows = [np.lexsort((np.arange(len(s)), -s))[:depth] for s in scores]
    return corpus.doc_ids, rows, scores


def test_stored_tokens_are_the_passage_tokens_maxsim_reads(setup):
    root, model, meta = setup
    store = TokenStore(root / "tokens")
    corpus = Corpus(root / "corpus.parquet")
    docs, doc_mask = encode_tokens(model, corpus.text([0, 41, 89]), PASSAGE_LENGTH, 16, "passage")
    stored, stored_mask = store.passages(np.array([0, 41, 89]))  # rows in the 1st and 3rd shard
    for i in range(3):
        want = docs[i][doc_mask[i]].half().float()
        assert torch.equal(stored[i][stored_mask[i]], want)
    assert meta["tokens"] == len(store) == int(store.lengths.sum())
    assert list(embedding_doc_ids(root / "tokens")) == list(corpus.doc_ids)


def test_flat_index_with_k_covering_the_corpus_is_exhaustive_maxsim(setup, tmp_path):
    root, model, _ = setup
    store = TokenStore(root / "tokens")
    queries = read_table(root / "queries/dev.parquet", QUERIES)
    timing = end_to_end_run(
        model, store, build_token_index(store, "flat"), embedding_doc_ids(root / "tokens"),
        queries, tmp_path / "run.parquet", depth=20, query_length=QUERY_LENGTH,
        k_per_token=len(store), doc_budget=7,
    )  # fmt: skip
    run = read_table(tmp_path / "run.parquet", RUN)
    doc_ids, rows, scores = exhaustive(model, root, queries, depth=20)
    for i, query_id in enumerate(queries["query_id"].astype(str)):
        ours = run[run["query_id"] == query_id].sort_values("rank")
        assert ours["score"].to_numpy() == pytest.approx(scores[i][rows[i]], abs=1e-4)
        assert set(ours["doc_id"]) == set(doc_ids[rows[i]]) or _tied_at_cut(scores[i], rows[i])
    assert timing["candidates_per_query"] == pytest.approx(90)


def _tied_at_cut(scores, rows) -> bool:
    return np.isclose(np.sort(scores)[::-1][len(rows)], scores[rows[-1]], atol=1e-5)


def test_fewer_neighbours_give_exact_scores_of_fewer_candidates(setup, tmp_path):
    root, model, _ = setup
    store = TokenStore(root / "tokens")
    queries = read_table(root / "queries/dev.parquet", QUERIES)
    timing = end_to_end_run(
        model, store, build_token_index(store, "ivf8-flat"), embedding_doc_ids(root / "tokens"),
        queries, tmp_path / "run.parquet", depth=1000, query_length=QUERY_LENGTH, k_per_token=3,
        nprobe=2,
    )  # fmt: skip
    assert timing["candidates_per_query"] < 90
    run = read_table(tmp_path / "run.parquet", RUN)
    doc_ids, _, scores = exhaustive(model, root, queries, depth=90)
    position = {doc: i for i, doc in enumerate(doc_ids)}
    for i, query_id in enumerate(queries["query_id"].astype(str)):
        ours = run[run["query_id"] == query_id]
        exact = scores[i][[position[d] for d in ours["doc_id"]]]
        assert ours["score"].to_numpy() == pytest.approx(exact, abs=1e-4)


def killed_on_the_second_shard(model, root, work, monkeypatch):
    """Encode with `model` until the second shard, leaving the first one in `work`."""
    original, calls = token_index.passage_tokens, []

    def dies(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return original(*args, **kwargs)

    monkeypatch.setattr(token_index, "passage_tokens", dies)
    with pytest.raises(KeyboardInterrupt):
        encode(model, root, work.parent / "unused", work)
    monkeypatch.setattr(token_index, "passage_tokens", original)


def encode(model, root, out, work):
    return encode_token_vectors(model, root / "corpus.parquet", out, work, PASSAGE_LENGTH,
                                batch_size=16, shard_size=40)  # fmt: skip


def test_a_restarted_encoding_keeps_finished_shards(setup, tmp_path, monkeypatch):
    root, model, _ = setup
    killed_on_the_second_shard(model, root, tmp_path / "work", monkeypatch)
    meta = encode(model, root, tmp_path / "out", tmp_path / "work")
    assert meta["resumed_shards"] == 1
    a, b = TokenStore(root / "tokens"), TokenStore(tmp_path / "out")
    assert np.array_equal(a.tokens(0, len(a)), b.tokens(0, len(b)))


def test_shards_of_another_model_are_not_reused(setup, tmp_path, monkeypatch):
    root, model, _ = setup
    killed_on_the_second_shard(model, root, tmp_path / "work", monkeypatch)
    other = ColBERT.from_backbone("tiny", dim=16, seed=4)
    meta = encode(other, root, tmp_path / "out", tmp_path / "work")
    fresh = encode(other, root, tmp_path / "fresh", tmp_path / "work-fresh")
    assert meta["resumed_shards"] == 0
    a, b = TokenStore(tmp_path / "out"), TokenStore(tmp_path / "fresh")
    assert np.array_equal(a.tokens(0, len(a)), b.tokens(0, len(b))) and fresh["tokens"] == len(a)


def test_encoding_in_blocks_gives_the_same_tokens(setup, tmp_path, monkeypatch):
    root, model, _ = setup
    monkeypatch.setattr(token_index, "BLOCK", 7)  # blocks that cut through every shard
    encode(model, root, tmp_path / "out", tmp_path / "work")
    a, b = TokenStore(root / "tokens"), TokenStore(tmp_path / "out")
    assert np.array_equal(a.lengths, b.lengths)
    assert np.array_equal(a.tokens(0, len(a)), b.tokens(0, len(b)))
