"""Turn parsed records into the corpus/queries/qrels artefacts, refusing bad input loudly.

Every reader yields records that carry the file and line they came from, so that a malformed
row, a duplicate id, an empty query or a judgment of an unknown document is reported as
`file:line: reason` instead of being dropped. The corpus is streamed in batches: only its ids
(not its text) are held in memory, for the duplicate and qrels checks.
"""

from __future__ import annotations

import logging
import unicodedata
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..artefacts import CORPUS, QRELS, QUERIES, ParquetStreamWriter, write_table
from ..errors import DataError
from ..logs import Tally

log = logging.getLogger(__name__)
EMPTY_DOCUMENTS = "documents with empty text"


class TextRecord(NamedTuple):
    """A document or query: its id, its text, and where it was read."""

    id: str
    text: str
    file: str
    line: int


class QrelRecord(NamedTuple):
    query_id: str
    doc_id: str
    relevance: int
    file: str
    line: int


def normalise_text(text: str) -> str:
    """Collapse runs of whitespace (newlines and tabs included) into single spaces."""
    return " ".join(text.split())


def check_id(value: str, kind: str, file: str, line: int) -> str:
    """IDs must be non-empty and free of whitespace so that TREC files can carry them, and of
    invisible format characters (U+FEFF, U+200B...), which would make '0' and '\ufeff0' two
    ids that print alike."""
    value = str(value).strip()
    if not value:
        raise DataError(f"{file}:{line}", f"empty {kind}")
    if any(ch.isspace() for ch in value):
        raise DataError(f"{file}:{line}", f"{kind} {value!r} contains whitespace")
    invisible = sorted({ch for ch in value if unicodedata.category(ch) == "Cf"})
    if invisible:
        names = ", ".join(f"U+{ord(c):04X} ({unicodedata.name(c, 'unnamed')})" for c in invisible)
        raise DataError(f"{file}:{line}", f"{kind} {value!r} contains invisible characters {names}")
    return value


