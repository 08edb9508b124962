"""The Parquet artefacts passed between rules: their schemas, checked reads and atomic writes.

IDs are always strings. A run is ordered the way trec_eval reads it (score descending, ties
broken by doc_id descending), so the `rank` column and any trec_eval number agree. Every
artefact's Parquet metadata says what wrote it (`written_by`: library version, source digest,
commit), so that a table can tell rows computed by different code apart.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .provenance import code_version

CORPUS = pa.schema([("doc_id", pa.string()), ("text", pa.string())])
QUERIES = pa.schema([("query_id", pa.string()), ("text", pa.string())])
QRELS = pa.schema([("query_id", pa.string()), ("doc_id", pa.string()), ("relevance", pa.int32())])
RUN = pa.schema(
    [
        ("query_id", pa.string()),
        ("doc_id", pa.string()),
        ("rank", pa.int32()),
        ("score", pa.float64()),
    ]
)
NEGATIVES = pa.schema([("query_id", pa.string()), ("doc_id", pa.string()), ("rank", pa.int32())])
TEACHER_SCORES = pa.schema(
    [("query_id", pa.string()), ("doc_id", pa.string()), ("score", pa.float32())]
)


WRITER_KEY = b"irrepro.written_by"


def with_writer(schema: pa.Schema) -> pa.Schema:
    return schema.with_metadata({**(schema.metadata or {}), WRITER_KEY: json.dumps(code_version())})


def written_by(path: str | Path) -> dict | None:
    """The `provenance.code_version()` record of the code that wrote a Parquet artefact, if any."""
    value = (pq.read_schema(path).metadata or {}).get(WRITER_KEY)
    return json.loads(value) if value else None


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def write_table(frame: pd.DataFrame | pa.Table, path: str | Path, schema: pa.Schema) -> None:
    """Write `frame` with exactly `schema`'s columns, atomically (a killed job leaves no half)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = (
        frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    )
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise ValueError(f"cannot write {path}: missing columns {missing}")
    table = table.select(schema.names).cast(with_writer(schema))
    tmp = _tmp_path(path)
    pq.write_table(table, tmp)
    tmp.replace(path)


def read_table(path: str | Path, schema: pa.Schema) -> pd.DataFrame:
    """Read an artefact and check it carries `schema`'s columns."""
    table = pq.read_table(path)
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise ValueError(f"{path}: not a valid artefact, missing columns {missing}")
    return table.select(schema.names).cast(schema).to_pandas()


class ParquetStreamWriter:
    """Append record batches to one Parquet file; renamed into place only when closed cleanly."""

    def __init__(self, path: str | Path, schema: pa.Schema):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self._tmp = _tmp_path(self.path)
        self._writer = pq.ParquetWriter(self._tmp, with_writer(schema))
        self.rows = 0

    def write(self, columns: dict[str, Iterable]) -> None:
        batch = pa.table({name: columns[name] for name in self.schema.names}).cast(self.schema)
        self._writer.write_table(batch)
        self.rows += batch.num_rows

    def __enter__(self) -> ParquetStreamWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._writer.close()
        if exc_type is None:
            self._tmp.replace(self.path)
        else:
            self._tmp.unlink(missing_ok=True)


def as_string_array(values) -> pa.Array:
    """Ids as one Arrow string array (cheap to sort and gather, unlike Python objects)."""
    array = (
        values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values, pa.string())
    )
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def by_query_then_score(query: np.ndarray, score: np.ndarray, n_queries: int) -> np.ndarray:
    """Row order by query code, then score descending; equal scores keep their row order.
    Two stable sorts, the second a radix sort when the codes fit in 16 bits (a dev or test
    set): 30% faster than np.lexsort on 10M rows."""
    by_score = np.argsort(-score, kind="stable")
    group = query[by_score]
    if n_queries <= np.iinfo(np.uint16).max:
        group = group.astype(np.uint16)
    return by_score[np.argsort(group, kind="stable")]


def descending_id_order(doc_ids) -> np.ndarray:
    """For each document, its position when ids are sorted in descending string order.

    trec_eval breaks score ties by doc_id descending; ranking by (score, this key) reproduces it
    with integer comparisons only.
    """
    order = pc.sort_indices(as_string_array(doc_ids), sort_keys=[("x", "descending")])
    key = np.empty(len(order), dtype=np.int64)
    key[order.to_numpy()] = np.arange(len(order))
    return key


