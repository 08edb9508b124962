"""The synthetic demo collection: deterministic, sized as configured, and built as documented."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from irrepro import datasets
from irrepro.datasets import demo
from irrepro.errors import ConfigError

SMALL = {
    "source": "demo",
    "seed": 7,
    "n_passages": 400,
    "n_train": 60,
    "n_dev": 25,
    "n_test": 8,
    "n_topics": 6,
    "key_terms": 3,
    "passage_length": [12, 20],
    "test_judged_one": 6,
    "test_judged_zero": 4,
}
FILES = [
    "corpus.parquet",
    *(f"{kind}.{split}.parquet" for kind in ("queries", "qrels") for split in demo.SPLITS),
    "manifest.json",
]


def generate(out: Path, spec: dict) -> dict:
    splits = datasets.split_names(spec)
    assert splits == ["train", "dev", "test"]
    datasets.prepare(
        spec,
        str(out / "corpus.parquet"),
        {s: str(out / f"queries.{s}.parquet") for s in splits},
        {s: str(out / f"qrels.{s}.parquet") for s in splits},
        str(out / "manifest.json"),
    )
    return {
        "corpus": pq.read_table(out / "corpus.parquet").to_pylist(),
        **{
            f"{kind}.{s}": pq.read_table(out / f"{kind}.{s}.parquet").to_pylist()
            for kind in ("queries", "qrels")
            for s in splits
        },
        "manifest": json.loads((out / "manifest.json").read_text()),
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("demo"), SMALL)


def lexicon_words() -> list[str]:
    lex = demo.lexicon()
    words = []
    for topic in lex["topics"].values():
        words += [*topic["pairs"], *topic["pairs"].values(), *topic["common"]]
    return words + lex["background"] + lex["question_words"]


def sources(artefacts: dict, split: str) -> dict[str, str]:
    """query id -> its source passage (the relevance-1 doc in train/dev, the grade 3 in test)."""
    top = 3 if split == "test" else 1
    return {
        q["query_id"]: q["doc_id"] for q in artefacts[f"qrels.{split}"] if q["relevance"] == top
    }


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_artefacts(tmp_path, small):
    assert generate(tmp_path / "a", SMALL) == small
    assert generate(tmp_path / "b", SMALL) == small
    for name in FILES:  # byte for byte
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_different_seed_gives_different_artefacts(tmp_path, small):
    other = generate(tmp_path, {**SMALL, "seed": 8})
    assert other["corpus"] != small["corpus"]
    for split in demo.SPLITS:
        assert other[f"queries.{split}"] != small[f"queries.{split}"]
    assert sources(other, "train") != sources(small, "train")


# --------------------------------------------------------------------------- sizes


def test_sizes_follow_the_spec(small):
    assert [d["doc_id"] for d in small["corpus"]] == [str(i) for i in range(400)]
    lengths = [len(d["text"].split()) for d in small["corpus"]]
    assert min(lengths) >= 12
    assert max(lengths) <= 20
    assert len(set(lengths)) > 1
    for split, n in [("train", 60), ("dev", 25), ("test", 8)]:
        assert len(small[f"queries.{split}"]) == n
        assert small["manifest"]["splits"][split]["queries"] == n
        assert small["manifest"]["splits"][split]["judged_queries"] == n
    assert small["manifest"]["corpus"]["documents"] == 400


def test_only_the_configured_topics_are_used(small):
    lex = demo.lexicon()
    topics = list(lex["topics"].values())
    allowed = set(lex["background"])
    for topic in topics[: SMALL["n_topics"]]:
        allowed |= {*topic["pairs"], *topic["common"]}
    used = {word for doc in small["corpus"] for word in doc["text"].split()}
    assert used <= allowed
    unused = {
        w for topic in topics[SMALL["n_topics"] :] for w in [*topic["pairs"], *topic["common"]]
    }
    assert not used & unused
    # every configured topic does appear
    for topic in topics[: SMALL["n_topics"]]:
        assert used & set(topic["pairs"])


def test_config_keys_other_than_the_generator_fields_are_ignored():
    assert demo.DemoSpec.from_config({"source": "demo", "relevance_level": {"test": 2}}) == (
        demo.DemoSpec()
    )


# --------------------------------------------------------------------------- splits and judgments


def test_query_ids_and_sources_are_disjoint_across_splits(small):
    ids = {s: {q["query_id"] for q in small[f"queries.{s}"]} for s in demo.SPLITS}
    found = {s: set(sources(small, s).values()) for s in demo.SPLITS}
    for a, b in [("train", "dev"), ("train", "test"), ("dev", "test")]:
        assert not ids[a] & ids[b]
        assert not found[a] & found[b]
    for split in demo.SPLITS:
        # one source passage per query, none shared within a split either
        assert len(found[split]) == len(ids[split])


@pytest.mark.parametrize("split", ["train", "dev"])
def test_train_and_dev_have_one_relevant_passage_per_query(small, split):
    qrels = small[f"qrels.{split}"]
    assert {q["relevance"] for q in qrels} == {1}
    per_query = Counter(q["query_id"] for q in qrels)
    assert set(per_query) == {q["query_id"] for q in small[f"queries.{split}"]}
    assert set(per_query.values()) == {1}


def test_test_split_is_graded_with_one_grade_3_per_query(small):
    qrels = small["qrels.test"]
    assert {q["relevance"] for q in qrels} == {0, 1, 2, 3}
    grade3 = Counter(q["query_id"] for q in qrels if q["relevance"] == 3)
    assert set(grade3) == {q["query_id"] for q in small["queries.test"]}
    assert set(grade3.values()) == {1}
    grade0 = Counter(q["query_id"] for q in qrels if q["relevance"] == 0)
    assert set(grade0.values()) == {SMALL["test_judged_zero"]}
    grade1 = Counter(q["query_id"] for q in qrels if q["relevance"] == 1)
    assert max(grade1.values()) <= SMALL["test_judged_one"]


def test_grade_3_is_the_source_passage(small):
    world = demo.DemoWorld(demo.DemoSpec.from_config(SMALL))
    expected = {str(p) for p in world.sources()["test"]}
    assert set(sources(small, "test").values()) == expected
    assert set(sources(small, "train").values()) == {str(p) for p in world.sources()["train"]}


def test_test_grades_follow_key_term_overlap(small):
    world = demo.DemoWorld(demo.DemoSpec.from_config(SMALL))
    source_of = sources(small, "test")
    for query_id, source in source_of.items():
        passage = int(source)
        for qrel in small["qrels.test"]:
            if qrel["query_id"] != query_id or qrel["doc_id"] == source:
                continue
            doc = int(qrel["doc_id"])
            same_topic = world.topic[doc] == world.topic[passage]
            shared = len(set(world.keys[doc].tolist()) & set(world.keys[passage].tolist()))
            expected = (2 if shared >= 2 else 1 if shared == 1 else None) if same_topic else 0
            assert qrel["relevance"] == expected, qrel
        # every same-topic passage sharing two or more key terms is judged (grade 2)
        same = (world.topic == world.topic[passage]).nonzero()[0]
        overlap = [
            len(set(world.keys[d].tolist()) & set(world.keys[passage].tolist())) for d in same
        ]
        must = {str(d) for d, o in zip(same, overlap, strict=True) if o >= 2 and d != passage}
        judged = {q["doc_id"] for q in small["qrels.test"] if q["query_id"] == query_id}
        assert must <= judged


def test_queries_use_key_terms_of_their_source_or_synonyms(small):
    lex = demo.lexicon()
    synonym_of = {}  # query-side word -> passage-side word
    for topic in lex["topics"].values():
        synonym_of.update({syn: word for word, syn in topic["pairs"].items()})
        synonym_of.update({word: word for word in topic["pairs"]})
    question = set(lex["question_words"])
    world = demo.DemoWorld(demo.DemoSpec.from_config(SMALL))
    docs = {d["doc_id"]: d["text"].split() for d in small["corpus"]}
    literal = swapped = 0
    for split in demo.SPLITS:
        source_of = sources(small, split)
        for query in small[f"queries.{split}"]:
            words = query["text"].split()
            if words[0] in question:
                words = words[1:]
            assert not set(words) & question, query
            passage = int(source_of[query["query_id"]])
            keys = set(world.specific[world.topic[passage], world.keys[passage]].tolist())
            assert len(words) == SMALL["key_terms"]
            assert all(w in synonym_of for w in words), query
            assert {synonym_of[w] for w in words} == keys, query
            # key terms occur in the passage text
            assert keys <= set(docs[str(passage)])
            literal += sum(w in keys for w in words)
            swapped += sum(w not in keys for w in words)
    # mismatch 0.5: both kinds occur
    assert literal > 0
    assert swapped > 0


@pytest.mark.parametrize(("mismatch", "literal"), [(0.0, True), (1.0, False)])
def test_mismatch_extremes(tmp_path, mismatch, literal):
    spec = {**SMALL, "mismatch": mismatch}
    artefacts = generate(tmp_path, spec)
    passage_words = {w for t in demo.lexicon()["topics"].values() for w in t["pairs"]}
    question = set(demo.lexicon()["question_words"])
    for split in demo.SPLITS:
        for query in artefacts[f"queries.{split}"]:
            content = [w for w in query["text"].split() if w not in question]
            assert all((w in passage_words) == literal for w in content), query


# --------------------------------------------------------------------------- lexicon


def test_lexicon_words_stem_to_distinct_stems():
    words = lexicon_words()
    assert len(words) > 700
    stems = Stemmer.Stemmer("porter").stemWords(words)
    clashes = {s: [w for w, t in zip(words, stems, strict=True) if t == s] for s in stems}
    assert {s: ws for s, ws in clashes.items() if len(ws) > 1} == {}


def test_lexicon_has_no_stopwords_and_plain_lowercase_words():
    words = lexicon_words()
    assert [w for w in words if w in STOPWORDS_EN] == []
    assert all(isinstance(w, str) and w.isalpha() and w.islower() for w in words)


def test_lexicon_shape():
    lex = demo.lexicon()
    assert len(lex["topics"]) >= 2
    for name, topic in lex["topics"].items():
        assert len(topic["pairs"]) == 16, name
        assert len(topic["common"]) == 8, name


# --------------------------------------------------------------------------- impossible sizes


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"n_passages": 92}, "exceeds n_passages = 92"),
        ({"n_train": 400}, "n_train \\+ n_dev \\+ n_test = 433"),
        ({"n_topics": 1}, "n_topics must be between 2 and"),
        ({"n_topics": 17}, "n_topics must be between 2 and 16"),
        ({"passage_length": [5, 20]}, "passage_length"),
        ({"passage_length": [12, 11]}, "passage_length"),
        ({"key_terms": 7}, "passage_length"),
    ],
)
def test_impossible_sizes(change, key):
    spec = {**SMALL, **change}
    with pytest.raises(ConfigError, match=key):
        demo.DemoSpec.from_config(spec)
    with pytest.raises(ConfigError, match=key):
        datasets.split_names(spec)


def test_boundary_sizes_are_accepted():
    spec = demo.DemoSpec.from_config(
        {**SMALL, "n_passages": 93, "passage_length": [6, 6], "n_topics": 16}
    )
    assert spec.n_passages == 93
    assert spec.passage_length == (6, 6)
