"""ir_datasets-backed sources, without any download: planning ids and converting records."""

from __future__ import annotations

import json
from typing import NamedTuple

import pyarrow.parquet as pq
import pytest

from irrepro import datasets
from irrepro.datasets import irds, writer
from irrepro.errors import ConfigError, DataError

# --------------------------------------------------------------------------- plan


def test_msmarco_passage_default_splits():
    corpus, splits = irds.plan({"source": "msmarco-passage"})
    assert corpus == "msmarco-passage"
    assert splits == {
        "train": "msmarco-passage/train/judged",
        "dev": "msmarco-passage/dev/small",
        "dl19": "msmarco-passage/trec-dl-2019/judged",
    }


def test_msmarco_passage_chosen_splits():
    spec = {"source": "msmarco-passage", "splits": ["dl19", "dev"]}
    assert irds.plan(spec) == (
        "msmarco-passage",
        {"dl19": "msmarco-passage/trec-dl-2019/judged", "dev": "msmarco-passage/dev/small"},
    )
    assert datasets.split_names(spec) == ["dl19", "dev"]


def test_msmarco_passage_unknown_split():
    with pytest.raises(ConfigError, match="unknown: eval, test$"):
        irds.plan({"source": "msmarco-passage", "splits": ["dev", "test", "eval"]})


def test_beir_split_with_its_own_id():
    assert irds.plan({"source": "beir", "name": "scifact"}) == (
        "beir/scifact",
        {"test": "beir/scifact/test"},
    )
    assert irds.plan({"source": "beir", "name": "scifact", "splits": ["train", "test"]}) == (
        "beir/scifact",
        {"train": "beir/scifact/train", "test": "beir/scifact/test"},
    )


def test_beir_qrels_on_the_base_id():
    # arguana has no beir/arguana/test: its base id carries queries and qrels
    assert irds.plan({"source": "beir", "name": "arguana"}) == (
        "beir/arguana",
        {"test": "beir/arguana"},
    )


def test_beir_needs_a_name():
    with pytest.raises(ConfigError, match="`name`"):
        irds.plan({"source": "beir"})


def test_beir_unknown_name_is_rejected_before_download():
    corpus, splits = irds.plan({"source": "beir", "name": "no-such-set"})
    assert (corpus, splits) == ("beir/no-such-set", {"test": "beir/no-such-set/test"})
    with pytest.raises(ConfigError, match="'beir/no-such-set'"):
        irds.check_registered(corpus, splits)


def test_generic_ir_datasets_ids():
    spec = {
        "source": "ir_datasets",
        "corpus": "msmarco-passage",
        "splits": {"small": "msmarco-passage/dev/small", "dl20": "msmarco-passage/trec-dl-2020"},
    }
    assert irds.plan(spec) == (
        "msmarco-passage",
        {"small": "msmarco-passage/dev/small", "dl20": "msmarco-passage/trec-dl-2020"},
    )
    assert datasets.split_names(spec) == ["small", "dl20"]


@pytest.mark.parametrize(
    "spec",
    [
        {"source": "ir_datasets", "splits": {"test": "beir/scifact/test"}},
        {"source": "ir_datasets", "corpus": "beir/scifact"},
        {"source": "ir_datasets", "corpus": "beir/scifact", "splits": ["beir/scifact/test"]},
    ],
)
def test_generic_ir_datasets_missing_keys(spec):
    with pytest.raises(ConfigError, match="needs `corpus: <id>` and `splits: {name: <id>}`"):
        irds.plan(spec)


def test_plan_rejects_other_sources():
    with pytest.raises(ConfigError, match="not an ir_datasets source: 'local'"):
        irds.plan({"source": "local"})


# --------------------------------------------------------------------------- check_registered


def test_check_registered_accepts_known_ids():
    irds.check_registered("beir/scifact", {"test": "beir/scifact/test"})
    irds.check_registered("msmarco-passage", {"dev": "msmarco-passage/dev/small"})


@pytest.mark.parametrize(
    ("corpus", "splits", "unknown"),
    [
        ("beir/scifakt", {"test": "beir/scifact/test"}, "beir/scifakt"),
        ("beir/scifact", {"test": "beir/scifact/tset"}, "beir/scifact/tset"),
    ],
)
def test_check_registered_rejects_unknown_id(corpus, splits, unknown):
    with pytest.raises(ConfigError, match=f"ir_datasets does not know '{unknown}'"):
        irds.check_registered(corpus, splits)


