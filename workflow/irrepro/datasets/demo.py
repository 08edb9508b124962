"""A deterministic, MS MARCO-shaped synthetic collection for running the whole DAG offline.

Words come from a small hand-written English lexicon (demo_lexicon.yaml) of topics. Each topic
has 16 *specific* passage words, each paired with a synonym that queries use instead, and 8
common words. A passage belongs to one topic, carries `key_terms` specific words of it (once or
twice each) and fills the rest with common words of its topic, of a second topic and background
words. A query is written from one passage's key terms, each replaced by its synonym with
probability `mismatch`, often after a question word.

So BM25 matches only the literal part of a query, while a pretrained encoder knows many of the
synonyms (real English words) and a trained one can learn them from the train queries: the
vocabulary mismatch that dense and expansion models address in the papers.

Splits: `train` and `dev` have one relevant passage per query (relevance 1, sparse labels as in
MS MARCO); `test` is judged in depth with grades 0-3 like TREC DL: 3 for the source passage,
2 for passages sharing at least two of its key terms, 1 for a sample of those sharing one, 0 for
a sample of the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from ..errors import ConfigError
from .writer import QrelRecord, TextRecord

LABEL = "demo generator"
SPLITS = ("train", "dev", "test")


@cache
def lexicon() -> dict:
    return yaml.safe_load(Path(__file__).with_name("demo_lexicon.yaml").read_text())


@dataclass(frozen=True)
class DemoSpec:
    """Sizes and knobs of the generator; every field is a config key under datasets.demo."""

    seed: int = 13
    n_passages: int = 3000
    n_train: int = 1500
    n_dev: int = 200
    n_test: int = 30
    n_topics: int = 16
    key_terms: int = 3
    mismatch: float = 0.5
    passage_length: tuple[int, int] = (20, 40)
    # body words: own topic's common words, other specific words of the own topic,
    # a second topic's common words, background words
    mix: tuple[float, float, float, float] = (0.3, 0.05, 0.1, 0.55)
    test_judged_one: int = 30
    test_judged_zero: int = 20

    @classmethod
    def from_config(cls, config: dict) -> DemoSpec:
        values = {key: value for key, value in config.items() if key in cls.__dataclass_fields__}
        for key in ("passage_length", "mix"):
            if key in values:
                values[key] = tuple(values[key])
        spec = cls(**values)
        topics = len(lexicon()["topics"])
        if not 2 <= spec.n_topics <= topics:
            raise ConfigError(f"datasets.demo.n_topics must be between 2 and {topics}")
        low, high = spec.passage_length
        if not 2 * spec.key_terms <= low <= high:
            raise ConfigError(
                "datasets.demo.passage_length must be [low, high] with 2 * key_terms <= low <= high"
            )
        wanted = spec.n_train + spec.n_dev + spec.n_test
        if wanted > spec.n_passages:
            raise ConfigError(
                f"datasets.demo: n_train + n_dev + n_test = {wanted} exceeds "
                f"n_passages = {spec.n_passages}"
            )
        return spec


def _zipf(size: int, exponent: float = 1.0) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1) ** exponent
    return weights / weights.sum()


def _top_k_without_replacement(rng, probs: np.ndarray, rows: int, k: int) -> np.ndarray:
    """k distinct draws per row, weighted by probs (Gumbel top-k)."""
    keys = np.log(probs)[None, :] - np.log(-np.log(rng.random((rows, len(probs)))))
    return np.argsort(-keys, axis=1)[:, :k]


class DemoWorld:
    """The topics and passages; queries are drawn from it per split."""

    def __init__(self, spec: DemoSpec):
        self.spec = spec
        self.rng = np.random.default_rng(spec.seed)
        topics = list(lexicon()["topics"].values())[: spec.n_topics]
        self.specific = np.array([list(t["pairs"]) for t in topics])
        self.synonym = np.array([list(t["pairs"].values()) for t in topics])
        self.common = np.array([t["common"] for t in topics])
        self.background = np.array(lexicon()["background"])
        self.question_words = lexicon()["question_words"]
        self._make_passages()

    def _make_passages(self) -> None:
        spec, rng = self.spec, self.rng
        n, n_specific = spec.n_passages, self.specific.shape[1]
        self.topic = rng.integers(0, spec.n_topics, n)
        second = (self.topic + rng.integers(1, spec.n_topics, n)) % spec.n_topics
        self.keys = _top_k_without_replacement(
            rng, np.full(n_specific, 1 / n_specific), n, spec.key_terms
        )
        low, high = spec.passage_length
        lengths = rng.integers(low, high + 1, n)
        shape = (n, high)
        source = rng.choice(4, size=shape, p=np.asarray(spec.mix) / sum(spec.mix))
        common = rng.choice(self.common.shape[1], size=shape, p=_zipf(self.common.shape[1], 0.7))
        candidates = [
            self.common[self.topic[:, None], common],
            self.specific[self.topic[:, None], rng.integers(0, n_specific, shape)],
            self.common[second[:, None], common],
            self.background[
                rng.choice(len(self.background), size=shape, p=_zipf(len(self.background)))
            ],
        ]
        tokens = np.choose(source, candidates)
        # every key term once, and a second time with probability 1/2, at distinct positions
        k = spec.key_terms
        positions = _top_k_without_replacement(rng, np.full(low, 1.0 / low), n, 2 * k)
        rows = np.arange(n)[:, None]
        key_words = self.specific[self.topic[:, None], self.keys]
        tokens[rows, positions[:, :k]] = key_words
        again = rng.random((n, k)) < 0.5
        tokens[rows, positions[:, k:]] = np.where(again, key_words, tokens[rows, positions[:, k:]])
        self.passages = [" ".join(tokens[i, : lengths[i]]) for i in range(n)]

    def doc_id(self, index: int) -> str:
        return str(index)

    def corpus(self) -> Iterator[TextRecord]:
        for index, text in enumerate(self.passages):
            yield TextRecord(self.doc_id(index), text, LABEL, index + 1)

    def query_text(self, rng, passage: int) -> str:
        topic, keys = self.topic[passage], self.keys[passage]
        swap = rng.random(len(keys)) < self.spec.mismatch
        terms = np.where(swap, self.synonym[topic, keys], self.specific[topic, keys])
        terms = [str(term) for term in rng.permutation(terms)]
        if rng.random() < 0.7:
            terms.insert(0, str(rng.choice(self.question_words)))
        return " ".join(terms)

    def sources(self) -> dict[str, np.ndarray]:
        """Disjoint source passages for train, dev and test queries."""
        spec = self.spec
        order = np.random.default_rng(spec.seed + 1).permutation(spec.n_passages)
        bounds = np.cumsum([0, spec.n_train, spec.n_dev, spec.n_test])
        return {
            name: order[bounds[i] : bounds[i + 1]]
            for i, name in enumerate(["train", "dev", "test"])
        }

    def split(self, name: str) -> tuple[list[TextRecord], list[QrelRecord]]:
        offset = {"train": 100000, "dev": 200000, "test": 300000}[name]
        rng = np.random.default_rng([self.spec.seed, offset])
        queries, qrels = [], []
        for number, passage in enumerate(self.sources()[name], start=1):
            query_id = str(offset + number)
            queries.append(TextRecord(query_id, self.query_text(rng, passage), LABEL, number))
            judged = self.graded_judgments(rng, passage) if name == "test" else {passage: 1}
            qrels += [
                QrelRecord(query_id, self.doc_id(doc), grade, LABEL, number)
                for doc, grade in sorted(judged.items())
            ]
        return queries, qrels

    def graded_judgments(self, rng, passage: int) -> dict[int, int]:
        """TREC-style pool: the source, every passage sharing 2+ key terms, samples of the rest."""
        same_topic = np.flatnonzero(self.topic == self.topic[passage])
        shared = np.isin(self.keys[same_topic], self.keys[passage]).sum(axis=1)
        grades = {int(doc): 2 for doc in same_topic[shared >= 2]}
        grades[int(passage)] = 3
        for grade, pool, count in [
            (1, same_topic[shared == 1], self.spec.test_judged_one),
            (0, np.flatnonzero(self.topic != self.topic[passage]), self.spec.test_judged_zero),
        ]:
            for doc in rng.choice(pool, size=min(count, len(pool)), replace=False):
                grades[int(doc)] = grade
        return grades
