"""Corpus encoding: shard and batch sizes change nothing, corpus order survives length-sorted
batches, and an interrupted run resumes where it stopped (unless the model changed)."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from irrepro.artefacts import CORPUS, ParquetStreamWriter, write_table
from irrepro.dense import encode
from irrepro.dense.embeddings import embedding_doc_ids, load_embeddings
from irrepro.dense.encode import encode_corpus, read_shards
from irrepro.dense.model import BiEncoder

MAX_LENGTH = 32
N_PASSAGES = 40


@pytest.fixture(scope="module")
def model():
    return BiEncoder.from_backbone("tiny", pooling="cls", head=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Passages of 1 to 50 words in random order, so length-sorting really reorders them."""
    rng = np.random.default_rng(7)
    words = ["dense", "retrieval", "hard", "negative", "passage", "query", "index", "rank"]
    texts = [" ".join(rng.choice(words, size=n)) for n in rng.integers(1, 51, size=N_PASSAGES)]
    frame = pd.DataFrame({"doc_id": [f"p{i}" for i in range(N_PASSAGES)], "text": texts})
    path = tmp_path_factory.mktemp("corpus") / "corpus.parquet"
    write_table(frame, path, CORPUS)
    return path, frame


@pytest.fixture(scope="module")
def one_by_one(model, corpus):
    """Each passage encoded alone: no padding, no batch, no sorting."""
    texts = corpus[1]["text"].tolist()
    return np.stack([model.encode([text], MAX_LENGTH)[0] for text in texts])


def run(model, corpus_path, tmp_path, **kwargs):
    kwargs = {"batch_size": 8, "shard_size": 16, **kwargs}
    return encode_corpus(
        model, corpus_path, tmp_path / "out", tmp_path / "work", MAX_LENGTH, **kwargs
    )


class Killed(Exception):
    """Stands for the job being killed in the middle of a shard."""


def count_calls(monkeypatch, model, fail_at=None):
    """Wrap model.encode to count the shards it encodes (and raise at call `fail_at`)."""
    calls = []
    real = model.encode

    def wrapped(*args, **kwargs):
        calls.append(len(args[0]))
        if len(calls) == fail_at:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(model, "encode", wrapped)
    return calls


@pytest.mark.parametrize(("batch_size", "shard_size"), [(1, 100), (3, 7), (64, 16)])
def test_rows_follow_corpus_order_whatever_the_batch_and_shard_size(
    model, corpus, one_by_one, tmp_path, batch_size, shard_size, monkeypatch
):
    monkeypatch.setattr(encode, "READ_BATCH", 5)  # shards straddle Parquet batches
    meta = run(model, corpus[0], tmp_path, batch_size=batch_size, shard_size=shard_size)
    vectors = load_embeddings(tmp_path / "out")
    assert vectors.dtype == np.float32 and vectors.shape == (N_PASSAGES, model.dim)
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-3)
    assert embedding_doc_ids(tmp_path / "out").tolist() == corpus[1]["doc_id"].tolist()
    shards = -(-N_PASSAGES // shard_size)
    assert meta == {
        "dim": model.dim,
        "count": N_PASSAGES,
        "shards": shards,
        "dtype": "float16",
        "max_length": MAX_LENGTH,
        "precision": "fp32",  # a library call outside a job: exact
        "resumed_shards": 0,
    }
    assert json.loads((tmp_path / "out" / "meta.json").read_text())["shards"] == shards
    assert np.load(tmp_path / "out" / "shard-00000.npy").dtype == np.float16
    assert not (tmp_path / "work").exists()


def test_an_interrupted_run_resumes_with_the_remaining_shards(model, corpus, tmp_path, monkeypatch):
    run(model, corpus[0], tmp_path / "reference")
    reference = load_embeddings(tmp_path / "reference" / "out")

    count_calls(monkeypatch, model, fail_at=2)
    with pytest.raises(Killed):
        run(model, corpus[0], tmp_path)
    assert sorted(p.name for p in (tmp_path / "work").glob("*.npy")) == ["shard-00000.npy"]
    assert not (tmp_path / "out").exists()

    monkeypatch.undo()
    calls = count_calls(monkeypatch, model)
    meta = run(model, corpus[0], tmp_path)
    assert meta["resumed_shards"] == 1 and calls == [16, 8]  # shards 1 and 2 of 16, 16, 8
    np.testing.assert_array_equal(load_embeddings(tmp_path / "out"), reference)


@pytest.mark.parametrize("change", ["model", "max_length", "precision"])
def test_shards_of_another_model_or_length_are_discarded(
    model, corpus, tmp_path, monkeypatch, change
):
    count_calls(monkeypatch, model, fail_at=2)
    with pytest.raises(Killed):
        run(model, corpus[0], tmp_path)
    monkeypatch.undo()

    other = BiEncoder.from_backbone("tiny", pooling="cls", head=True, seed=1)
    new_model = other if change == "model" else model
    max_length = MAX_LENGTH - 8 if change == "max_length" else MAX_LENGTH
    precision = "bf16" if change == "precision" else "fp32"
    calls = count_calls(monkeypatch, new_model)
    meta = encode_corpus(new_model, corpus[0], tmp_path / "out", tmp_path / "work", max_length,
                         8, 16, precision=precision)  # fmt: skip
    assert meta["resumed_shards"] == 0 and calls == [16, 16, 8]
    monkeypatch.undo()
    expected = new_model.encode(corpus[1]["text"].tolist(), max_length, precision=precision)
    tolerance = 1e-3 if precision == "fp32" else 2e-2  # bf16 rounds by batch composition
    np.testing.assert_allclose(load_embeddings(tmp_path / "out"), expected, atol=tolerance)


def test_unknown_precision_is_refused(model, corpus, tmp_path):
    with pytest.raises(ValueError, match="precision"):
        run(model, corpus[0], tmp_path, precision="fp8")


def test_reading_shards_does_not_accumulate_the_corpus(tmp_path):
    """MS MARCO's corpus must stream: Arrow memory stays at about a row group, not the file
    (Parquet's pre-buffering would keep every row group read so far)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "corpus.parquet"
    with ParquetStreamWriter(path, CORPUS) as out:
        for group in range(40):  # a row group per write, 64 MB of incompressible text in all
            texts = [rng.bytes(200).hex() for _ in range(4000)]
            out.write({"doc_id": [f"{group}-{i}" for i in range(4000)], "text": texts})
    allocated = [pa.total_allocated_bytes() for _ in read_shards(path, 4000)]
    assert len(allocated) == 40
    assert max(allocated) < path.stat().st_size / 3


def test_a_job_in_bf16_encodes_close_to_fp32_and_says_so(model, corpus, one_by_one, tmp_path):
    """`precision: bf16` (what `auto` is on a CPU with AMX or AVX512-BF16): vectors within
    bf16's rounding of the exact ones, and the meta says how they were computed."""
    meta = run(model, corpus[0], tmp_path, precision="bf16")
    vectors = load_embeddings(tmp_path / "out")
    assert meta["precision"] == "bfloat16"
    error = np.linalg.norm(vectors - one_by_one, axis=1) / np.linalg.norm(one_by_one, axis=1)
    assert 0 < error.max() < 0.05