def test_check_registered_rejects_split_without_qrels():
    # the MS MARCO eval queries are published without judgments
    with pytest.raises(ConfigError, match="split 'eval': .* lacks queries or qrels"):
        irds.check_registered("msmarco-passage", {"eval": "msmarco-passage/eval/small"})


# --------------------------------------------------------------------------- fake datasets


class GenericDoc(NamedTuple):
    doc_id: str
    text: str

    def default_text(self):
        return self.text


class BeirTitleDoc(NamedTuple):
    doc_id: str
    text: str
    title: str

    def default_text(self):
        return f"{self.title} {self.text}"


class GenericQuery(NamedTuple):
    query_id: str
    text: str

    def default_text(self):
        return self.text


class TrecQrel(NamedTuple):
    query_id: str
    doc_id: str
    relevance: int
    iteration: str


class FakeDataset:
    def __init__(self, docs=(), queries=(), qrels=()):
        self.docs, self.queries, self.qrels = list(docs), list(queries), list(qrels)

    def docs_iter(self):
        return iter(self.docs)

    def queries_iter(self):
        return iter(self.queries)

    def qrels_iter(self):
        return iter(self.qrels)


PASSAGES = FakeDataset(
    docs=[GenericDoc("0", "The presence of  communication"), GenericDoc("1", "Manhattan\nProject")],
    queries=[GenericQuery("1048585", "what is paula deen's brother"), GenericQuery("2", " why ")],
    qrels=[TrecQrel("1048585", "1", 1, "0"), TrecQrel("2", "0", 2, "Q0")],
)
BEIR_DOCS = FakeDataset(
    docs=[
        BeirTitleDoc("4983", "Alterations of the architecture", "Microstructural development"),
        BeirTitleDoc("5836", "Myelodysplastic syndromes", ""),
    ]
)


def test_corpus_records_generic_doc():
    records = list(irds.corpus_records(PASSAGES, "ir_datasets msmarco-passage", join_title=True))
    assert records == [
        writer.TextRecord("0", "The presence of  communication", "ir_datasets msmarco-passage", 1),
        writer.TextRecord("1", "Manhattan\nProject", "ir_datasets msmarco-passage", 2),
    ]
    assert list(irds.corpus_records(PASSAGES, "x", join_title=False)) == [
        r._replace(file="x") for r in records
    ]


@pytest.mark.parametrize(
    ("join_title", "texts"),
    [
        (
            True,
            [
                "Microstructural development Alterations of the architecture",
                " Myelodysplastic syndromes",
            ],
        ),
        (False, ["Alterations of the architecture", "Myelodysplastic syndromes"]),
    ],
)
def test_corpus_records_title_join_or_drop(join_title, texts):
    records = list(irds.corpus_records(BEIR_DOCS, "beir", join_title))
    assert [(r.id, r.text, r.line) for r in records] == [
        ("4983", texts[0], 1),
        ("5836", texts[1], 2),
    ]


def test_doc_without_text_field_uses_default_text():
    class WebDoc(NamedTuple):
        doc_id: str
        body: str

        def default_text(self):
            return f"body: {self.body}"

    records = list(irds.corpus_records(FakeDataset(docs=[WebDoc("w", "page")]), "l", False))
    assert records == [writer.TextRecord("w", "body: page", "l", 1)]


def test_query_and_qrel_records():
    assert list(irds.query_records(PASSAGES, "lbl")) == [
        writer.TextRecord("1048585", "what is paula deen's brother", "lbl", 1),
        writer.TextRecord("2", " why ", "lbl", 2),
    ]
    qrels = list(irds.qrel_records(PASSAGES, "lbl"))
    assert qrels == [
        writer.QrelRecord("1048585", "1", 1, "lbl", 1),
        writer.QrelRecord("2", "0", 2, "lbl", 2),
    ]
    assert all(type(q.relevance) is int for q in qrels)


def _rows(path):
    return [tuple(row.values()) for row in pq.read_table(path).to_pylist()]


