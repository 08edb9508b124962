"""SPLADE's inverted index and exact retrieval on the CPU, its efficiency figures, and an export
for Anserini / Pyserini.

The corpus's term weights are stored by vocabulary id (postings: document rows and weights, a
CSC matrix). Retrieval is irrepro.postings' exact top-k: a query's scores accumulated over the
postings of its terms, cut in trec_eval order (score descending, doc id descending on ties),
counting only documents that share a term with the query.

The indexing job, which has the model loaded, also stores the dataset's queries' term weights
(queries-<split>.parquet) and how long encoding them took (queries.json, part of a query's
latency), so a retrieval job needs numba and not torch or the model.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp
from tqdm import tqdm

from ..artefacts import CORPUS, QUERIES, RunWriter, descending_id_order, read_table
from ..logs import Tally
from ..lookup import rows_of_queries, stored_queries_path
from ..model_files import staged_directory, write_json
from ..postings import top_k

if TYPE_CHECKING:
    from .model import Splade

log = logging.getLogger(__name__)

POSTINGS, DOC_IDS, STATS = "postings.npz", "doc_ids.parquet", "stats.json"
QUERY_TIMES = "queries.json"
QUERY_BATCH = 64  # the most queries encoded at once (`query_batch_size` batches the search)
ANSERINI_SCALE = 100  # JsonVectorCollection weights: round(weight * 100)


def encode_texts(
    model: Splade, texts, max_length: int, batch_size: int, desc: str
) -> sp.csr_matrix:
    """Term weights of many texts, encoded in chunks under one progress bar."""
    chunk = 16 * batch_size
    parts = []
    with tqdm(total=len(texts), unit="text", desc=desc) as bar:
        for start in range(0, len(texts), chunk):
            part = model.encode(texts[start : start + chunk], max_length, batch_size, bar)
            parts.append(part)
    if not parts:
        return sp.csr_matrix((0, model.vocabulary_size), dtype=np.float32)
    return sp.vstack(parts, format="csr")


def encode_queries(model: Splade, texts, max_length: int, batch_size: int = QUERY_BATCH):
    """Queries' term weights (one row each), as the indexing job stores them."""
    return encode_texts(model, texts, max_length, min(batch_size, QUERY_BATCH), "encoding queries")


def build_sparse_index(
    model: Splade, corpus_path, out_dir, max_length: int, batch_size: int = 64
) -> dict:
    """Encode the corpus and write its postings, doc ids and stats; an all-zero document stays
    in the index (unretrievable) and is counted in the stats and the log."""
    corpus = read_table(corpus_path, CORPUS)
    doc_ids = corpus["doc_id"].to_numpy(dtype=object)
    texts = corpus["text"].astype(str).tolist()
    documents = encode_texts(model, texts, max_length, batch_size, "encoding passages")
    nonzeros = np.diff(documents.indptr)
    empty = np.flatnonzero(nonzeros == 0)
    what = "documents with no non-zero weight (unretrievable)"
    unretrievable = Tally.of(what, doc_ids[empty])
    postings = documents.tocsc()
    with staged_directory(out_dir) as tmp:
        np.savez(
            tmp / POSTINGS,
            term_ptr=postings.indptr.astype(np.int64),
            doc_rows=postings.indices.astype(np.int32),
            weights=postings.data.astype(np.float32),
        )
        pq.write_table(pa.table({"doc_id": pa.array(doc_ids, pa.string())}), tmp / DOC_IDS)
        stats = {
            "documents": len(doc_ids),
            "vocabulary": model.vocabulary_size,
            "nonzeros": int(documents.nnz),
            "nonzeros_per_document": float(nonzeros.mean()) if len(nonzeros) else 0.0,
            "empty_documents": int(len(empty)),
            "bytes": int((tmp / POSTINGS).stat().st_size),
            "counted": unretrievable.report(log),
        }
        write_json(tmp / STATS, stats)
    log.info("sparse index: %s", stats)
    return stats


