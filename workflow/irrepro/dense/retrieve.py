"""Dense runs: queries encoded in batches, searched in a faiss index, streamed to a Parquet run."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pandas as pd
from tqdm import tqdm

from ..artefacts import RunWriter
from .index import on_device, search, set_nprobe
from .model import BiEncoder


def dense_run(
    query_encoder: BiEncoder,
    index: faiss.Index,
    doc_ids: np.ndarray,
    queries: pd.DataFrame,
    run_path: str | Path,
    depth: int,
    max_length: int,
    batch_size: int = 256,
    device=None,
    nprobe: int | None = None,
) -> None:
    """Top-`depth` passages per query (fewer when the corpus is smaller), ranked the trec_eval
    way. `doc_ids[i]` names index row i. `nprobe`: lists an IVF index scans per query (faiss
    keeps the value the index was saved with, 1 for a fresh one); other kinds ignore it."""
    if len(doc_ids) != index.ntotal:
        raise ValueError(f"{len(doc_ids)} doc ids for an index of {index.ntotal} passages")
    depth = min(depth, index.ntotal)
    if nprobe is not None:
        set_nprobe(index, nprobe)
    index = on_device(index)  # once, not at every batch
    bar = tqdm(total=len(queries), unit="query", desc="dense retrieval")
    with RunWriter(run_path, doc_ids) as writer, bar:
        for start in range(0, len(queries), batch_size):
            chunk = queries.iloc[start : start + batch_size]
            vectors = query_encoder.encode(
                chunk["text"].tolist(), max_length, batch_size, device, kind="query"
            )
            scores, rows = search(index, vectors, depth)
            writer.add(chunk["query_id"].astype(str).tolist(), rows, scores)
            bar.update(len(chunk))
