"""Line-numbered reading of (optionally gzipped) text files, with a byte progress bar.

Every text input is UTF-8 with an optional byte-order mark, which is dropped: left in, a BOM
becomes part of the first id (an MS MARCO collection.tsv saved by some editors starts with one).
A first row that names its columns (`query-id corpus-id score`, `id text`...) is a header: it is
skipped and said so in the log, never read as a record.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from ..errors import DataError

BOM = "\ufeff"
# A header's first column is one of these and its last one of HEADER_LAST (lower case).
HEADER_FIRST = {"id", "_id", "qid", "pid", "docid", "doc_id", "doc-id", "query_id", "query-id"}
HEADER_FIRST |= {"queryid", "topic", "corpus-id", "corpus_id"}
HEADER_LAST = {"text", "contents", "body", "passage", "query", "title", "score", "relevance"}
HEADER_LAST |= {"rel", "label", "grade", "judgment"}

log = logging.getLogger(__name__)


def is_header(path, number: int, fields: list[str]) -> bool:
    """True (and logged) for a first row whose first and last fields are column names."""
    if number != 1 or not fields:
        return False
    header = fields[0].lower() in HEADER_FIRST and fields[-1].strip().lower() in HEADER_LAST
    if header:
        log.info("%s:1: header row skipped (%s)", path, " ".join(fields))
    return header


def open_binary(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def peek(path: Path, size: int = 4096) -> str:
    """The start of a (possibly gzipped) text file, to tell formats apart."""
    with open_binary(path) as handle:
        return handle.read(size).decode("utf-8", errors="replace").removeprefix(BOM)


def numbered_lines(path: str | Path, progress: bool = True) -> Iterator[tuple[int, str]]:
    """Yield (line number from 1, line without its newline); undecodable UTF-8 names its line."""
    path = Path(path)
    size = path.stat().st_size
    bar = tqdm(
        total=size, unit="B", unit_scale=True, desc=path.name, disable=not progress or size < 2**24
    )
    with open_binary(path) as handle, bar:
        for number, raw in enumerate(handle, start=1):
            bar.update(len(raw))
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataError(f"{path}:{number}", f"not valid UTF-8 ({err.reason})") from None
            if number == 1:
                line = line.removeprefix(BOM)
            yield number, line.rstrip("\r\n")


def tsv_rows(path: str | Path, columns: tuple[int, ...]) -> Iterator[tuple[int, list[str]]]:
    """Tab-separated rows with one of the allowed column counts; blank lines are skipped."""
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        fields = line.split("\t")
        if is_header(path, number, fields):
            continue
        if len(fields) not in columns:
            allowed = " or ".join(str(c) for c in columns)
            raise DataError(
                f"{path}:{number}", f"expected {allowed} tab-separated columns, found {len(fields)}"
            )
        yield number, fields


def jsonl_rows(path: str | Path) -> Iterator[tuple[int, dict]]:
    """One JSON object per line; blank lines are skipped."""
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{number}", f"malformed JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{number}", "expected a JSON object")
        yield number, row
