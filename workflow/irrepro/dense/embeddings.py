"""An embeddings folder (what encode_corpus publishes): float16 .npy shards of consecutive
passages, doc_ids.parquet naming the rows, meta.json, and the dataset's queries encoded by the
same model (queries-<split>.parquet: query_id, float32 vector). Reading it needs numpy and
pyarrow only, so the jobs that index, look up vectors or search do not import torch (3-4 s a
job).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..lookup import rows_of_queries

META = "meta.json"
DOC_IDS = "doc_ids.parquet"


def shard_name(number: int) -> str:
    return f"shard-{number:05d}.npy"


def write_query_vectors(path: str | Path, query_ids, vectors: np.ndarray) -> None:
    """query_id and float32 vector columns, one row per query."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])
    ids = pa.array([str(query_id) for query_id in query_ids], pa.string())
    pq.write_table(pa.table({"query_id": ids, "vector": column}), path)


def read_query_vectors(path: str | Path, query_ids) -> np.ndarray:
    """float32 (len(query_ids), dim), in the order asked (irrepro.lookup)."""
    table = pq.read_table(path)
    rows = rows_of_queries(path, table.column("query_id").to_pylist(), query_ids, "vector")
    vector = table.column("vector").combine_chunks()
    return vector.values.to_numpy().reshape(len(vector), vector.type.list_size)[rows]


def load_embeddings(directory: str | Path) -> np.ndarray:
    """All vectors as float32 (count, dim), in corpus order; filled shard by shard, so the
    peak memory is the result plus one memory-mapped shard."""
    directory = Path(directory)
    meta = json.loads((directory / META).read_text())
    vectors = np.empty((meta["count"], meta["dim"]), dtype=np.float32)
    start = 0
    for number in range(meta["shards"]):
        shard = np.load(directory / shard_name(number), mmap_mode="r")
        vectors[start : start + len(shard)] = shard
        start += len(shard)
    if start != meta["count"]:
        raise ValueError(f"{directory}: {start} vectors in the shards, {meta['count']} in meta")
    return vectors


class EmbeddingStore:
    """Rows of an embeddings folder gathered from memory-mapped float16 shards: reranking
    needs a few thousand vectors per query, not the whole 8.8M x 768 matrix in memory."""

    def __init__(self, directory: str | Path):
        directory = Path(directory)
        meta = json.loads((directory / META).read_text())
        self.shards = [
            np.load(directory / shard_name(n), mmap_mode="r") for n in range(meta["shards"])
        ]
        self.starts = np.cumsum([0, *(len(shard) for shard in self.shards)])
        self.dim = meta["dim"]

    def __len__(self) -> int:
        return int(self.starts[-1])

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """float32 (len(rows), dim) in the order asked."""
        return gather_rows(self.shards, self.starts, rows, self.dim)


def gather_rows(shards: list[np.ndarray], starts: np.ndarray, rows, dim: int) -> np.ndarray:
    """Rows of consecutive shards (shard n holds rows starts[n]..starts[n+1]-1) as float32, in
    the order asked, each shard read once."""
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty((len(rows), dim), dtype=np.float32)
    shard_of = np.searchsorted(starts, rows, side="right") - 1
    for number in np.unique(shard_of):
        where = np.flatnonzero(shard_of == number)
        out[where] = shards[number][rows[where] - starts[number]]
    return out


def embedding_doc_ids(directory: str | Path) -> np.ndarray:
    """Doc ids (str, object array) of the embedding rows, in order."""
    column = pq.read_table(Path(directory) / DOC_IDS, columns=["doc_id"]).column("doc_id")
    return column.to_numpy(zero_copy_only=False).astype(object)
