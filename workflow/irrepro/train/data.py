"""Training data: passages by id, train queries with positives, and deterministic batches.

A batch is a pure function of (seed, step): the query order is a seeded permutation per epoch and
every random choice of a step (which positive, which negatives) comes from a generator seeded
with (seed, step). So a run resumed from a checkpoint sees exactly the batches it would have.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch

from ..artefacts import NEGATIVES, QRELS, QUERIES, TEACHER_SCORES, read_table
from ..lookup import row_lookup

log = logging.getLogger(__name__)


class Corpus:
    """Passage texts in corpus order (the order of embeddings), addressable by doc_id."""

    def __init__(self, path: str | Path):
        table = pq.read_table(path, columns=["doc_id", "text"])
        self.doc_ids = table.column("doc_id").to_numpy(zero_copy_only=False).astype(object)
        self.texts = table.column("text").to_numpy(zero_copy_only=False).astype(object)
        self.rows = row_lookup(self.doc_ids)

    def __len__(self) -> int:
        return len(self.doc_ids)

    def text(self, rows) -> list[str]:
        return [str(t) for t in self.texts[np.asarray(rows)]]


class TrainQueries:
    """Train queries that have at least one positive (grade > 0), with their positive rows."""

    def __init__(self, queries_path, qrels_path, corpus: Corpus):
        queries = read_table(queries_path, QUERIES)
        qrels = read_table(qrels_path, QRELS)
        positives = qrels[qrels["relevance"] > 0]
        rows = corpus.rows(positives["doc_id"])
        by_query = pd.Series(rows).groupby(positives["query_id"].to_numpy()).agg(list)
        queries = queries[queries["query_id"].isin(by_query.index)].reset_index(drop=True)
        if queries.empty:
            raise ValueError(f"{queries_path}: no train query has a positive judgment")
        self.ids = queries["query_id"].to_numpy(dtype=object)
        self.texts = queries["text"].to_numpy(dtype=object)
        self.positives = [np.asarray(by_query[q], dtype=np.int64) for q in self.ids]
        self._positive_sets = [set(p.tolist()) for p in self.positives]

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, indices) -> TrainQueries:
        """These queries only (in this order)."""
        out = object.__new__(TrainQueries)
        out.ids, out.texts = self.ids[indices], self.texts[indices]
        out.positives = [self.positives[i] for i in indices]
        out._positive_sets = [self._positive_sets[i] for i in indices]
        return out

    def is_positive(self, query_indices, rows: np.ndarray) -> np.ndarray:
        """(B, M) bool: rows[m] is a positive of query_indices[b]."""
        return np.array(
            [[int(r) in self._positive_sets[q] for r in rows] for q in query_indices], dtype=bool
        )


class NegativePool:
    """Per train query, the rows of its candidate negatives (a negatives artefact; its first
    `depth` per query when given)."""

    def __init__(self, path, queries: TrainQueries, corpus: Corpus, depth: int | None = None):
        negatives = read_table(path, NEGATIVES).sort_values(["query_id", "rank"], kind="mergesort")
        if depth is not None:
            negatives = negatives.groupby("query_id", sort=False).head(depth)
        rows = corpus.rows(negatives["doc_id"])
        grouped = pd.Series(rows).groupby(negatives["query_id"].to_numpy()).agg(list)
        self.rows = [np.asarray(grouped.get(q, []), dtype=np.int64) for q in queries.ids]
        empty = sum(len(r) == 0 for r in self.rows)
        if empty and depth is None:
            log.warning(
                "%d train queries have no negatives in %s: they get random ones", empty, path
            )

    def subset(self, indices) -> NegativePool:
        out = object.__new__(NegativePool)
        out.rows = [self.rows[i] for i in indices]
        return out


@dataclass(frozen=True)
class BatchPlan:
    """Which queries a step trains on: epochs of seeded permutations, cut into batches."""

    n_queries: int
    batch_size: int
    seed: int

    def queries(self, step: int) -> np.ndarray:
        start = step * self.batch_size
        picked = []
        while len(picked) < self.batch_size:
            epoch, offset = divmod(start + len(picked), self.n_queries)
            order = np.random.default_rng([self.seed, epoch]).permutation(self.n_queries)
            take = min(self.batch_size - len(picked), self.n_queries - offset)
            picked.extend(order[offset : offset + take])
        return np.asarray(picked, dtype=np.int64)

    def rng(self, step: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, 1_000_003, step])

    def steps_per_epoch(self) -> int:
        return max(1, self.n_queries // self.batch_size)


def sample_positives(queries: TrainQueries, picked: np.ndarray, rng) -> np.ndarray:
    return np.array([rng.choice(queries.positives[q]) for q in picked], dtype=np.int64)


def sample_negatives(
    queries: TrainQueries,
    picked: np.ndarray,
    per_query: int,
    rng,
    n_passages: int,
    pool: NegativePool | None = None,
) -> np.ndarray:
    """(B, per_query) negative rows: from the pool (without replacement) or uniformly at random.

    Random draws may hit a positive; the losses mask such pairs, as the official code does.
    """
    out = np.empty((len(picked), per_query), dtype=np.int64)
    for b, q in enumerate(picked):
        candidates = pool.rows[q] if pool is not None else ()
        if len(candidates) >= per_query:
            out[b] = rng.choice(candidates, size=per_query, replace=False)
        else:
            out[b] = rng.integers(0, n_passages, size=per_query)
    return out


class PairBatches:
    """Deterministic batches of (query, positive, negatives) token batches: every pairwise
    method's (the warm-up models, STAR, ColBERT and its students). `tokenize(texts, length,
    kind)` is the trained model's own."""

    def __init__(
        self,
        tokenize,
        lengths: dict[str, int],
        corpus: Corpus,
        queries: TrainQueries,
        plan: BatchPlan,
        negatives: int = 0,
        pool: NegativePool | None = None,
    ):
        self.tokenize, self.lengths, self.corpus, self.queries = tokenize, lengths, corpus, queries
        self.plan, self.negatives, self.pool = plan, negatives, pool

    def sample(self, step: int):
        """The step's (query indices, positive rows, (B, n) negative rows or None)."""
        picked = self.plan.queries(step)
        rng = self.plan.rng(step)
        positives = sample_positives(self.queries, picked, rng)
        negatives = (
            sample_negatives(self.queries, picked, self.negatives, rng, len(self.corpus), self.pool)
            if self.negatives
            else None
        )
        return picked, positives, negatives

    def __call__(self, step: int) -> dict:
        picked, positives, negatives = self.sample(step)
        batch = {
            "queries": self._tokens(self.queries.texts[picked], "query"),
            "positives": self._tokens(self.corpus.text(positives)),
            "positive_mask": torch.from_numpy(self.queries.is_positive(picked, positives)),
        }
        if negatives is not None:
            batch.update(self.extra(picked, positives, negatives))
            negatives = negatives.reshape(-1)
            batch["negatives"] = self._tokens(self.corpus.text(negatives))
            batch["negative_is_positive"] = torch.from_numpy(
                self.queries.is_positive(picked, negatives)
            )
        return batch

    def extra(self, picked: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> dict:
        """More of a batch, from its query indices, positive rows and (B, n) negative rows."""
        return {}

    def _tokens(self, texts, kind: str = "passage") -> dict:
        return self.tokenize([str(t) for t in texts], self.lengths[f"{kind}_length"], kind)


class TeacherScores:
    """A teacher's scores of (train query, passage) pairs, looked up by query index and row."""

    def __init__(self, path, queries: TrainQueries, corpus: Corpus):
        scores = read_table(path, TEACHER_SCORES)
        index_of = {query_id: i for i, query_id in enumerate(queries.ids)}
        known = scores["query_id"].isin(index_of)
        scores = scores[known]
        rows = corpus.rows(scores["doc_id"])
        self.path = path
        self.scores = {
            (index_of[q], int(r)): float(s)
            for q, r, s in zip(scores["query_id"], rows, scores["score"], strict=True)
        }
        self._queries, self._corpus = queries, corpus

    def __call__(self, query_index: int, row: int) -> float:
        try:
            return self.scores[(int(query_index), int(row))]
        except KeyError:
            query = self._queries.ids[query_index]
            doc = self._corpus.doc_ids[row]
            raise ValueError(
                f"{self.path}: no teacher score for query {query!r} and passage {doc!r} (the "
                "teacher scores must cover every positive and every negative trained on)"
            ) from None
