"""BM25 against a brute-force Lucene BM25 scorer, tokenisation, runs and negatives."""

import math
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import Stemmer

from irrepro.artefacts import CORPUS, RUN, read_table, write_table
from irrepro.bm25 import LUCENE_STOPWORDS, BM25Index, BM25Params, build_index, retrieve_run
from irrepro.errors import ConfigError
from irrepro.negatives import negatives_from_run

DOCS = {
    "d1": "The quick brown fox jumps over the lazy dog",
    "d2": "A fox is running; foxes run quickly through the forest",
    "d3": "Dogs and cats are pets. A lazy cat sleeps all day",
    "d4": "Quantum computing uses qubits",
    "d5": "brown dogs, brown cats and a brown fox",
    "d10": "the fox",
    "d9": "the fox",
}
QUERIES = ["lazy fox", "running dogs", "brown brown fox", "quantum", "zebra", "the a"]


def reference_tokens(text: str) -> list[str]:
    stem = Stemmer.Stemmer("porter").stemWord
    words = re.findall(r"\w+", text.lower())
    return [stem(w) for w in words if w not in LUCENE_STOPWORDS]


def lucene_bm25(query: str, k1: float, b: float) -> dict[str, float]:
    """Lucene's BM25 (idf = ln(1 + (N - df + .5) / (df + .5)), no (k1 + 1) factor)."""
    docs = {doc_id: Counter(reference_tokens(text)) for doc_id, text in DOCS.items()}
    lengths = {doc_id: sum(tf.values()) for doc_id, tf in docs.items()}
    avgdl = sum(lengths.values()) / len(docs)
    scores = {}
    for doc_id, tf in docs.items():
        score = 0.0
        for term in reference_tokens(query):
            df = sum(term in other for other in docs.values())
            if tf[term] == 0:
                continue
            idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            norm = k1 * (1 - b + b * lengths[doc_id] / avgdl)
            score += idf * tf[term] / (tf[term] + norm)
        if score > 0:
            scores[doc_id] = score
    return scores


@pytest.fixture(scope="module", params=["auto", "numpy"])
def index(tmp_path_factory, request):
    """Both retrieval paths: irrepro.postings (auto) and bm25s' own (numpy)."""
    root = tmp_path_factory.mktemp("bm25")
    corpus = pd.DataFrame({"doc_id": list(DOCS), "text": list(DOCS.values())})
    write_table(corpus, root / "corpus.parquet", CORPUS)
    params = BM25Params(k1=0.82, b=0.68, backend=request.param)
    stats = build_index(root / "corpus.parquet", root / "index", params)
    assert stats["documents"] == len(DOCS)
    return BM25Index(root / "index"), params, root


def test_scores_match_brute_force_lucene_bm25(index):
    bm25, params, _ = index
    documents, scores = bm25.search(QUERIES, depth=len(DOCS))
    for row, query in enumerate(QUERIES):
        expected = lucene_bm25(query, params.k1, params.b)
        found = {
            bm25.doc_ids[int(d)].as_py(): float(s)
            for d, s in zip(documents[row], scores[row], strict=True)
            if d >= 0
        }
        assert found.keys() == expected.keys(), query
        for doc_id, value in expected.items():
            assert found[doc_id] == pytest.approx(value, rel=1e-5), (query, doc_id)


def test_tokenizer_stems_and_drops_lucene_stopwords():
    tokenizer = BM25Params().tokenizer()
    ids = tokenizer.tokenize(["The foxes are running"], return_as="tuple", show_progress=False)
    vocab = {v: k for k, v in ids.vocab.items()}
    assert sorted(vocab[i] for i in ids.ids[0]) == ["fox", "run"]
    plain = BM25Params(stemmer="none", stopwords="none").tokenizer()
    ids = plain.tokenize(["The foxes"], return_as="tuple", show_progress=False)
    vocab = {v: k for k, v in ids.vocab.items()}
    assert sorted(vocab[i] for i in ids.ids[0]) == ["foxes", "the"]


def test_run_is_in_trec_eval_order_without_unmatched_documents(index):
    bm25, _, root = index
    queries = pd.DataFrame({"query_id": [f"q{i}" for i in range(len(QUERIES))], "text": QUERIES})
    retrieve_run(bm25, queries, root / "run.parquet", depth=1000, batch_size=2)
    run = read_table(root / "run.parquet", RUN)
    assert set(run["query_id"]) == {"q0", "q1", "q2", "q3"}  # "zebra" and "the a" match nothing
    for _, group in run.groupby("query_id"):
        assert list(group["rank"]) == list(range(1, len(group) + 1))
        assert (np.diff(group["score"].to_numpy()) <= 0).all()
        assert (group["score"] > 0).all()
    # "the fox" twice: equal scores, so the larger doc_id ("d9" > "d10" as strings) ranks first
    q0 = run[run["query_id"] == "q0"].set_index("doc_id")
    assert q0.loc["d10", "score"] == q0.loc["d9", "score"]
    assert q0.loc["d9", "rank"] < q0.loc["d10", "rank"]


def test_postings_scores_equal_bm25s_to_the_bit(index):
    bm25, params, _ = index
    if not bm25.on_postings:
        pytest.skip("bm25s' own retrieval")
    documents, scores = bm25.search(QUERIES, depth=len(DOCS))
    tokens = bm25.tokenizer.tokenize(QUERIES, update_vocab=False, show_progress=False)
    for row, ids in enumerate(tokens):
        reference = bm25.retriever.get_scores(ids)
        matched = documents[row] >= 0
        np.testing.assert_array_equal(scores[row][matched], reference[documents[row][matched]])
        assert matched.sum() == (reference > 0).sum()


def test_depth_cuts_the_run(index):
    bm25, _, root = index
    queries = pd.DataFrame({"query_id": ["q"], "text": ["fox"]})
    retrieve_run(bm25, queries, root / "short.parquet", depth=2)
    assert len(read_table(root / "short.parquet", RUN)) == 2


def test_negatives_remove_positives_and_respect_depth():
    run = pd.DataFrame(
        {
            "query_id": ["q"] * 5 + ["r"] * 2,
            "doc_id": ["a", "b", "c", "d", "e", "a", "b"],
            "rank": [1, 2, 3, 4, 5, 1, 2],
            "score": [5.0, 4, 3, 2, 1, 2, 1],
        }
    )
    qrels = pd.DataFrame(
        {"query_id": ["q", "q", "r"], "doc_id": ["b", "x", "a"], "relevance": [1, 1, 0]}
    )
    negatives = negatives_from_run(run, qrels, depth=4)
    assert negatives.to_dict("list") == {
        "query_id": ["q", "q", "q", "r", "r"],
        "doc_id": ["a", "c", "d", "a", "b"],  # r's grade-0 judgment is not a positive
        "rank": [1, 3, 4, 1, 2],
    }


@pytest.mark.parametrize(
    "section",
    [{"stemmer": "klingon"}, {"stopwords": "french"}, {"method": "tfidf"}],
)
def test_bad_bm25_config(section):
    with pytest.raises(ConfigError):
        BM25Params.from_config(section)
