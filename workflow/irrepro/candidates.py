"""Reranking a first-stage run (BM25 top-1000): each query's candidates, the registry's scorers
(`scorer` of a model's family), and the bi-encoder's, which needs numpy only.

A bi-encoder reranks with the vectors its encoding job stored (the passages', and the queries'
beside them: irrepro.dense.embeddings), so its job imports neither torch nor transformers.
ColBERT's MaxSim and the cross-encoder run a model (irrepro.rerank); they are imported only by
the jobs that use them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import runtime
from .artefacts import QUERIES, RUN, RunWriter, export_trec_run, read_table
from .dense.embeddings import EmbeddingStore, embedding_doc_ids, read_query_vectors
from .lookup import row_lookup, stored_queries_path

log = logging.getLogger(__name__)


class Candidates:
    """Each query's first-stage top-`depth` as corpus rows, in the order of `queries`."""

    def __init__(self, run_path, queries: pd.DataFrame, row_of, depth: int):
        run = read_table(run_path, RUN)
        run = run[run["rank"] <= depth].sort_values(["query_id", "rank"], kind="mergesort")
        rows = row_of(run["doc_id"].to_numpy(dtype=object))
        grouped = pd.Series(rows).groupby(run["query_id"].to_numpy()).agg(list)
        self.query_ids = [q for q in queries["query_id"].astype(str) if q in grouped.index]
        texts = dict(zip(queries["query_id"].astype(str), queries["text"], strict=True))
        self.texts = [str(texts[q]) for q in self.query_ids]
        self.rows = [np.asarray(grouped[q], dtype=np.int64) for q in self.query_ids]
        missing = len(queries) - len(self.query_ids)
        if missing:
            log.info("%d queries have no first-stage results and get none", missing)

    def __len__(self) -> int:
        return len(self.query_ids)

    def groups(self, doc_budget: int) -> Iterator[slice]:
        """Consecutive queries whose distinct candidates stay within doc_budget (at least one)."""
        start, seen = 0, set()
        for i, rows in enumerate(self.rows):
            if seen and len(seen | set(rows.tolist())) > doc_budget:
                yield slice(start, i)
                start, seen = i, set()
            seen.update(rows.tolist())
        if start < len(self.rows):
            yield slice(start, len(self.rows))

    def padded(self, part: slice, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return padded(self.rows[part], scores)


def padded(rows: list[np.ndarray], scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-query rows and scores as (queries, k) matrices padded with -1 rows, for RunWriter."""
    width = max((len(r) for r in rows), default=0)
    out_rows = np.full((len(rows), width), -1, dtype=np.int64)
    out_scores = np.full((len(rows), width), -np.inf)
    for i, (r, s) in enumerate(zip(rows, scores, strict=True)):
        out_rows[i, : len(r)], out_scores[i, : len(r)] = r, s
    return out_rows, out_scores


@dataclass(frozen=True)
class RerankSplit:
    """One split a rerank job serves: the first-stage run, its queries, the two outputs, and
    the split whose stored query vectors hold its queries (a bi-encoder's; tune: train's)."""

    run: str
    queries: str
    out: str
    trec: str
    vector_split: str = ""

    def candidates(self, row_of, depth: int) -> Candidates:
        return Candidates(self.run, read_table(self.queries, QUERIES), row_of, depth)


def rerank_biencoder(
    store: EmbeddingStore,
    doc_ids: np.ndarray,
    candidates: Candidates,
    out_path: str | Path,
    query_vectors: np.ndarray,
    batch_size: int = 256,
) -> None:
    """Dot products of the query vectors (a row per query of `candidates`, in its order) with
    the candidates' stored passage vectors."""
    bar = tqdm(total=len(candidates), unit="query", desc="bi-encoder reranking")
    with RunWriter(out_path, doc_ids) as writer, bar:
        for start in range(0, len(candidates), batch_size):
            part = slice(start, min(start + batch_size, len(candidates)))
            pairs = zip(query_vectors[part], candidates.rows[part], strict=True)
            scores = [store.rows(rows) @ vector for vector, rows in pairs]
            writer.add(candidates.query_ids[part], *candidates.padded(part, scores))
            bar.update(part.stop - part.start)


def rerank_with_stored_vectors(inputs: dict, splits: list[RerankSplit], settings: dict) -> None:
    doc_ids = embedding_doc_ids(inputs["embeddings"])
    store, row_of = EmbeddingStore(inputs["embeddings"]), row_lookup(doc_ids)
    for split in splits:
        candidates = split.candidates(row_of, settings["depth"])
        stored = stored_queries_path(inputs["embeddings"], split.vector_split)
        vectors = read_query_vectors(stored, candidates.query_ids)
        rerank_biencoder(store, doc_ids, candidates, split.out, vectors)


SCORERS = {  # the ones that run a model live with it, imported by the jobs that use it
    "maxsim": "irrepro.rerank:rerank_with_maxsim",
    "stored-vectors": rerank_with_stored_vectors,
    "cross-encoder": "irrepro.rerank:rerank_with_cross_encoder",
}


def rerank_runs(
    scorer: str,
    inputs: dict,
    splits: list[RerankSplit],
    settings: dict,
    tag: str,
    precision: str = "auto",
) -> list[pd.DataFrame]:
    """Rerank each split's run into its `out` (and TREC file) with a registry scorer, whose
    model and passages load once for all of them. inputs: corpus, model, or a bi-encoder's
    embeddings. `precision`: a model's (irrepro.precision)."""
    function = SCORERS[scorer]
    if isinstance(function, str):  # runs a model
        runtime.use_precision(precision)
        function = runtime.resolve(function)
    function(inputs, splits, settings)
    return [export_trec_run(split.out, split.trec, tag) for split in splits]
