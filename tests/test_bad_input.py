"""Bad input is refused with an error naming the file and line to fix, never silently dropped."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from irrepro import datasets
from irrepro.datasets import writer
from irrepro.errors import ConfigError, DataError


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def jsonl(rows: list) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def spec_for(root: Path, fmt: str, **extra) -> dict:
    return {"source": "local", "format": fmt, "path": str(root), **extra}


def prepare(tmp_path: Path, spec: dict) -> dict:
    out = tmp_path / "out"
    splits = datasets.split_names(spec)
    return datasets.prepare(
        spec,
        str(out / "corpus.parquet"),
        {s: str(out / f"queries.{s}.parquet") for s in splits},
        {s: str(out / f"qrels.{s}.parquet") for s in splits},
        str(out / "manifest.json"),
    )


def data_error(tmp_path: Path, spec: dict, path: Path, line: int) -> str:
    """Run the conversion, expect a DataError located at path:line; return its reason."""
    with pytest.raises(DataError) as caught:
        prepare(tmp_path, spec)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert caught.value.where == f"{path}:{line}"
    return caught.value.reason


def msmarco(root: Path, collection=None, queries=None, qrels=None) -> dict:
    """A valid MS MARCO-layout folder with one split `dev`; any file may be replaced."""
    write(root / "collection.tsv", collection or "d1\tcats purr\nd2\tdogs bark\nd3\tfish swim\n")
    write(root / "queries.dev.tsv", queries or "q1\tcats\nq2\tdogs\n")
    write(root / "qrels.dev.tsv", qrels or "q1 0 d1 1\nq2 0 d2 1\n")
    return spec_for(root, "msmarco")


def beir(root: Path, corpus=None, queries=None, qrels=None) -> dict:
    """A valid BEIR-layout folder with one split `test`; any file may be replaced."""
    write(
        root / "corpus.jsonl",
        corpus or jsonl([{"_id": "d1", "text": "a"}, {"_id": "d2", "text": "b"}]),
    )
    write(
        root / "queries.jsonl",
        queries or jsonl([{"_id": "q1", "text": "x"}, {"_id": "q2", "text": "y"}]),
    )
    write(
        root / "qrels" / "test.tsv", qrels or "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n"
    )
    return spec_for(root, "beir")


def trec(root: Path, corpus=None, topics=None, qrels=None) -> dict:
    """A valid TREC-layout folder (SGML corpus, classic topics) with one split `test`."""
    write(
        root / "corpus.trec",
        corpus
        or "<DOC>\n<DOCNO> D1 </DOCNO>\n<TEXT>\none\n</TEXT>\n</DOC>\n"
        "<DOC>\n<DOCNO> D2 </DOCNO>\ntwo\n</DOC>\n",
    )
    write(root / "topics.txt", topics or "<top>\n<num> Number: 1\n<title> one\n</top>\n")
    write(root / "qrels.txt", qrels or "1 0 D1 1\n")
    return spec_for(root, "trec")


def test_valid_fixtures_convert(tmp_path):
    """The fixtures below differ from these only by the defect under test."""
    for name, build in [("m", msmarco), ("b", beir), ("t", trec)]:
        manifest = prepare(tmp_path / name, build(tmp_path / name / "data"))
        assert manifest["corpus"]["documents"] >= 2


# --------------------------------------------------------------------------- malformed rows


def test_tsv_row_with_wrong_column_count(tmp_path):
    root = tmp_path / "m"
    spec = msmarco(root, collection="d1\tone\nd2\ttwo\nd3\tthree\tfour\tfive\n")
    reason = data_error(tmp_path, spec, root / "collection.tsv", 3)
    assert reason == "expected 2 or 3 tab-separated columns, found 4"


def test_query_tsv_row_with_wrong_column_count(tmp_path):
    root = tmp_path / "m"
    spec = msmarco(root, queries="q1\tcats\n\nq2\tdogs\textra\n")
    reason = data_error(tmp_path, spec, root / "queries.dev.tsv", 3)
    assert reason == "expected 2 tab-separated columns, found 3"


def test_malformed_json_line(tmp_path):
    root = tmp_path / "b"
    spec = beir(root, corpus='{"_id": "d1", "text": "a"}\n{"_id": "d2", "text": \n')
    reason = data_error(tmp_path, spec, root / "corpus.jsonl", 2)
    assert reason.startswith("malformed JSON")


def test_json_line_that_is_not_an_object(tmp_path):
    root = tmp_path / "b"
    spec = beir(root, queries=jsonl([{"_id": "q1", "text": "x"}, ["q2", "y"]]))
    reason = data_error(tmp_path, spec, root / "queries.jsonl", 2)
    assert reason == "expected a JSON object"


@pytest.mark.parametrize("row", [{"_id": "d3", "title": "no text"}, {"text": "no id"}])
def test_json_document_without_id_or_text(tmp_path, row):
    root = tmp_path / "b"
    corpus = jsonl([{"_id": "d1", "text": "a"}, {"_id": "d2", "text": "b"}, row])
    reason = data_error(tmp_path, beir(root, corpus=corpus), root / "corpus.jsonl", 3)
    assert reason.startswith("a document needs an id")


def test_json_query_without_text(tmp_path):
    root = tmp_path / "b"
    spec = beir(root, queries=jsonl([{"_id": "q1", "text": "x"}, {"_id": "q2", "txt": "y"}]))
    reason = data_error(tmp_path, spec, root / "queries.jsonl", 2)
    assert reason.startswith("a query needs an id")


# --------------------------------------------------------------------------- ids and texts


def test_duplicate_doc_id_names_both_lines(tmp_path):
    root = tmp_path / "m"
    spec = msmarco(root, collection="d1\tone\nd2\ttwo\nd3\tthree\nd2\tagain\n")
    reason = data_error(tmp_path, spec, root / "collection.tsv", 4)
    assert reason == f"duplicate doc_id 'd2' (first at {root / 'collection.tsv'}:2)"
    assert not (tmp_path / "out" / "corpus.parquet").exists()


def test_duplicate_doc_id_across_files_of_a_docs_folder(tmp_path):
    root = tmp_path / "t"
    spec = trec(root)
    (root / "corpus.trec").unlink()
    write(root / "docs" / "a", "<DOC><DOCNO>D1</DOCNO>one</DOC>\n<DOC><DOCNO>D2</DOCNO>x</DOC>\n")
    write(root / "docs" / "b", "\n<DOC>\n<DOCNO>D2</DOCNO>\ntwo\n</DOC>\n")
    reason = data_error(tmp_path, spec, root / "docs" / "b", 2)
    assert reason == f"duplicate doc_id 'D2' (first at {root / 'docs' / 'a'}:2)"


def test_duplicate_doc_id_across_write_batches(tmp_path):
    records = [writer.TextRecord(f"d{i % 5}", "text", "src.tsv", i + 1) for i in range(7)]
    with pytest.raises(DataError) as caught:
        writer.write_corpus(records, tmp_path / "corpus.parquet", batch_size=2)
    assert str(caught.value) == "src.tsv:6: duplicate doc_id 'd0' (first at src.tsv:1)"


def test_duplicate_query_id(tmp_path):
    root = tmp_path / "m"
    spec = msmarco(root, queries="q1\tcats\nq2\tdogs\nq1\tcats again\n")
    reason = data_error(tmp_path, spec, root / "queries.dev.tsv", 3)
    assert reason == f"duplicate query_id 'q1' (first at {root / 'queries.dev.tsv'}:1)"


def test_duplicate_judgment(tmp_path):
    root = tmp_path / "m"
    spec = msmarco(root, qrels="q1 0 d1 1\nq2 0 d2 1\nq1 0 d1 0\n")
    reason = data_error(tmp_path, spec, root / "qrels.dev.tsv", 3)
    assert (
        reason
        == f"duplicate judgment for query/doc 'q1 / d1' (first at {root / 'qrels.dev.tsv'}:1)"
    )


def test_empty_query(tmp_path):
    root = tmp_path / "m"
    spec = msmarco(root, queries="q1\tcats\nq2\t   \n")
    reason = data_error(tmp_path, spec, root / "queries.dev.tsv", 2)
    assert reason == "query 'q2' is empty"


def test_empty_trec_topic_title(tmp_path):
    root = tmp_path / "t"
    topics = (
        "<top>\n<num> Number: 1\n<title> one\n</top>\n\n"
        "<top>\n<num> Number: 2\n<title>\n<desc> Description: only a description\n</top>\n"
    )
    spec = trec(root, topics=topics, qrels="1 0 D1 1\n2 0 D2 1\n")
    reason = data_error(tmp_path, spec, root / "topics.txt", 6)
    assert reason == "query '2' is empty"


@pytest.mark.parametrize(
    ("file", "content", "line", "reason"),
    [
        ("collection.tsv", "d1\tone\nd 2\ttwo\n", 2, "doc_id 'd 2' contains whitespace"),
        (
            "queries.dev.tsv",
            "q1\tcats\nq\u00a02\tdogs\n",
            2,
            "query_id 'q\\xa02' contains whitespace",
        ),
        ("collection.tsv", "d1\tone\n\ttwo\n", 2, "empty doc_id"),
    ],
)
def test_id_with_whitespace_or_empty(tmp_path, file, content, line, reason):
    root = tmp_path / "m"
    spec = msmarco(root, **{"collection" if file == "collection.tsv" else "queries": content})
    assert data_error(tmp_path, spec, root / file, line) == reason


def test_json_id_with_whitespace(tmp_path):
    root = tmp_path / "b"
    spec = beir(root, corpus=jsonl([{"_id": "d1", "text": "a"}, {"_id": "d 2", "text": "b"}]))
    assert (
        data_error(tmp_path, spec, root / "corpus.jsonl", 2) == "doc_id 'd 2' contains whitespace"
    )


# --------------------------------------------------------------------------- qrels


@pytest.mark.parametrize("value", ["high", "1.5", "nan"])
def test_non_integer_relevance(tmp_path, value):
    root = tmp_path / "b"
    spec = beir(root, qrels=f"query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t{value}\n")
    reason = data_error(tmp_path, spec, root / "qrels" / "test.tsv", 3)
    assert reason == f"relevance {value!r} is not an integer"


def test_beir_header_only_skipped_on_the_first_line(tmp_path):
    root = tmp_path / "b"
    header = "query-id\tcorpus-id\tscore\n"
    spec = beir(root, qrels=f"{header}q1\td1\t1\n{header}q2\td2\t1\n")  # concatenated files
    reason = data_error(tmp_path, spec, root / "qrels" / "test.tsv", 3)
    assert reason == "relevance 'score' is not an integer"


@pytest.mark.parametrize(
    ("build", "qrels_file", "content", "columns"),
    [
        (msmarco, "qrels.dev.tsv", "q1 0 d1 1\nq2 d2 1\n", "expected 4 columns"),
        (trec, "qrels.txt", "1 0 D1 1 extra\n", "expected 4 columns"),
        (
            beir,
            "qrels/test.tsv",
            "query-id\tcorpus-id\tscore\nq1\t0\td1\t1\n",
            "expected 3 columns",
        ),
    ],
)
def test_qrels_with_wrong_column_count(tmp_path, build, qrels_file, content, columns):
    root = tmp_path / "d"
    spec = build(root, qrels=content)
    line = content.count("\n")
    assert data_error(tmp_path, spec, root / qrels_file, line).startswith(columns)


def test_qrel_to_unknown_document_is_an_error_by_default(tmp_path):
    root = tmp_path / "m"
    spec = msmarco(root, qrels="q1 0 d1 1\nq2 0 d9 1\nq2 0 d8 0\n")
    reason = data_error(tmp_path, spec, root / "qrels.dev.tsv", 2)
    assert reason.startswith("judgment of unknown document 'd9' (2 judgments name documents")
    assert "qrels_unknown_docs: keep" in reason


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("keep", [("q1", "d1", 1), ("q2", "d9", 1), ("q2", "d2", 0)]),
        ("drop", [("q1", "d1", 1), ("q2", "d2", 0)]),
    ],
)
def test_qrels_unknown_docs_policy(tmp_path, policy, expected):
    root = tmp_path / "m"
    spec = msmarco(root, qrels="q1 0 d1 1\nq2 0 d9 1\nq2 0 d2 0\n")
    spec["qrels_unknown_docs"] = policy
    manifest = prepare(tmp_path, spec)
    table = pq.read_table(tmp_path / "out" / "qrels.dev.parquet").to_pylist()
    assert [tuple(row.values()) for row in table] == expected
    assert manifest["splits"]["dev"]["judgments"] == len(expected)


def test_qrel_to_unknown_query(tmp_path):
    root = tmp_path / "m"
    spec = msmarco(root, qrels="q1 0 d1 1\nq2 0 d2 1\nq7 0 d3 1\n")
    reason = data_error(tmp_path, spec, root / "qrels.dev.tsv", 3)
    assert reason.startswith("judgment for unknown query 'q7' (1 judgments name queries")


def test_beir_qrel_to_query_missing_from_queries_file(tmp_path):
    root = tmp_path / "b"
    spec = beir(root, qrels="query-id\tcorpus-id\tscore\nq1\td1\t1\nq5\td2\t1\n")
    reason = data_error(tmp_path, spec, root / "qrels" / "test.tsv", 3)
    assert reason.startswith("judgment for unknown query 'q5'")


def test_beir_qrels_naming_only_queries_missing_from_queries_file(tmp_path):
    root = tmp_path / "b"
    spec = beir(root, qrels="query-id\tcorpus-id\tscore\nQ-1\td1\t1\nQ-2\td2\t1\n")
    with pytest.raises(DataError) as caught:
        prepare(tmp_path, spec)
    queries, qrels = root / "queries.jsonl", root / "qrels" / "test.tsv"
    assert str(caught.value) == f"{queries} (the queries judged in {qrels}): no queries"


def test_empty_topics_file_names_the_input(tmp_path):
    root = tmp_path / "t"
    spec = trec(root, topics="\n\n")
    with pytest.raises(DataError) as caught:
        prepare(tmp_path, spec)
    assert str(caught.value) == f"{root / 'topics.txt'}: no queries"


def test_empty_qrels_file_names_the_input(tmp_path):
    root = tmp_path / "m"
    spec = msmarco(root, qrels="\n")
    with pytest.raises(DataError) as caught:
        prepare(tmp_path, spec)
    assert str(caught.value) == f"{root / 'qrels.dev.tsv'}: no relevance judgments"


# --------------------------------------------------------------------------- TREC SGML


def test_trec_document_without_docno(tmp_path):
    root = tmp_path / "t"
    corpus = "<DOC>\n<DOCNO>D1</DOCNO>\none\n</DOC>\n\n<DOC>\n<TEXT>lost</TEXT>\n</DOC>\n"
    reason = data_error(tmp_path, trec(root, corpus=corpus), root / "corpus.trec", 6)
    assert reason == "document without <DOCNO>"


def test_trec_unclosed_doc(tmp_path):
    root = tmp_path / "t"
    corpus = "<DOC>\n<DOCNO>D1</DOCNO>\none\n</DOC>\n<DOC>\n<DOCNO>D2</DOCNO>\ntwo\n"
    reason = data_error(tmp_path, trec(root, corpus=corpus), root / "corpus.trec", 5)
    assert reason == "<DOC> is never closed"
    assert not (tmp_path / "out" / "corpus.parquet").exists()


def test_trec_doc_opened_inside_a_doc(tmp_path):
    root = tmp_path / "t"
    corpus = "<DOC>\n<DOCNO>D1</DOCNO>\none\n<DOC>\n<DOCNO>D2</DOCNO>\n</DOC>\n"
    reason = data_error(tmp_path, trec(root, corpus=corpus), root / "corpus.trec", 4)
    assert reason == "<DOC> opened before </DOC> of line 1"


def test_trec_text_outside_doc(tmp_path):
    root = tmp_path / "t"
    corpus = "<DOC>\n<DOCNO>D1</DOCNO>\none\n</DOC>\nstray text\n"
    reason = data_error(tmp_path, trec(root, corpus=corpus), root / "corpus.trec", 5)
    assert reason == "text outside a <DOC> block"


def test_trec_topic_without_num(tmp_path):
    root = tmp_path / "t"
    topics = "<top>\n<num> Number: 1\n<title> one\n</top>\n<top>\n<title> two\n</top>\n"
    reason = data_error(tmp_path, trec(root, topics=topics), root / "topics.txt", 5)
    assert reason == "topic without <num>"


# --------------------------------------------------------------------------- encoding


def test_invalid_utf8(tmp_path):
    root = tmp_path / "m"
    spec = msmarco(root)
    write(root / "collection.tsv", b"d1\tone\nd2\tcaf\xc3\xa9\nd3\tbad \xff byte\n")
    reason = data_error(tmp_path, spec, root / "collection.tsv", 3)
    assert reason.startswith("not valid UTF-8")


def test_invalid_utf8_in_gzipped_file(tmp_path):
    root = tmp_path / "m"
    spec = msmarco(root)
    (root / "queries.dev.tsv").unlink()
    write(root / "queries.dev.tsv.gz", gzip.compress(b"q1\tcats\nq2\tdo\xe9s\n"))
    reason = data_error(tmp_path, spec, root / "queries.dev.tsv.gz", 2)
    assert reason.startswith("not valid UTF-8")


def artefact_ids(tmp_path: Path, spec: dict) -> tuple:
    """(manifest, doc ids, per split query ids and judgments) of a converted folder."""
    manifest = prepare(tmp_path, spec)
    out = tmp_path / "out"
    docs = pq.read_table(out / "corpus.parquet")["doc_id"].to_pylist()
    splits = {
        name: (
            pq.read_table(out / f"queries.{name}.parquet")["query_id"].to_pylist(),
            pq.read_table(out / f"qrels.{name}.parquet").to_pylist(),
        )
        for name in manifest["splits"]
    }
    return manifest, docs, splits


LAYOUT_FILES = {
    "msmarco": (msmarco, ["collection.tsv", "queries.dev.tsv", "qrels.dev.tsv"]),
    "beir": (beir, ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv"]),
    "trec": (trec, ["corpus.trec", "topics.txt", "qrels.txt"]),
}


@pytest.mark.parametrize(
    ("fmt", "file"), [(fmt, file) for fmt, (_, files) in LAYOUT_FILES.items() for file in files]
)
@pytest.mark.parametrize("gzipped", [False, True])
def test_byte_order_mark_on_any_input_is_dropped(tmp_path, fmt, file, gzipped):
    """A BOM at the start of a file changes nothing: same ids, same judgments."""
    build, _ = LAYOUT_FILES[fmt]
    expected = artefact_ids(tmp_path / "plain", build(tmp_path / "plain" / "data"))
    root = tmp_path / "bom" / "data"
    spec = build(root)
    path = root / file
    data = b"\xef\xbb\xbf" + path.read_bytes()
    if gzipped:
        path.unlink()
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    write(path, data)
    if fmt == "msmarco" and file == "collection.tsv" and gzipped:
        spec["corpus"] = path.name
    assert artefact_ids(tmp_path / "bom", spec)[1:] == expected[1:]


@pytest.mark.parametrize(
    ("char", "name"),
    [("\ufeff", "U+FEFF (ZERO WIDTH NO-BREAK SPACE)"), ("\u200b", "U+200B (ZERO WIDTH SPACE)")],
)
def test_id_with_an_invisible_character_is_refused(tmp_path, char, name):
    root = tmp_path / "m"
    spec = msmarco(root, collection=f"d1\tcats purr\nd{char}2\tdogs bark\n")
    reason = data_error(tmp_path, spec, root / "collection.tsv", 2)
    assert reason == f"doc_id {'d' + char + '2'!r} contains invisible characters {name}"


# --------------------------------------------------------------------------- config problems


def test_missing_dataset_folder(tmp_path):
    spec = spec_for(tmp_path / "absent", "msmarco")
    with pytest.raises(
        ConfigError, match=re.escape(f"dataset folder {tmp_path / 'absent'} does not exist")
    ):
        datasets.split_names(spec)
    with pytest.raises(ConfigError, match="does not exist"):
        prepare(tmp_path, spec)


def test_missing_path_key(tmp_path):
    with pytest.raises(ConfigError, match="`path`"):
        datasets.split_names({"source": "local", "format": "beir"})


def test_unknown_format(tmp_path):
    spec = msmarco(tmp_path / "m")
    spec["format"] = "csv"
    with pytest.raises(ConfigError, match="format must be one of msmarco, beir, trec, not 'csv'"):
        datasets.split_names(spec)


def test_unknown_source():
    with pytest.raises(ConfigError, match="not 'hf'"):
        datasets.split_names({"source": "hf"})


@pytest.mark.parametrize("fmt", ["msmarco", "beir", "trec"])
def test_folder_without_split_files(tmp_path, fmt):
    root = tmp_path / "empty"
    write(root / "collection.tsv", "d1\tone\n")
    write(root / "corpus.jsonl", jsonl([{"_id": "d1", "text": "one"}]))
    write(root / "queries.dev.tsv", "q1\tno qrels next to me\n")  # a query file alone is no split
    write(root / "topics.txt", "<top>\n<num> 1\n<title> x\n</top>\n")
    with pytest.raises(
        ConfigError, match=re.escape(f"no query/qrels files found in {root} for the {fmt} layout")
    ):
        datasets.split_names(spec_for(root, fmt))


@pytest.mark.parametrize(
    ("build", "stray", "why"),
    [
        (msmarco, "queries.test.tsv.bak", "not named like a split's file"),
        (msmarco, "qrels.dev.tsv~", "not named like a split's file"),
        (msmarco, "queries.test.tsv", "no qrels file for split 'test' (qrels.test.tsv)"),
        (msmarco, "qrels.tset.tsv", "no queries file for split 'tset'"),
        (beir, "qrels/test.tsv.bak", "not named like a split's file"),
        (trec, "topics.dl20.txt", "no qrels file for split 'dl20' (qrels.dl20.txt)"),
    ],
)
def test_split_files_match_exact_names_and_the_rest_are_named(tmp_path, caplog, build, stray, why):
    root = tmp_path / "data"
    spec = build(root)
    expected = datasets.split_names(spec)
    write(root / stray, "q9\tstray\n")
    assert datasets.split_names(spec) == expected
    assert any(str(root / stray) in m and why in m for m in caplog.messages), caplog.messages
    manifest = prepare(tmp_path, spec)
    assert manifest["unused_files"][str(root / stray)].startswith(why)


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "x..y"])
def test_split_name_is_never_a_path(tmp_path, name):
    root = tmp_path / "m"
    spec = msmarco(root)
    spec["split_files"] = {name: {"queries": "queries.dev.tsv", "qrels": "qrels.dev.tsv"}}
    with pytest.raises(ConfigError, match=re.escape(f"split name {name!r} must be letters")):
        datasets.split_names(spec)


def test_folder_without_corpus(tmp_path):
    root = tmp_path / "m"
    msmarco(root)
    (root / "collection.tsv").unlink()
    with pytest.raises(ConfigError, match=re.escape(f"no corpus in {root}:")):
        datasets.source_files(spec_for(root, "msmarco"))


def test_unknown_topic_field(tmp_path):
    root = tmp_path / "t"
    spec = trec(root)
    spec["topic_field"] = "summary"
    with pytest.raises(ConfigError, match="topic_field must be one of"):
        prepare(tmp_path, spec)


# --------------------------------------------------------------------------- no partial output


def _records_failing_at(n: int, error: Exception):
    for i in range(1, 100):
        if i == n:
            raise error
        yield writer.TextRecord(f"d{i}", f"text {i}", "src", i)


@pytest.mark.parametrize(
    "error", [DataError("src:5", "boom"), RuntimeError("killed"), KeyboardInterrupt()]
)
def test_no_partial_corpus_after_a_failure_mid_stream(tmp_path, error):
    out = tmp_path / "out"
    with pytest.raises(type(error)):
        writer.write_corpus(_records_failing_at(5, error), out / "corpus.parquet", batch_size=2)
    assert list(out.iterdir()) == []  # neither the artefact nor its temporary file


def test_no_partial_corpus_after_a_bad_record(tmp_path):
    records = [writer.TextRecord(f"d{i}", "t", "src", i) for i in range(1, 6)]
    records.append(writer.TextRecord("bad id", "t", "src", 6))
    with pytest.raises(DataError, match="^src:6: "):
        writer.write_corpus(records, tmp_path / "corpus.parquet", batch_size=2)
    assert list(tmp_path.iterdir()) == []


def test_no_corpus_after_a_duplicate_or_an_empty_corpus(tmp_path):
    dup = [writer.TextRecord(i, "t", "src", n) for n, i in enumerate(["a", "b", "a"], 1)]
    with pytest.raises(DataError, match="^src:3: duplicate"):
        writer.write_corpus(dup, tmp_path / "corpus.parquet", batch_size=1)
    with pytest.raises(DataError, match="the corpus is empty"):
        writer.write_corpus([], tmp_path / "corpus.parquet")
    assert list(tmp_path.iterdir()) == []


def test_successful_write_leaves_only_the_artefact(tmp_path):
    records = [writer.TextRecord(f"d{i}", "t", "src", i) for i in range(5)]
    assert writer.write_corpus(records, tmp_path / "corpus.parquet", batch_size=2) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["corpus.parquet"]


@pytest.mark.parametrize(
    ("fmt", "file", "header"),
    [
        ("msmarco", "collection.tsv", "id\ttext\n"),
        ("msmarco", "queries.dev.tsv", "qid\tquery\n"),
        ("msmarco", "qrels.dev.tsv", "query_id iteration doc_id relevance\n"),
        ("beir", "qrels/test.tsv", "query_id\tdoc_id\trelevance\n"),
        ("trec", "qrels.txt", "topic iter docno rel\n"),
    ],
)
def test_a_header_row_is_skipped_not_read_as_a_record(tmp_path, fmt, file, header, caplog):
    """The usual column names on the first line: the same ids and judgments as without them."""
    build, _ = LAYOUT_FILES[fmt]
    expected = artefact_ids(tmp_path / "plain", build(tmp_path / "plain" / "data"))
    root = tmp_path / "header" / "data"
    spec = build(root)
    path = root / file
    rows = path.read_text()
    if fmt == "beir":  # replace BEIR's own header
        rows = rows.split("\n", 1)[1]
    write(path, header + rows)
    with caplog.at_level("INFO"):
        assert artefact_ids(tmp_path / "header", spec)[1:] == expected[1:]
    assert f"{path}:1: header row skipped" in caplog.text


def test_a_first_record_whose_text_is_no_column_name_is_kept(tmp_path):
    """A document with id `id` is a record: a header has column names first and last."""
    collection = "id\tcats purr\nd1\tx\nd2\tdogs bark\n"
    spec = msmarco(tmp_path / "m", collection=collection)
    assert artefact_ids(tmp_path, spec)[1] == ["id", "d1", "d2"]


def test_empty_documents_are_kept_and_counted_by_id_and_line(tmp_path, caplog):
    root = tmp_path / "m"
    spec = msmarco(root, collection="d1\tcats purr\nd2\t \nd3\t\n")
    with caplog.at_level("WARNING"):
        manifest = prepare(tmp_path, spec)
    collection = root / "collection.tsv"
    assert manifest["corpus"]["documents"] == 3
    assert manifest["counted"] == {
        "documents with empty text": {
            "count": 2,
            "examples": [f"d2 ({collection}:2)", f"d3 ({collection}:3)"],
        }
    }
    assert f"2 documents with empty text: d2 ({collection}:2)" in caplog.text
