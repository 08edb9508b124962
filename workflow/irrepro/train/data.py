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

from ..artefacts import NEGATIVES, QRELS, QUERIES, read_table

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


def row_lookup(doc_ids):
    """rows(ids) -> positions of `ids` in `doc_ids`; a KeyError names unknown ones."""
    index = pd.Index(doc_ids)

    def rows(ids) -> np.ndarray:
        found = index.get_indexer(list(ids))
        if (found < 0).any():
            missing = [d for d, r in zip(ids, found, strict=True) if r < 0][:3]
            raise KeyError(f"documents not in the corpus: {missing}")
        return found

    return rows


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

    def is_positive(self, query_indices, rows: np.ndarray) -> np.ndarray:
        """(B, M) bool: rows[m] is a positive of query_indices[b]."""
        return np.array(
            [[int(r) in self._positive_sets[q] for r in rows] for q in query_indices], dtype=bool
        )


class NegativePool:
    """Per train query, the rows of its candidate negatives (a negatives artefact)."""

    def __init__(self, path, queries: TrainQueries, corpus: Corpus):
        negatives = read_table(path, NEGATIVES).sort_values(["query_id", "rank"], kind="mergesort")
        rows = corpus.rows(negatives["doc_id"])
        grouped = pd.Series(rows).groupby(negatives["query_id"].to_numpy()).agg(list)
        self.rows = [np.asarray(grouped.get(q, []), dtype=np.int64) for q in queries.ids]
        empty = sum(len(r) == 0 for r in self.rows)
        if empty:
            log.warning(
                "%d train queries have no negatives in %s: they get random ones", empty, path
            )


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


def shard(values: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """This process's part of a global batch under data parallelism."""
    return values[rank::world_size]


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

    def __call__(self, step: int, rank: int = 0, world_size: int = 1) -> dict:
        picked = self.plan.queries(step)
        rng = self.plan.rng(step)
        positives = sample_positives(self.queries, picked, rng)
        negatives = (
            sample_negatives(self.queries, picked, self.negatives, rng, len(self.corpus), self.pool)
            if self.negatives
            else None
        )
        picked, positives = shard(picked, rank, world_size), shard(positives, rank, world_size)
        batch = {
            "queries": self._tokens(self.queries.texts[picked], "query"),
            "positives": self._tokens(self.corpus.text(positives)),
            "positive_mask": torch.from_numpy(self.queries.is_positive(picked, positives)),
        }
        if negatives is not None:
            negatives = shard(negatives, rank, world_size).reshape(-1)
            batch["negatives"] = self._tokens(self.corpus.text(negatives))
            batch["negative_is_positive"] = torch.from_numpy(
                self.queries.is_positive(picked, negatives)
            )
        return batch

    def _tokens(self, texts, kind: str = "passage") -> dict:
        return self.tokenize([str(t) for t in texts], self.lengths[f"{kind}_length"], kind)
