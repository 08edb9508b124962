"""Local collections (MS MARCO TSV, BEIR, TREC layouts) converted end to end by `prepare`.

Every test writes its own tiny collection under tmp_path; nothing is read from elsewhere.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from irrepro import datasets
from irrepro.artefacts import CORPUS, QRELS, QUERIES
from irrepro.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def write_gz(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as handle:
        handle.write(text.encode("utf-8"))
    return path


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def local_spec(root: Path, fmt: str, **extra) -> dict:
    return {"source": "local", "format": fmt, "path": str(root), **extra}


def assert_schema(path: Path, expected) -> None:
    schema = pq.read_schema(path)
    assert [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in expected]


class Converted:
    """What `prepare` wrote, read back as plain Python values."""

    def __init__(self, spec: dict, out: Path):
        self.splits = datasets.split_names(spec)
        self.corpus_path = out / "corpus.parquet"
        queries = {s: out / f"queries.{s}.parquet" for s in self.splits}
        qrels = {s: out / f"qrels.{s}.parquet" for s in self.splits}
        self.manifest = datasets.prepare(
            spec,
            str(self.corpus_path),
            {s: str(p) for s, p in queries.items()},
            {s: str(p) for s, p in qrels.items()},
            str(out / "manifest.json"),
        )
        assert json.loads((out / "manifest.json").read_text()) == self.manifest
        assert_schema(self.corpus_path, CORPUS)
        self.corpus = _rows(self.corpus_path)
        self.queries, self.qrels = {}, {}
        for split in self.splits:
            assert_schema(queries[split], QUERIES)
            assert_schema(qrels[split], QRELS)
            self.queries[split] = _rows(queries[split])
            self.qrels[split] = _rows(qrels[split])

    @property
    def docs(self) -> dict[str, str]:
        return dict(self.corpus)


def _rows(path: Path) -> list[tuple]:
    return [tuple(row.values()) for row in pq.read_table(path).to_pylist()]


def convert(tmp_path: Path, spec: dict) -> Converted:
    return Converted(spec, tmp_path / "out")


# --------------------------------------------------------------------------- msmarco


def _msmarco_folder(root: Path, collection: str) -> None:
    write(root / "collection.tsv", collection)
    write(root / "queries.train.tsv", "100\twhat is a  cat\n101\tdog food\n")
    write(root / "qrels.train.tsv", "100\t0\t0\t1\n101\t0\t2\t1\n")
    write_gz(root / "queries.dev.tsv.gz", "200\tfish tank\n")
    write_gz(root / "qrels.dev.tsv.gz", "200 0 1 1\n")
    # queries without judgments are not a split
    write(root / "queries.eval.tsv", "300\tunjudged\n")


def test_msmarco_two_columns(tmp_path):
    root = tmp_path / "msmarco"
    _msmarco_folder(root, "0\ta cat sat\n1\tfish  swim\n\n2\tdogs bark\n")
    spec = local_spec(root, "msmarco")

    assert datasets.split_names(spec) == ["dev", "train"]
    assert datasets.source_files(spec) == sorted(
        str(root / name)
        for name in [
            "collection.tsv",
            "queries.train.tsv",
            "qrels.train.tsv",
            "queries.dev.tsv.gz",
            "qrels.dev.tsv.gz",
        ]
    )

    result = convert(tmp_path, spec)
    assert result.corpus == [("0", "a cat sat"), ("1", "fish swim"), ("2", "dogs bark")]
    assert result.queries["train"] == [("100", "what is a cat"), ("101", "dog food")]
    assert result.queries["dev"] == [("200", "fish tank")]
    assert result.qrels["train"] == [("100", "0", 1), ("101", "2", 1)]
    assert result.qrels["dev"] == [("200", "1", 1)]
    assert result.manifest["corpus"] == {"file": str(root / "collection.tsv"), "documents": 3}
    assert result.manifest["splits"]["train"]["queries"] == 2
    assert result.manifest["splits"]["train"]["judgments"] == 2
    assert result.manifest["splits"]["dev"]["relevance_grades"] == {"1": 1}


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("join", ["The Cat a cat sat", "fish swim", "Dogs dogs bark"]),
        ("drop", ["a cat sat", "fish swim", "dogs bark"]),
    ],
)
def test_msmarco_three_columns_title(tmp_path, title, expected):
    root = tmp_path / "msmarco"
    _msmarco_folder(root, "0\tThe Cat\ta cat sat\n1\t\tfish swim\n2\tDogs\tdogs bark\n")
    result = convert(tmp_path, local_spec(root, "msmarco", title=title))
    assert result.corpus == list(zip(["0", "1", "2"], expected, strict=True))


def test_msmarco_title_defaults_to_join(tmp_path):
    root = tmp_path / "msmarco"
    _msmarco_folder(root, "0\tThe Cat\ta cat sat\n1\tFish\tfish swim\n2\tDogs\tdogs bark\n")
    assert convert(tmp_path, local_spec(root, "msmarco")).docs["0"] == "The Cat a cat sat"


def test_msmarco_gzipped_collection_and_txt_qrels(tmp_path):
    root = tmp_path / "msmarco"
    write_gz(root / "collection.tsv.gz", "7\tseven\n8\teight\n")
    write(root / "queries.test.tsv", "1\tnumber seven\n")
    write(root / "qrels.test.txt", "1 Q0 7 2\n1 Q0 8 0\n")
    spec = local_spec(root, "msmarco")
    assert datasets.source_files(spec) == sorted(
        str(root / n) for n in ["collection.tsv.gz", "queries.test.tsv", "qrels.test.txt"]
    )
    result = convert(tmp_path, spec)
    assert result.corpus == [("7", "seven"), ("8", "eight")]
    assert result.qrels["test"] == [("1", "7", 2), ("1", "8", 0)]
    assert result.manifest["splits"]["test"]["relevance_grades"] == {"0": 1, "2": 1}


def test_msmarco_corpus_tsv_name_and_crlf(tmp_path):
    root = tmp_path / "msmarco"
    write(root / "corpus.tsv", "d1\tfirst line\r\nd2\tsecond\r\n")
    write(root / "queries.dev.tsv", "q1\tfirst\r\n")
    write(root / "qrels.dev.tsv", "q1\t0\td1\t1\r\n")
    result = convert(tmp_path, local_spec(root, "msmarco"))
    assert result.corpus == [("d1", "first line"), ("d2", "second")]
    assert result.queries["dev"] == [("q1", "first")]
    assert result.qrels["dev"] == [("q1", "d1", 1)]


# --------------------------------------------------------------------------- beir

BEIR_CORPUS = [
    {"_id": "d1", "title": "Cats", "text": "cats purr"},
    {"_id": "d2", "title": "", "text": "dogs bark"},
    {"_id": 3, "title": "Fish", "text": "fish swim", "metadata": {}},
]
BEIR_QUERIES = [
    {"_id": "q1", "text": "do cats purr"},
    {"_id": "q2", "text": "why do dogs bark"},
    {"_id": "q3", "text": "fish"},
    {"_id": "q4", "text": "never judged"},
]


def _beir_folder(root: Path, gz: bool = False) -> None:
    put = write_gz if gz else write
    suffix = ".gz" if gz else ""
    put(root / f"corpus.jsonl{suffix}", jsonl(BEIR_CORPUS))
    put(root / f"queries.jsonl{suffix}", jsonl(BEIR_QUERIES))
    put(root / "qrels" / f"test.tsv{suffix}", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\n")
    put(root / "qrels" / f"dev.tsv{suffix}", "query-id\tcorpus-id\tscore\nq3\t3\t1\n")


@pytest.mark.parametrize("gz", [False, True])
def test_beir(tmp_path, gz):
    root = tmp_path / "scifact"
    _beir_folder(root, gz)
    spec = local_spec(root, "beir")
    suffix = ".gz" if gz else ""

    assert datasets.split_names(spec) == ["dev", "test"]
    assert datasets.source_files(spec) == sorted(
        str(root / name)
        for name in [
            f"corpus.jsonl{suffix}",
            f"queries.jsonl{suffix}",
            f"qrels/test.tsv{suffix}",
            f"qrels/dev.tsv{suffix}",
        ]
    )
    result = convert(tmp_path, spec)
    assert result.corpus == [("d1", "Cats cats purr"), ("d2", "dogs bark"), ("3", "Fish fish swim")]
    # a split's queries are those judged in it; q4 is judged nowhere
    assert result.queries["test"] == [("q1", "do cats purr"), ("q2", "why do dogs bark")]
    assert result.queries["dev"] == [("q3", "fish")]
    assert result.qrels["test"] == [("q1", "d1", 1), ("q2", "d2", 2)]
    assert result.qrels["dev"] == [("q3", "3", 1)]


def test_beir_title_drop(tmp_path):
    root = tmp_path / "scifact"
    _beir_folder(root)
    result = convert(tmp_path, local_spec(root, "beir", title="drop"))
    assert result.docs == {"d1": "cats purr", "d2": "dogs bark", "3": "fish swim"}


def test_beir_json_alternative_keys(tmp_path):
    root = tmp_path / "b"
    write(
        root / "corpus.jsonl",
        jsonl([{"doc_id": "a", "contents": "alpha"}, {"docid": "b", "body": "beta"}]),
    )
    write(
        root / "queries.jsonl",
        jsonl([{"query_id": "x", "query": "alpha?"}, {"qid": 7, "title": "b"}]),
    )
    write(root / "qrels" / "test.tsv", "x a 1\n7 b 1\n")  # no header: every row is a judgment
    result = convert(tmp_path, local_spec(root, "beir"))
    assert result.corpus == [("a", "alpha"), ("b", "beta")]
    assert result.queries["test"] == [("x", "alpha?"), ("7", "b")]
    assert result.qrels["test"] == [("x", "a", 1), ("7", "b", 1)]


# --------------------------------------------------------------------------- trec

CLASSIC_TOPICS = """\
<top>
<num> Number: 301
<title> International  Organized Crime