class SparseIndex:
    """Postings of a built index; `search` gives the exact top-k of sparse queries."""

    def __init__(self, directory):
        directory = Path(directory)
        arrays = np.load(directory / POSTINGS)
        self.term_ptr, self.doc_rows, self.weights = (
            arrays["term_ptr"], arrays["doc_rows"], arrays["weights"],
        )  # fmt: skip
        self.doc_ids = (
            pq.read_table(directory / DOC_IDS)
            .column("doc_id")
            .to_numpy(zero_copy_only=False)
            .astype(object)
        )
        self.stats = json.loads((directory / STATS).read_text())
        self.tie_key = descending_id_order(self.doc_ids)

    @classmethod
    def from_matrix(cls, documents: sp.csr_matrix, doc_ids) -> SparseIndex:
        """An index of given document weights (tests, benchmarks)."""
        index = cls.__new__(cls)
        postings = sp.csr_matrix(documents, dtype=np.float32).tocsc()
        index.term_ptr = postings.indptr.astype(np.int64)
        index.doc_rows = postings.indices.astype(np.int32)
        index.weights = postings.data.astype(np.float32)
        index.doc_ids = np.asarray(doc_ids, dtype=object)
        index.stats = {"documents": documents.shape[0], "vocabulary": documents.shape[1]}
        index.tie_key = descending_id_order(index.doc_ids)
        return index

    def __len__(self) -> int:
        return len(self.doc_ids)

    def posting_lengths(self) -> np.ndarray:
        return np.diff(self.term_ptr)

    def compile(self) -> None:
        """Compile (or load from numba's cache) the search kernel for this index's dtypes, so
        a timed search measures searching: a cold compile takes a few seconds."""
        self.search(sp.csr_matrix((1, max(len(self.term_ptr) - 1, 1))), depth=1)

    def search(self, queries: sp.csr_matrix, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores), each (queries, depth), in trec_eval order: row -1 pads a query
        matching fewer documents. Scores are summed in float64."""
        queries = sp.csr_matrix(queries, dtype=np.float32)
        queries.sort_indices()
        return top_k(
            queries.indptr, queries.indices, queries.data.astype(np.float64), self.term_ptr,
            self.doc_rows, self.weights, self.tie_key, depth,
        )  # fmt: skip


def encode_query_splits(
    model: Splade, queries: dict, out_dir, max_length: int, batch_size: int = QUERY_BATCH
) -> dict[str, dict]:
    """Each split's queries file (query_id, text) encoded into `out_dir`'s
    queries-<split>.parquet, and {split: {queries, encode_seconds}} into queries.json."""
    record = {}
    for split, path in queries.items():
        table = read_table(path, QUERIES)
        started = time.perf_counter()
        weights = encode_queries(model, table["text"].astype(str).tolist(), max_length, batch_size)
        seconds = time.perf_counter() - started
        write_query_weights(stored_queries_path(out_dir, split), table["query_id"], weights)
        record[split] = {"queries": len(table), "encode_seconds": seconds}
    write_json(Path(out_dir) / QUERY_TIMES, record)
    return record


def write_query_weights(path, query_ids, weights: sp.csr_matrix) -> None:
    """query_id, terms (vocabulary ids) and weights, one row per query."""
    weights = sp.csr_matrix(weights, dtype=np.float32)
    offsets = pa.array(weights.indptr.astype(np.int32))
    table = pa.table({
        "query_id": pa.array([str(query_id) for query_id in query_ids], pa.string()),
        "terms": pa.ListArray.from_arrays(offsets, pa.array(weights.indices.astype(np.int32))),
        "weights": pa.ListArray.from_arrays(offsets, pa.array(weights.data)),
    })  # fmt: skip
    pq.write_table(table, path)


def read_query_weights(path, query_ids, vocabulary: int) -> sp.csr_matrix:
    """The stored term weights of these queries, in the order asked (irrepro.lookup)."""
    table = pq.read_table(path)
    rows = rows_of_queries(path, table.column("query_id").to_pylist(), query_ids, "weights")
    terms, weights = (table.column(name).combine_chunks() for name in ("terms", "weights"))
    matrix = sp.csr_matrix(
        (weights.values.to_numpy(), terms.values.to_numpy(), terms.offsets.to_numpy()),
        shape=(len(table), vocabulary),
    )
    return matrix[rows]


def query_encoding_seconds(directory, split: str, queries: int) -> float:
    """Seconds the indexing job spent encoding `queries` of the stored `split` (its mean per
    query times `queries`: a retrieval of part of a split)."""
    record = json.loads((Path(directory) / QUERY_TIMES).read_text())[split]
    return record["encode_seconds"] / max(record["queries"], 1) * queries


def sparse_run(
    index: SparseIndex, query_ids, weights: sp.csr_matrix, run_path, depth: int, batch_size=256
) -> None:
    """Top-`depth` run of the queries whose term weights are `weights` (row i: query_ids[i])."""
    query_ids = [str(query_id) for query_id in query_ids]
    empty = int((np.diff(weights.indptr) == 0).sum())
    if empty:
        log.warning("%d queries have no non-zero weight: they retrieve nothing", empty)
    steps = range(0, len(query_ids), batch_size)
    with RunWriter(run_path, index.doc_ids, index.tie_key) as writer:
        for start in tqdm(steps, unit="batch", desc="sparse retrieval"):
            rows, scores = index.search(weights[start : start + batch_size], depth)
            writer.add_ranked(query_ids[start : start + batch_size], rows, scores)


def efficiency(index: SparseIndex, queries: sp.csr_matrix) -> dict:
    """Average FLOPS per query-document pair, sum_j p_d(j) * p_q(j) (p: the share of documents,
    and of queries, with term j), and the average non-zeros per query and per document."""
    n_docs, n_queries = len(index), queries.shape[0]
    p_docs = index.posting_lengths() / max(n_docs, 1)
    terms = min(len(p_docs), queries.shape[1])
    p_queries = np.bincount(sp.csr_matrix(queries).indices, minlength=queries.shape[1])[:terms]
    p_queries = p_queries / max(n_queries, 1)
    return {
        "flops": float(np.dot(p_docs[:terms], p_queries)),
        "query_nonzeros": float(queries.nnz / max(n_queries, 1)),
        "document_nonzeros": float(len(index.doc_rows) / max(n_docs, 1)),
    }


def empty_queries(query_ids, weights: sp.csr_matrix) -> Tally:
    """Queries whose expansion has no non-zero weight: they retrieve nothing."""
    empty = np.asarray(query_ids)[np.diff(weights.indptr) == 0]
    return Tally.of("queries with no non-zero weight (retrieve nothing)", empty)


def anserini_vector(weights: sp.csr_matrix, row: int, vocabulary: list[str]) -> dict[str, int]:
    """One text's weights as JsonVectorCollection wants them: token -> round(weight * 100)."""
    start, end = weights.indptr[row], weights.indptr[row + 1]
    vector = {}
    for term, weight in zip(weights.indices[start:end], weights.data[start:end], strict=True):
        scaled = int(round(float(weight) * ANSERINI_SCALE))
        if scaled > 0:
            vector[vocabulary[term]] = scaled
    return vector


def export_anserini(index: SparseIndex, vocabulary: list[str], out_path) -> int:
    """The index as an Anserini JsonVectorCollection (one JSON document per line); the count."""
    documents = sp.csc_matrix(
        (index.weights, index.doc_rows, index.term_ptr), shape=(len(index), len(index.term_ptr) - 1)
    ).tocsr()
    with open(out_path, "w") as out:
        for row, doc_id in enumerate(index.doc_ids):
            record = {
                "id": str(doc_id),
                "contents": "",
                "vector": anserini_vector(documents, row, vocabulary),
            }
            out.write(json.dumps(record) + "\n")
    return len(index)


def anserini_query(weights: sp.csr_matrix, row: int, vocabulary: list[str]) -> str:
    """A query as Anserini's impact search reads it: each token repeated round(weight * 100)."""
    vector = anserini_vector(weights, row, vocabulary)
    return " ".join(" ".join([token] * count) for token, count in vector.items())