@pytest.mark.parametrize("join_title", [True, False])
def test_records_written_as_artefacts(tmp_path, join_title):
    corpus_path = tmp_path / "corpus.parquet"
    dataset = FakeDataset(docs=PASSAGES.docs + BEIR_DOCS.docs)
    assert writer.write_corpus(irds.corpus_records(dataset, "c", join_title), corpus_path) == 4
    title = "Microstructural development " if join_title else ""
    assert _rows(corpus_path) == [
        ("0", "The presence of communication"),
        ("1", "Manhattan Project"),
        ("4983", f"{title}Alterations of the architecture"),
        ("5836", "Myelodysplastic syndromes"),
    ]
    queries = writer.write_queries(irds.query_records(PASSAGES, "q"), tmp_path / "q.parquet")
    assert _rows(tmp_path / "q.parquet") == [
        ("1048585", "what is paula deen's brother"),
        ("2", "why"),
    ]
    qrels = writer.write_qrels(
        irds.qrel_records(PASSAGES, "q"),
        tmp_path / "qrels.parquet",
        writer.read_corpus_ids(corpus_path),
        queries["query_id"],
    )
    assert len(qrels) == 2
    assert _rows(tmp_path / "qrels.parquet") == [("1048585", "1", 1), ("2", "0", 2)]


def test_bad_records_name_the_source_record(tmp_path):
    dataset = FakeDataset(docs=[GenericDoc("a", "x"), GenericDoc("b", "y"), GenericDoc("a", "z")])
    with pytest.raises(DataError) as caught:
        writer.write_corpus(irds.corpus_records(dataset, "ir_datasets fake", True), tmp_path / "c")
    assert (
        str(caught.value)
        == "ir_datasets fake:3: duplicate doc_id 'a' (first at ir_datasets fake:1)"
    )

    queries = FakeDataset(queries=[GenericQuery("q1", "x")], qrels=[TrecQrel("q1", "zz", 1, "0")])
    with pytest.raises(DataError, match="^ir_datasets fake:1: judgment of unknown document 'zz'"):
        writer.write_qrels(
            irds.qrel_records(queries, "ir_datasets fake"),
            tmp_path / "qrels.parquet",
            writer.read_corpus_ids(_write_small_corpus(tmp_path)),
            ["q1"],
        )


def _write_small_corpus(tmp_path):
    path = tmp_path / "small.parquet"
    writer.write_corpus([writer.TextRecord("a", "x", "s", 1)], path)
    return path


# --------------------------------------------------------------------------- prepare, faked load


def test_prepare_beir_through_a_faked_loader(tmp_path, monkeypatch):
    """The real registry is checked; only `irds.load` (which would download) is faked."""
    loaded = []
    fakes = {
        "beir/scifact": BEIR_DOCS,
        "beir/scifact/test": FakeDataset(
            queries=[
                GenericQuery("1", "0-dimensional biomaterials"),
                GenericQuery("3", "unjudged"),
            ],
            qrels=[TrecQrel("1", "5836", 1, "0"), TrecQrel("1", "4983", 0, "0")],
        ),
    }

    def fake_load(dataset_id):
        loaded.append(dataset_id)
        return fakes[dataset_id]

    monkeypatch.setattr(irds, "load", fake_load)
    spec = {"source": "beir", "name": "scifact", "title": "drop"}
    out = tmp_path / "out"
    manifest = datasets.prepare(
        spec,
        str(out / "corpus.parquet"),
        {"test": str(out / "queries.test.parquet")},
        {"test": str(out / "qrels.test.parquet")},
        str(out / "manifest.json"),
    )
    assert sorted(loaded) == ["beir/scifact", "beir/scifact/test"]
    assert _rows(out / "corpus.parquet") == [
        ("4983", "Alterations of the architecture"),
        ("5836", "Myelodysplastic syndromes"),
    ]
    assert _rows(out / "queries.test.parquet") == [
        ("1", "0-dimensional biomaterials"),
        ("3", "unjudged"),
    ]
    assert _rows(out / "qrels.test.parquet") == [("1", "5836", 1), ("1", "4983", 0)]
    assert manifest == json.loads((out / "manifest.json").read_text())
    assert manifest["corpus"] == {"ir_datasets": "beir/scifact", "documents": 2}
    assert manifest["splits"]["test"] == {
        "queries": 2,
        "judged_queries": 1,
        "judgments": 2,
        "relevance_grades": {"0": 1, "1": 1},
        "relevance_level": 1,
    }
    assert datasets.source_files(spec) == []