class _Origins:
    """Compact (file, line) per written row, to point at a duplicate after the fact."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self._file_index: dict[str, int] = {}
        self.file_of = array("i")
        self.line_of = array("q")

    def add(self, file: str, line: int) -> None:
        index = self._file_index.setdefault(file, len(self.files))
        if index == len(self.files):
            self.files.append(file)
        self.file_of.append(index)
        self.line_of.append(line)

    def where(self, row: int) -> str:
        return f"{self.files[self.file_of[row]]}:{self.line_of[row]}"


def _raise_first_duplicate(keys: pd.DataFrame, origins: _Origins, kind: str) -> None:
    duplicated = keys.duplicated(keep="first")
    if not duplicated.any():
        return
    row = int(duplicated.to_numpy().nonzero()[0][0])
    match = (keys == keys.iloc[row]).all(axis=1).to_numpy().nonzero()[0]
    value = " / ".join(str(v) for v in keys.iloc[row])
    raise DataError(
        origins.where(row), f"duplicate {kind} {value!r} (first at {origins.where(match[0])})"
    )


def write_corpus(
    records: Iterable[TextRecord],
    path: str | Path,
    batch_size: int = 50_000,
    empty: Tally | None = None,
) -> int:
    """Stream documents to `path`; returns the number written. Empty documents are kept, and
    counted in `empty` (id and file:line)."""
    origins = _Origins()
    empty = empty if empty is not None else Tally(EMPTY_DOCUMENTS)
    with ParquetStreamWriter(path, CORPUS) as out:
        for batch in _batched(records, batch_size):
            ids, texts = [], []
            for record in batch:
                ids.append(check_id(record.id, "doc_id", record.file, record.line))
                text = normalise_text(record.text)
                if not text:
                    empty.add(f"{record.id} ({record.file}:{record.line})")
                texts.append(text)
                origins.add(record.file, record.line)
            out.write({"doc_id": ids, "text": texts})
    ids = pq.read_table(path, columns=["doc_id"]).column("doc_id").to_pandas()
    try:
        _raise_first_duplicate(ids.to_frame(), origins, "doc_id")
    except DataError:
        Path(path).unlink(missing_ok=True)
        raise
    if len(ids) == 0:
        Path(path).unlink(missing_ok=True)
        raise DataError(origins.files[0] if origins.files else str(path), "the corpus is empty")
    empty.report(log)
    log.info("corpus: %d documents -> %s", len(ids), path)
    return len(ids)


def write_queries(
    records: Iterable[TextRecord], path: str | Path, source: str | None = None
) -> pd.DataFrame:
    """Write a split's queries; an empty query or a repeated id is an error.

    `source` (the input the records come from) is what an error for no queries at all names.
    """
    origins = _Origins()
    ids, texts = [], []
    for record in records:
        ids.append(check_id(record.id, "query_id", record.file, record.line))
        text = normalise_text(record.text)
        if not text:
            raise DataError(f"{record.file}:{record.line}", f"query {ids[-1]!r} is empty")
        texts.append(text)
        origins.add(record.file, record.line)
    queries = pd.DataFrame({"query_id": ids, "text": texts})
    if queries.empty:
        raise DataError(source or str(path), "no queries")
    _raise_first_duplicate(queries[["query_id"]], origins, "query_id")
    write_table(queries, path, QUERIES)
    return queries


UNKNOWN_DOC_POLICIES = ("error", "keep", "drop")


def write_qrels(
    records: Iterable[QrelRecord],
    path: str | Path,
    corpus_ids: pa.Array,
    query_ids: Iterable[str],
    unknown_docs: str = "error",
    source: str | None = None,
) -> pd.DataFrame:
    """Write a split's judgments after checking every query and document they name exists.

    A judgment of a document missing from the corpus is an error unless the config says
    otherwise: `keep` counts it as relevant but unretrievable (what trec_eval does with such a
    qrels file), `drop` removes it; both log how many there were.
    """
    if unknown_docs not in UNKNOWN_DOC_POLICIES:
        raise ValueError(f"unknown_docs must be one of {UNKNOWN_DOC_POLICIES}")
    origins = _Origins()
    rows = []
    for record in records:
        rows.append(
            (
                check_id(record.query_id, "query_id", record.file, record.line),
                check_id(record.doc_id, "doc_id", record.file, record.line),
                int(record.relevance),
            )
        )
        origins.add(record.file, record.line)
    qrels = pd.DataFrame(rows, columns=["query_id", "doc_id", "relevance"])
    if qrels.empty:
        raise DataError(source or str(path), "no relevance judgments")
    _raise_first_duplicate(qrels[["query_id", "doc_id"]], origins, "judgment for query/doc")
    known_queries = set(query_ids)
    unknown_query = ~qrels["query_id"].isin(known_queries).to_numpy()
    if unknown_query.any():
        row = int(unknown_query.nonzero()[0][0])
        raise DataError(
            origins.where(row),
            f"judgment for unknown query {qrels.query_id[row]!r} "
            f"({int(unknown_query.sum())} judgments name queries that are not in the topics)",
        )
    unknown_doc = ~pc.is_in(pa.array(qrels["doc_id"]), value_set=corpus_ids).to_numpy(
        zero_copy_only=False
    )
    if unknown_doc.any():
        row = int(unknown_doc.nonzero()[0][0])
        count = int(unknown_doc.sum())
        message = (
            f"judgment of unknown document {qrels.doc_id[row]!r} "
            f"({count} judgments name documents not in the corpus)"
        )
        if unknown_docs == "error":
            raise DataError(
                origins.where(row),
                message + "; set the dataset's `qrels_unknown_docs: keep` to count them as "
                "relevant but unretrievable (as trec_eval does), or `drop` to remove them",
            )
        log.warning(
            "%s: %s; %s them",
            origins.where(row),
            message,
            "kept" if unknown_docs == "keep" else "dropped",
        )
        if unknown_docs == "drop":
            qrels = qrels.loc[~unknown_doc].reset_index(drop=True)
    write_table(qrels, path, QRELS)
    return qrels


def read_corpus_ids(path: str | Path) -> pa.Array:
    return pq.read_table(path, columns=["doc_id"]).column("doc_id").combine_chunks()


def parse_relevance(value: str, file: str, line: int) -> int:
    try:
        return int(value)
    except ValueError:
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is not None and number.is_integer():
            return int(number)
        raise DataError(f"{file}:{line}", f"relevance {value!r} is not an integer") from None


def _batched(records: Iterable, size: int) -> Iterator[list]:
    batch = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