<desc> Description:
Identify organizations that participate in
international criminal activity.

<narr> Narrative:
A relevant document must name an organization.
</top>

<top>
<num> Number: 302 </num>
<title> Topic: Poliomyelitis and Post-Polio </title>
<desc> Description: Is the disease of poliomyelitis under control? </desc>
</top>
"""

TREC_DOCS = """\
<DOC>
<DOCNO> FT911-1 </DOCNO>
<HEADLINE>Crime  wave</HEADLINE>
<TEXT>
Organized crime
  groups operate internationally.
</TEXT>
</DOC>
<DOC><DOCNO>FT911-2</DOCNO><TEXT>Polio is under control.</TEXT></DOC>

<doc>
<docno>FT911-3</docno>
<text>Nothing relevant here.</text>
</doc>
"""


@pytest.mark.parametrize(
    ("topic_field", "expected"),
    [
        ("title", ["International Organized Crime", "Poliomyelitis and Post-Polio"]),
        (
            "description",
            [
                "Identify organizations that participate in international criminal activity.",
                "Is the disease of poliomyelitis under control?",
            ],
        ),
    ],
)
def test_trec_anserini_jsonl_and_classic_topics(tmp_path, topic_field, expected):
    root = tmp_path / "robust"
    write(
        root / "corpus.jsonl",
        jsonl(
            [{"id": "FT911-1", "contents": "crime\ngroups"}, {"id": "FT911-2", "contents": "polio"}]
        ),
    )
    write(root / "topics.txt", CLASSIC_TOPICS)
    write(root / "qrels.txt", "301 0 FT911-1 1\n302 0 FT911-2 1\n302 0 FT911-1 0\n")
    spec = local_spec(root, "trec", topic_field=topic_field)

    assert datasets.split_names(spec) == ["test"]
    assert datasets.source_files(spec) == sorted(
        str(root / n) for n in ["corpus.jsonl", "topics.txt", "qrels.txt"]
    )
    result = convert(tmp_path, spec)
    assert result.corpus == [("FT911-1", "crime groups"), ("FT911-2", "polio")]
    assert result.queries["test"] == list(zip(["301", "302"], expected, strict=True))
    assert result.qrels["test"] == [
        ("301", "FT911-1", 1),
        ("302", "FT911-2", 1),
        ("302", "FT911-1", 0),
    ]


def test_trec_topic_field_narrative(tmp_path):
    root = tmp_path / "robust"
    write(root / "corpus.jsonl", jsonl([{"id": "FT911-1", "contents": "crime"}]))
    write(root / "topics.txt", CLASSIC_TOPICS.split("\n\n<top>")[0] + "\n")
    write(root / "qrels.txt", "301 0 FT911-1 1\n")
    result = convert(tmp_path, local_spec(root, "trec", topic_field="narrative"))
    assert result.queries["test"] == [("301", "A relevant document must name an organization.")]


def test_trec_sgml_corpus_and_dev_split(tmp_path):
    root = tmp_path / "robust"
    write(root / "corpus.trec", TREC_DOCS)
    write(root / "topics.txt", CLASSIC_TOPICS)
    write(root / "qrels.txt", "301 0 FT911-1 1\n302 0 FT911-2 1\n")
    write(root / "topics.dev.txt", CLASSIC_TOPICS.split("\n\n<top>")[0] + "\n")
    write(root / "qrels.dev.txt", "301 0 FT911-3 0\n301 0 FT911-1 2\n")
    spec = local_spec(root, "trec")

    assert datasets.split_names(spec) == ["dev", "test"]
    assert datasets.source_files(spec) == sorted(
        str(root / n)
        for n in ["corpus.trec", "topics.txt", "qrels.txt", "topics.dev.txt", "qrels.dev.txt"]
    )
    result = convert(tmp_path, spec)
    assert result.corpus == [
        ("FT911-1", "Crime wave Organized crime groups operate internationally."),
        ("FT911-2", "Polio is under control."),
        ("FT911-3", "Nothing relevant here."),
    ]
    assert [q[0] for q in result.queries["test"]] == ["301", "302"]
    assert result.queries["dev"] == [("301", "International Organized Crime")]
    assert result.qrels["dev"] == [("301", "FT911-3", 0), ("301", "FT911-1", 2)]


def test_trec_docs_folder(tmp_path):
    root = tmp_path / "robust"
    write(root / "docs" / "b" / "fr940104", TREC_DOCS.split("<DOC><DOCNO>")[0])
    write(root / "docs" / "a.trec", "<DOC>\n<DOCNO>A-1</DOCNO>\nfirst file\n</DOC>\n")
    write_gz(root / "docs" / "c" / "more.gz", "<DOC>\n<DOCNO>C-1</DOCNO>\ngzipped\n</DOC>\n")
    write(root / "docs" / "d.jsonl", jsonl([{"id": "D-1", "contents": "json in the folder"}]))
    write(root / "topics.tsv", "q1\tcrime\nq2\tgzip\n")
    write(root / "qrels.txt", "q1 0 FT911-1 1\nq2 0 C-1 1\n")
    spec = local_spec(root, "trec")

    assert datasets.split_names(spec) == ["test"]
    assert datasets.source_files(spec) == sorted(
        str(root / n) for n in ["docs", "topics.tsv", "qrels.txt"]
    )
    result = convert(tmp_path, spec)
    # files are read in sorted path order
    assert result.corpus == [
        ("A-1", "first file"),
        ("FT911-1", "Crime wave Organized crime groups operate internationally."),
        ("C-1", "gzipped"),
        ("D-1", "json in the folder"),
    ]
    assert result.queries["test"] == [("q1", "crime"), ("q2", "gzip")]
    assert result.qrels["test"] == [("q1", "FT911-1", 1), ("q2", "C-1", 1)]


def test_trec_cacm_style_topics(tmp_path):
    root = tmp_path / "cacm"
    write(
        root / "corpus.trec",
        "<DOC>\n<DOCNO> CACM-1 </DOCNO>\nPreliminary Report International Algebraic Language\n"
        "</DOC>\n<DOC>\n<DOCNO> CACM-2 </DOCNO>\nTime sharing systems\n</DOC>\n",
    )
    write(
        root / "topics.txt",
        "<DOC>\n<DOCNO> 1 </DOCNO>\nWhat articles exist which deal with\n"
        "TSS (Time Sharing System)?\n</DOC>\n"
        "\n<DOC>\n<DOCNO> 2 </DOCNO>\nAlgebraic languages\n</DOC>\n",
    )
    write(root / "qrels.txt", "1 Q0 CACM-2 1\n2 Q0 CACM-1 1\n")
    result = convert(tmp_path, local_spec(root, "trec"))
    assert result.corpus == [
        ("CACM-1", "Preliminary Report International Algebraic Language"),
        ("CACM-2", "Time sharing systems"),
    ]
    assert result.queries["test"] == [
        ("1", "What articles exist which deal with TSS (Time Sharing System)?"),
        ("2", "Algebraic languages"),
    ]


def test_trec_gzipped_classic_topics(tmp_path):
    root = tmp_path / "robust"
    write(root / "corpus.trec", TREC_DOCS)
    write_gz(root / "topics.txt.gz", CLASSIC_TOPICS)
    write_gz(root / "qrels.txt.gz", "301 0 FT911-1 1\n302 0 FT911-2 1\n")
    spec = local_spec(root, "trec")
    assert datasets.split_names(spec) == ["test"]
    result = convert(tmp_path, spec)
    assert result.queries["test"] == [
        ("301", "International Organized Crime"),
        ("302", "Poliomyelitis and Post-Polio"),
    ]
    assert result.qrels["test"] == [("301", "FT911-1", 1), ("302", "FT911-2", 1)]


def test_trec_tsv_topics_with_split(tmp_path):
    root = tmp_path / "t"
    write(
        root / "corpus.jsonl",
        jsonl([{"id": "d1", "contents": "one"}, {"id": "d2", "contents": "two"}]),
    )
    write(root / "topics.dl20.tsv", "5\tfirst topic\n6\tsecond topic\n")
    write(root / "qrels.dl20.txt", "5 0 d1 3\n6 0 d2 1\n")
    write(root / "topics.other.tsv", "9\tno qrels for this one\n")
    write(root / "topics.notes", "not a topics file\n")
    spec = local_spec(root, "trec")
    assert datasets.split_names(spec) == ["dl20"]
    result = convert(tmp_path, spec)
    assert result.queries["dl20"] == [("5", "first topic"), ("6", "second topic")]
    assert result.qrels["dl20"] == [("5", "d1", 3), ("6", "d2", 1)]


def test_trec_topics_txt_holding_tab_separated_lines_is_read_as_tsv(tmp_path):
    root = tmp_path / "t"
    write(root / "corpus.jsonl", jsonl([{"id": "d1", "contents": "one"}]))
    write(root / "topics.txt", "1\tfirst topic\n")
    write(root / "qrels.txt", "1 0 d1 1\n")
    result = convert(tmp_path, local_spec(root, "trec"))
    assert result.queries["test"] == [("1", "first topic")]


# --------------------------------------------------------------------------- explicit files


def test_explicit_split_files_and_corpus(tmp_path):
    root = tmp_path / "custom"
    write(root / "passages" / "all.tsv", "p1\tTitle One\tbody one\np2\tTitle Two\tbody two\n")
    write(root / "q" / "heldout.tsv", "h1\tbody?\n")
    write(root / "j" / "heldout.judgments", "h1 0 p2 1\n")
    write(root / "q" / "tune.tsv", "t1\tone?\n")
    write(root / "j" / "tune.judgments", "t1 0 p1 1\n")
    # files the folder convention would pick up are ignored when the config names files
    write(root / "collection.tsv", "zz\tignored\n")
    write(root / "queries.train.tsv", "zz\tignored\n")
    write(root / "qrels.train.tsv", "zz 0 zz 1\n")
    spec = local_spec(
        root,
        "msmarco",
        corpus="passages/all.tsv",
        title="drop",
        split_files={
            "tune": {"queries": "q/tune.tsv", "qrels": "j/tune.judgments"},
            "heldout": {"queries": "q/heldout.tsv", "qrels": "j/heldout.judgments"},
        },
    )
    assert datasets.split_names(spec) == ["heldout", "tune"]
    assert datasets.source_files(spec) == sorted(
        str(root / n)
        for n in [
            "passages/all.tsv",
            "q/heldout.tsv",
            "j/heldout.judgments",
            "q/tune.tsv",
            "j/tune.judgments",
        ]
    )
    result = convert(tmp_path, spec)
    assert result.manifest["corpus"]["file"] == str(root / "passages" / "all.tsv")
    assert result.corpus == [("p1", "body one"), ("p2", "body two")]
    assert result.queries == {"heldout": [("h1", "body?")], "tune": [("t1", "one?")]}
    assert result.qrels == {"heldout": [("h1", "p2", 1)], "tune": [("t1", "p1", 1)]}


def test_explicit_corpus_missing_is_config_error(tmp_path):
    root = tmp_path / "custom"
    _msmarco_folder(root, "0\ttext\n")
    spec = local_spec(root, "msmarco", corpus="nope.tsv")
    with pytest.raises(ConfigError, match=re.escape(str(root / "nope.tsv"))):
        datasets.source_files(spec)


def test_explicit_split_file_missing_is_config_error(tmp_path):
    root = tmp_path / "custom"
    _msmarco_folder(root, "0\ttext\n")
    spec = local_spec(
        root, "msmarco", split_files={"x": {"queries": "queries.train.tsv", "qrels": "gone.txt"}}
    )
    with pytest.raises(ConfigError, match=r"split 'x': .*gone\.txt does not exist"):
        datasets.split_names(spec)


# --------------------------------------------------------------------------- text normalisation


def test_whitespace_normalisation(tmp_path):
    root = tmp_path / "b"
    write(
        root / "corpus.jsonl",
        jsonl(
            [
                {"_id": "d1", "title": "  Spaced\tTitle ", "text": "line one\nline  two\t\tend  "},
                {"_id": " d2 ", "text": "non\u00a0breaking\u2003space\r\nand crlf"},
                {"_id": "d3", "text": "   "},
            ]
        ),
    )
    write(root / "queries.jsonl", jsonl([{"_id": "q1", "text": "\tlots   of\n space "}]))
    write(root / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\nq1\td2\t1\n")
    result = convert(tmp_path, local_spec(root, "beir"))
    # ids are stripped; an empty document is kept (and counted), as an empty string
    assert result.corpus == [
        ("d1", "Spaced Title line one line two end"),
        ("d2", "non breaking space and crlf"),
        ("d3", ""),
    ]
    assert result.queries["test"] == [("q1", "lots of space")]
    assert result.manifest["corpus"]["documents"] == 3


def test_integral_float_and_negative_grades_accepted(tmp_path):
    root = tmp_path / "m"
    write(root / "collection.tsv", "1\tone\n2\ttwo\n")
    write(root / "queries.dev.tsv", "9\tq\n")
    write(root / "qrels.dev.tsv", "9 0 1 2.0\n9 0 2 -1\n")
    result = convert(tmp_path, local_spec(root, "msmarco"))
    assert result.qrels["dev"] == [("9", "1", 2), ("9", "2", -1)]
