"""Dense runs: query vectors in batches, searched in a faiss index, streamed to a Parquet run.

The vectors come from the encoding job (stored beside the passages: `stored_queries`), so a
retrieval job needs faiss and not torch; ADORE, which trains only a query encoder, and the
tests encode them here (`encoded_queries`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import faiss
import numpy as np
import pandas as pd
from tqdm import tqdm

from ..artefacts import RunWriter
from .embeddings import read_query_vectors
from .index import on_device, search, set_nprobe

if TYPE_CHECKING:
    from .model import BiEncoder

BATCH = 256
QueryBatches = Iterator[tuple[list[str], np.ndarray]]  # (query ids, float32 vectors)


def encoded_queries(
    encoder: BiEncoder, queries: pd.DataFrame, max_length: int, batch_size: int = BATCH, device=None
) -> QueryBatches:
    """The queries (query_id, text) through `encoder`, `batch_size` at a time."""
    for start in range(0, len(queries), batch_size):
        chunk = queries.iloc[start : start + batch_size]
        texts = chunk["text"].tolist()
        vectors = encoder.encode(texts, max_length, batch_size, device, kind="query")
        yield chunk["query_id"].astype(str).tolist(), vectors


def stored_queries(path: str | Path, query_ids, batch_size: int = BATCH) -> QueryBatches:
    """The vectors an encoding job stored for these queries (irrepro.dense.embeddings)."""
    ids = [str(query_id) for query_id in query_ids]
    vectors = read_query_vectors(path, ids)
    for start in range(0, len(ids), batch_size):
        yield ids[start : start + batch_size], vectors[start : start + batch_size]


def dense_run(
    index: faiss.Index,
    doc_ids: np.ndarray,
    queries: QueryBatches,
    run_path: str | Path,
    depth: int,
    total: int | None = None,
    nprobe: int | None = None,
) -> None:
    """Top-`depth` passages per query (fewer when the corpus is smaller), ranked the trec_eval
    way. `doc_ids[i]` names index row i; `total`: how many queries, for the progress bar.
    `nprobe`: lists an IVF index scans per query (faiss keeps the value the index was saved
    with, 1 for a fresh one); other kinds ignore it."""
    if len(doc_ids) != index.ntotal:
        raise ValueError(f"{len(doc_ids)} doc ids for an index of {index.ntotal} passages")
    depth = min(depth, index.ntotal)
    if nprobe is not None:
        set_nprobe(index, nprobe)
    index = on_device(index)  # once, not at every batch
    bar = tqdm(total=total, unit="query", desc="dense retrieval")
    with RunWriter(run_path, doc_ids) as writer, bar:
        for query_ids, vectors in queries:
            scores, rows = search(index, vectors, depth)
            writer.add(query_ids, rows, scores)
            bar.update(len(query_ids))
