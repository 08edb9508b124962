"""Dense runs: the ranking of a brute-force inner product, written the way trec_eval reads it,
from queries encoded in the job or stored by the encoding job."""

import numpy as np
import pandas as pd
import pytest

from irrepro.artefacts import QUERIES, RUN, read_table, write_table
from irrepro.dense.encode import encode_queries
from irrepro.dense.index import build_index
from irrepro.dense.model import BiEncoder
from irrepro.dense.retrieve import dense_run, encoded_queries, stored_queries
from irrepro.errors import DataError
from irrepro.lookup import stored_queries_path

MAX_LENGTH = 16
WORDS = ["dense", "retrieval", "hard", "negative", "passage", "query", "index", "rank", "star"]


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(3)
    passages = [" ".join(rng.choice(WORDS, size=rng.integers(2, 12))) for _ in range(30)]
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(1, 5))) for _ in range(7)]
    queries = pd.DataFrame({"query_id": [f"q{i}" for i in range(7)], "text": texts})
    encoder = BiEncoder.from_backbone("tiny", pooling="mean")  # random CLS vectors all but tie
    embeddings = encoder.encode(passages, MAX_LENGTH)
    doc_ids = np.array([f"d{i}" for i in range(30)], dtype=object)
    return encoder, embeddings, doc_ids, queries


def brute_force(encoder, embeddings, doc_ids, queries, depth):
    scores = encoder.encode(queries["text"].tolist(), MAX_LENGTH) @ embeddings.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :depth]
    return {q: doc_ids[row].tolist() for q, row in zip(queries["query_id"], order, strict=True)}


def ranked_docs(run: pd.DataFrame) -> dict:
    return run.groupby("query_id", sort=False)["doc_id"].agg(list).to_dict()


def test_dense_run_is_the_brute_force_ranking(setup, tmp_path):
    encoder, embeddings, doc_ids, queries = setup
    index = build_index(embeddings, "flat")
    batches = encoded_queries(encoder, queries, MAX_LENGTH, batch_size=3)
    dense_run(index, doc_ids, batches, tmp_path / "run.parquet", 10)
    run = read_table(tmp_path / "run.parquet", RUN)
    assert ranked_docs(run) == brute_force(encoder, embeddings, doc_ids, queries, 10)
    ranks = run.groupby("query_id")["rank"].agg(list)
    assert all(r == list(range(1, 11)) for r in ranks)
    assert run.groupby("query_id")["score"].is_monotonic_decreasing.all()


def test_depth_is_capped_by_the_corpus_size(setup, tmp_path):
    encoder, embeddings, doc_ids, queries = setup
    index = build_index(embeddings, "flat")
    dense_run(index, doc_ids, encoded_queries(encoder, queries, MAX_LENGTH), tmp_path / "r", 1000)
    run = read_table(tmp_path / "r", RUN)
    assert (run.groupby("query_id").size() == 30).all()
    assert run["rank"].min() == 1 and run["rank"].max() == 30


def test_doc_ids_must_name_every_index_row(setup, tmp_path):
    encoder, embeddings, doc_ids, queries = setup
    with pytest.raises(ValueError, match="29 doc ids"):
        batches = encoded_queries(encoder, queries, MAX_LENGTH)
        dense_run(build_index(embeddings, "flat"), doc_ids[:29], batches, tmp_path / "r", 5)
    assert not list(tmp_path.iterdir())


def test_ivf_index_probing_every_list_gives_the_exact_run(setup, tmp_path):
    encoder, embeddings, doc_ids, queries = setup
    index = build_index(embeddings, "ivf4-flat")
    batches = encoded_queries(encoder, queries, MAX_LENGTH)
    dense_run(index, doc_ids, batches, tmp_path / "run.parquet", 10, nprobe=4)
    run = read_table(tmp_path / "run.parquet", RUN)
    assert ranked_docs(run) == brute_force(encoder, embeddings, doc_ids, queries, 10)


def test_stored_query_vectors_give_the_run_of_the_encoder(setup, tmp_path):
    """The encoding job's vectors, read back for a subset in another order (the tune queries
    are train's), rank as the encoder itself does."""
    encoder, embeddings, doc_ids, queries = setup
    write_table(queries, tmp_path / "train.parquet", QUERIES)
    counts = encode_queries(encoder, {"train": tmp_path / "train.parquet"}, tmp_path, MAX_LENGTH)
    assert counts == {"train": 7}
    subset = queries.iloc[[5, 1, 3]]
    stored = stored_queries(stored_queries_path(tmp_path, "train"), subset["query_id"], 2)
    index = build_index(embeddings, "flat")
    dense_run(index, doc_ids, stored, tmp_path / "run.parquet", 10, total=3)
    run = read_table(tmp_path / "run.parquet", RUN)
    assert ranked_docs(run) == brute_force(encoder, embeddings, doc_ids, subset, 10)
    assert list(run["query_id"].unique()) == ["q5", "q1", "q3"]


def test_a_query_without_a_stored_vector_names_the_file(setup, tmp_path):
    encoder, _, _, queries = setup
    write_table(queries.iloc[:4], tmp_path / "dev.parquet", QUERIES)
    encode_queries(encoder, {"dev": tmp_path / "dev.parquet"}, tmp_path, MAX_LENGTH)
    path = stored_queries_path(tmp_path, "dev")
    with pytest.raises(DataError, match=r"queries-dev.parquet: no vector for 3 queries.*'q4'"):
        next(stored_queries(path, queries["query_id"]))