def rank_rows(scores: np.ndarray, tie_key: np.ndarray) -> np.ndarray:
    """Row-wise order of candidates: score descending, then tie_key ascending.

    `scores` and `tie_key` are (queries, k) arrays; padding entries carry score -inf. Retrievers
    hand rows over sorted by score, so such rows only need each run of equal scores put in
    tie-key order: a stable sort of (run number, tie key), near-linear on nearly sorted keys
    (6x faster than the general lexsort, which other rows get).
    """
    presorted = (scores[:, :-1] >= scores[:, 1:]).all(axis=1)
    order = np.empty(scores.shape, dtype=np.int64)
    if presorted.any():
        part = scores[presorted]
        runs = np.zeros(part.shape, dtype=np.int64)
        np.cumsum(part[:, 1:] != part[:, :-1], axis=1, out=runs[:, 1:])
        ties = np.minimum(tie_key[presorted], 2**32 - 1)  # padding's key may be int64's max
        order[presorted] = np.argsort((runs << 32) | ties, axis=1, kind="stable")
    if not presorted.all():
        rest = ~presorted
        order[rest] = np.lexsort((tie_key[rest], -scores[rest]), axis=-1)
    return order


def in_run_order(
    doc_index: np.ndarray, scores: np.ndarray, tie_key: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(queries x k) candidate rows and scores sorted row-wise into trec_eval order (see
    rank_rows), padding (row -1) last."""
    doc_index = np.asarray(doc_index, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    valid = doc_index >= 0
    scores = np.where(valid, scores, -np.inf)
    tie = np.where(valid, tie_key[np.clip(doc_index, 0, None)], np.iinfo(np.int64).max)
    order = rank_rows(scores, tie)
    return np.take_along_axis(doc_index, order, axis=1), np.take_along_axis(scores, order, axis=1)


class RunWriter:
    """Streams a run to Parquet in trec_eval order, from per-query candidate matrices.

    Retrieval stages hand over (queries x k) arrays of corpus row indices and scores; a row
    index of -1 marks padding (fewer than k hits) and is dropped.
    """

    def __init__(self, path: str | Path, doc_ids, tie_key: np.ndarray | None = None):
        self.doc_ids = as_string_array(doc_ids)
        self.tie_key = descending_id_order(self.doc_ids) if tie_key is None else tie_key
        self._out = ParquetStreamWriter(path, RUN)

    def add(self, query_ids, doc_index: np.ndarray, scores: np.ndarray) -> None:
        self.add_ranked(query_ids, *in_run_order(doc_index, scores, self.tie_key))

    def add_ranked(self, query_ids, doc_index: np.ndarray, scores: np.ndarray) -> None:
        """Rows already in trec_eval order, padding (-1) last: written without sorting."""
        valid = np.asarray(doc_index) >= 0
        per_query = valid.sum(axis=1)
        self._out.write(
            {
                "query_id": as_string_array(query_ids).take(
                    pa.array(np.repeat(np.arange(len(per_query)), per_query))
                ),
                "doc_id": self.doc_ids.take(pa.array(doc_index[valid])),
                "rank": np.cumsum(valid, axis=1)[valid].astype(np.int32),
                "score": np.asarray(scores, dtype=np.float64)[valid],
            }
        )

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._out.__exit__(exc_type, exc, tb)


def export_trec_run(run_path: str | Path, trec_path: str | Path, tag: str) -> pd.DataFrame:
    """The Parquet run a retrieval job streamed to `run_path`, also written as a TREC run;
    returned for the job's log line."""
    run = read_table(run_path, RUN)
    write_trec_run(run, trec_path, tag=tag)
    return run


def write_trec_run(run: pd.DataFrame, path: str | Path, tag: str) -> None:
    """TREC run export (`qid Q0 docid rank score tag`), scores at full precision so ties survive."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        {
            "query_id": run["query_id"],
            "q0": "Q0",
            "doc_id": run["doc_id"],
            "rank": run["rank"],
            "score": run["score"].astype(np.float64),
            "tag": tag,
        }
    )
    tmp = _tmp_path(path)
    frame.to_csv(tmp, sep=" ", header=False, index=False, float_format="%.17g")
    tmp.replace(path)
