"""Stored per-query artefacts (query vectors, query term weights) beside a model's passages:
where a split's file is and which of its rows hold some queries; and the rows of documents in
a corpus. It imports nothing heavy: the jobs that read them are meant to start fast."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

QUERY_INPUT = "queries_"


def stored_queries_path(directory: str | Path, split: str) -> Path:
    """The file an encoding or indexing job writes a split's queries to, in its output folder."""
    return Path(directory) / f"queries-{split}.parquet"


def rows_of_queries(path: str | Path, stored_ids: list[str], query_ids, what: str) -> list[int]:
    """Rows of a file whose query_id column is `stored_ids` holding `query_ids`, in the order
    asked; a query the file lacks is an error naming the file (another split's queries, or a
    file written before they changed)."""
    stored = {query_id: row for row, query_id in enumerate(stored_ids)}
    wanted = [str(query_id) for query_id in query_ids]
    missing = [query_id for query_id in wanted if query_id not in stored]
    if missing:
        raise DataError(str(path), f"no {what} for {len(missing)} queries (e.g. {missing[:3]})")
    return [stored[query_id] for query_id in wanted]


def query_inputs(queries: dict[str, str]) -> dict[str, str]:
    """{split: queries file} as the named inputs (`queries_<split>`) of a job that stores the
    queries' encodings without an encoding job's `query_splits` param (a training job)."""
    return {f"{QUERY_INPUT}{split}": path for split, path in queries.items()}


def query_files(inputs: dict) -> dict[str, str]:
    """{split: queries file} back from a job's named inputs (query_inputs)."""
    prefix = len(QUERY_INPUT)
    return {name[prefix:]: path for name, path in inputs.items() if name.startswith(QUERY_INPUT)}


def row_lookup(doc_ids):
    """rows(ids) -> positions of `ids` in `doc_ids`; a KeyError names unknown ones."""
    index = pd.Index(doc_ids)

    def rows(ids) -> np.ndarray:
        found = index.get_indexer(list(ids))
        if (found < 0).any():
            missing = [d for d, r in zip(ids, found, strict=True) if r < 0][:3]
            raise KeyError(f"documents not in the corpus: {missing}")
        return found

    return rows
