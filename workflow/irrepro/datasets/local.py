"""Readers for a collection in a local folder: MS MARCO TSV, BEIR or TREC layout.

Split names come from file names so that Snakemake knows them before anything is read:
  msmarco  collection.tsv, queries.<split>.tsv + qrels.<split>.tsv
  beir     corpus.jsonl, queries.jsonl, qrels/<split>.tsv
  trec     corpus.jsonl | corpus.trec | docs/, topics[.<split>].{txt,tsv} + qrels[.<split>].txt
           (files without a split suffix form the split `test`)
`.gz` variants are read as well. A config may instead name every file itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from ..errors import ConfigError, DataError
from .textfiles import is_header, jsonl_rows, numbered_lines, peek, tsv_rows
from .writer import QrelRecord, TextRecord, check_id, parse_relevance

FORMATS = ("msmarco", "beir", "trec")


class SplitFiles(NamedTuple):
    queries: Path
    qrels: Path


def _existing(root: Path, names: list[str]) -> Path | None:
    for name in names:
        for candidate in (root / name, root / f"{name}.gz"):
            if candidate.exists():
                return candidate
    return None


def _strip_gz(name: str) -> str:
    return name[:-3] if name.endswith(".gz") else name


# --------------------------------------------------------------------------- split discovery

SPLIT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")


def check_split_name(name: str, where: str) -> str:
    """A split name becomes part of artefact paths: letters, digits, `_ - .`, never a path."""
    if not SPLIT_NAME.fullmatch(name) or ".." in name:
        raise ConfigError(
            f"{where}: split name {name!r} must be letters, digits, '_', '-' or '.' (not a path)"
        )
    return name


class Discovery(NamedTuple):
    """The splits found in a folder, and each split-like file left out with the reason."""

    splits: dict[str, SplitFiles]
    unused: dict[str, str]  # file -> why it is not part of a split


def discover_splits(fmt: str, root: Path, explicit: dict | None = None) -> Discovery:
    """Map split name -> its query and qrels files, from the config or from the folder."""
    if fmt not in FORMATS:
        raise ConfigError(f"datasets.*.format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if not root.is_dir():
        raise ConfigError(f"dataset folder {root} does not exist")
    if explicit:
        found = Discovery(
            {
                check_split_name(name, "split_files"): SplitFiles(
                    root / files["queries"], root / files["qrels"]
                )
                for name, files in explicit.items()
            },
            {},
        )
    else:
        found = {"msmarco": _msmarco_splits, "beir": _beir_splits, "trec": _trec_splits}[fmt](root)
    for name, files in found.splits.items():
        check_split_name(name, str(files.queries))
        for file in files:
            if not file.exists():
                raise ConfigError(f"split {name!r}: {file} does not exist")
    if not found.splits:
        unused = "".join(f"; {file}: {why}" for file, why in found.unused.items())
        raise ConfigError(
            f"no query/qrels files found in {root} for the {fmt} layout ({__doc__}){unused}"
        )
    return Discovery(dict(sorted(found.splits.items())), dict(sorted(found.unused.items())))


def _pair_up(queries: dict[str, Path], qrels: dict[str, Path], expected: str) -> Discovery:
    """Splits whose query and qrels files both exist; the others named as unused."""
    splits = {name: SplitFiles(queries[name], qrels[name]) for name in queries if name in qrels}
    unused = {
        str(path): f"no qrels file for split {name!r} ({expected.format(name)})"
        for name, path in queries.items()
        if name not in qrels
    }
    for name, path in qrels.items():
        if name not in queries:
            unused[str(path)] = f"no queries file for split {name!r}"
    return Discovery(splits, unused)


def _matching(root: Path, glob: str, pattern: str, unused: dict[str, str]) -> dict[str, Path]:
    """Files of `glob` whose whole name matches `pattern` (group `split`); others go to unused."""
    out = {}
    for path in sorted(root.glob(glob)):
        match = re.fullmatch(pattern, path.name)
        if match and path.is_file():
            out[match["split"] or "test"] = path
        else:
            unused[str(path)] = f"not named like a split's file ({pattern})"
    return out


def _msmarco_splits(root: Path) -> Discovery:
    unused: dict[str, str] = {}
    queries = _matching(root, "queries.*", r"queries\.(?P<split>.+)\.tsv(\.gz)?", unused)
    qrels = _matching(root, "qrels.*", r"qrels\.(?P<split>.+)\.(tsv|txt)(\.gz)?", unused)
    found = _pair_up(queries, qrels, "qrels.{}.tsv")
    return Discovery(found.splits, {**unused, **found.unused})


def _beir_splits(root: Path) -> Discovery:
    unused: dict[str, str] = {}
    qrels = _matching(root / "qrels", "*", r"(?P<split>.+)\.tsv(\.gz)?", unused)
    queries = _existing(root, ["queries.jsonl"])
    if queries is None:
        unused.update({str(path): "no queries.jsonl beside qrels/" for path in qrels.values()})
        return Discovery({}, unused)
    return Discovery({name: SplitFiles(queries, path) for name, path in qrels.items()}, unused)


def _trec_splits(root: Path) -> Discovery:
    unused: dict[str, str] = {}
    topics = _matching(root, "topics*", r"topics(\.(?P<split>[^.]+))?\.(txt|tsv)(\.gz)?", unused)
    qrels = _matching(root, "qrels*", r"qrels(\.(?P<split>[^.]+))?\.(txt|tsv)(\.gz)?", unused)
    found = _pair_up(topics, qrels, "qrels.{}.txt")
    return Discovery(found.splits, {**unused, **found.unused})


# --------------------------------------------------------------------------- corpus


def corpus_path(fmt: str, root: Path, explicit: str | None = None) -> Path:
    if explicit:
        path = root / explicit
        if not path.exists():
            raise ConfigError(f"corpus {path} does not exist")
        return path
    names = {
        "msmarco": ["collection.tsv", "corpus.tsv"],
        "beir": ["corpus.jsonl"],
        "trec": ["corpus.jsonl", "corpus.trec", "docs"],
    }[fmt]
    path = _existing(root, names)
    if path is None:
        raise ConfigError(f"no corpus in {root}: expected one of {', '.join(names)}")
    return path


def corpus_records(path: Path, join_title: bool) -> Iterator[TextRecord]:
    """Documents from a TSV, JSONL or TREC SGML file, or from every file of a folder."""
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            yield from corpus_records(file, join_title)
        return
    name = _strip_gz(path.name)
    if name.endswith(".tsv"):
        yield from _tsv_docs(path, join_title)
    elif name.endswith((".jsonl", ".json")):
        yield from _jsonl_docs(path, join_title)
    else:
        yield from _trec_docs(path)


def _join(title: str, text: str, join_title: bool) -> str:
    return f"{title} {text}" if join_title and title else text


def _tsv_docs(path: Path, join_title: bool) -> Iterator[TextRecord]:
    for line, fields in tsv_rows(path, (2, 3)):
        text = fields[-1] if len(fields) == 2 else _join(fields[1], fields[2], join_title)
        yield TextRecord(fields[0], text, str(path), line)


_ID_KEYS = ("_id", "id", "doc_id", "docid")
_TEXT_KEYS = ("text", "contents", "body")


def _jsonl_docs(path: Path, join_title: bool) -> Iterator[TextRecord]:
    for line, row in jsonl_rows(path):
        doc_id = next((row[key] for key in _ID_KEYS if key in row), None)
        text = next((row[key] for key in _TEXT_KEYS if key in row), None)
        if doc_id is None or text is None:
            raise DataError(
                f"{path}:{line}",
                f"a document needs an id ({'/'.join(_ID_KEYS)}) "
                f"and a text ({'/'.join(_TEXT_KEYS)})",
            )
        yield TextRecord(
            str(doc_id), _join(row.get("title") or "", str(text), join_title), str(path), line
        )


_TAG = re.compile(r"<[^>]*>")
_DOCNO = re.compile(r"<DOCNO>\s*(.*?)\s*</DOCNO>", re.IGNORECASE | re.DOTALL)


def _sgml_blocks(path: Path, open_tag: str, close_tag: str) -> Iterator[tuple[int, str]]:
    """Yield (line of the opening tag, block contents) for every <open_tag>...</close_tag> block."""
    start, lines = None, []
    opening = re.compile(rf"<{open_tag}>", re.IGNORECASE)
    closing = re.compile(rf"</{close_tag}>", re.IGNORECASE)
    for number, line in numbered_lines(path):
        if start is None:
            if opening.search(line):
                start, lines = number, [opening.split(line, maxsplit=1)[1]]
                if closing.search(lines[0]):
                    yield start, closing.split(lines[0], maxsplit=1)[0]
                    start = None
            elif line.strip():
                raise DataError(f"{path}:{number}", f"text outside a <{open_tag}> block")
            continue
        if opening.search(line):
            raise DataError(
                f"{path}:{number}", f"<{open_tag}> opened before </{close_tag}> of line {start}"
            )
        if closing.search(line):
            lines.append(closing.split(line, maxsplit=1)[0])
            yield start, "\n".join(lines)
            start = None
        else:
            lines.append(line)
    if start is not None:
        raise DataError(f"{path}:{start}", f"<{open_tag}> is never closed")


def _trec_docs(path: Path) -> Iterator[TextRecord]:
    for line, block in _sgml_blocks(path, "DOC", "DOC"):
        match = _DOCNO.search(block)
        if match is None:
            raise DataError(f"{path}:{line}", "document without <DOCNO>")
        body = block[: match.start()] + " " + block[match.end() :]
        yield TextRecord(match.group(1), _TAG.sub(" ", body), str(path), line)


# --------------------------------------------------------------------------- queries and qrels


def query_records(
    fmt: str, files: SplitFiles, topic_field: str = "title", only: set[str] | None = None
) -> Iterator[TextRecord]:
    """A split's queries; `only` keeps the ids judged in the split (BEIR's shared queries file).

    A topics file is TSV when named so or when it does not start with a tag.
    """
    name = _strip_gz(files.queries.name)
    if name.endswith((".jsonl", ".json")):
        records = _jsonl_queries(files.queries)
    elif name.endswith(".tsv") or not peek(files.queries).lstrip().startswith("<"):
        records = (
            TextRecord(fields[0], fields[1], str(files.queries), line)
            for line, fields in tsv_rows(files.queries, (2,))
        )
    else:
        records = _trec_topics(files.queries, topic_field)
    for record in records:
        if only is None or record.id in only:
            yield record


def _jsonl_queries(path: Path) -> Iterator[TextRecord]:
    for line, row in jsonl_rows(path):
        query_id = next((row[key] for key in ("_id", "id", "query_id", "qid") if key in row), None)
        text = next((row[key] for key in ("text", "query", "title") if key in row), None)
        if query_id is None or text is None:
            raise DataError(
                f"{path}:{line}", "a query needs an id (_id/id) and a text (text/query)"
            )
        yield TextRecord(str(query_id), str(text), str(path), line)


_TOPIC_FIELDS = {"title": "title", "description": "desc", "narrative": "narr"}
_TOPIC_PREFIX = re.compile(r"^\s*(Number|Topic|Description|Narrative)\s*:", re.IGNORECASE)


def _trec_topics(path: Path, field: str) -> Iterator[TextRecord]:
    """Classic TREC topics (<top><num><title><desc><narr>), or the <DOC><DOCNO> variant of CACM."""
    if field not in _TOPIC_FIELDS:
        raise ConfigError(f"topic_field must be one of {', '.join(_TOPIC_FIELDS)}, not {field!r}")
    if "<top>" not in peek(path).lower():
        for line, block in _sgml_blocks(path, "DOC", "DOC"):
            match = _DOCNO.search(block)
            if match is None:
                raise DataError(f"{path}:{line}", "topic without <DOCNO>")
            yield TextRecord(match.group(1), _TAG.sub(" ", block[match.end() :]), str(path), line)
        return
    for line, block in _sgml_blocks(path, "top", "top"):
        fields = _topic_fields(block)
        if "num" not in fields:
            raise DataError(f"{path}:{line}", "topic without <num>")
        yield TextRecord(fields["num"], fields.get(_TOPIC_FIELDS[field], ""), str(path), line)


def _topic_fields(block: str) -> dict[str, str]:
    fields = {}
    for match in re.finditer(
        r"<(num|title|desc|narr)>(.*?)(?=<(?:/?\w+)>|$)", block, re.DOTALL | re.I
    ):
        fields[match.group(1).lower()] = _TOPIC_PREFIX.sub("", match.group(2)).strip()
    return fields


def qrel_records(fmt: str, files: SplitFiles) -> Iterator[QrelRecord]:
    """Judgments: `qid iter docid rel` (TREC/MS MARCO) or BEIR's `query-id corpus-id score`."""
    path = files.qrels
    for line, text in numbered_lines(path):
        fields = text.split()
        if not fields:
            continue
        if is_header(path, line, fields):
            continue
        if fmt == "beir":
            if len(fields) != 3:
                raise DataError(
                    f"{path}:{line}",
                    f"expected 3 columns (query-id corpus-id score), found {len(fields)}",
                )
            query_id, doc_id, relevance = fields
        else:
            if len(fields) != 4:
                raise DataError(
                    f"{path}:{line}",
                    f"expected 4 columns (qid iter docid rel), found {len(fields)}",
                )
            query_id, _, doc_id, relevance = fields
        yield QrelRecord(
            check_id(query_id, "query_id", str(path), line),
            check_id(doc_id, "doc_id", str(path), line),
            parse_relevance(relevance, str(path), line),
            str(path),
            line,
        )
