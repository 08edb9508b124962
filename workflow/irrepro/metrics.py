"""Ranking metrics with trec_eval's semantics, vectorised over whole runs.

Conventions (the ones trec_eval and the MS MARCO scripts use):
- a run is ordered by score descending, ties by doc_id descending; its `rank` column is ignored;
- unjudged documents are non-relevant; binary metrics (MRR, R, P, MAP) count a document as
  relevant when its grade >= `relevance_level` (trec_eval -l; DL19 uses 2), nDCG uses the grades
  themselves as gains (negative grades count 0);
- the mean is taken over every query in the qrels (trec_eval -c): a query the run misses scores 0.
  Queries in the run without judgments are ignored.
Metric names: MRR@k, R@k, P@k, nDCG@k, MAP (and nDCG / MRR without a cutoff).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .artefacts import by_query_then_score
from .errors import ConfigError
from .logs import Tally

_NAME = re.compile(r"^(MRR|RR|R|Recall|P|nDCG|NDCG|MAP|AP)(?:@(\d+))?$")
_KINDS = {
    "MRR": "mrr",
    "RR": "mrr",
    "R": "recall",
    "Recall": "recall",
    "P": "precision",
    "nDCG": "ndcg",
    "NDCG": "ndcg",
    "MAP": "map",
    "AP": "map",
}


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str
    cutoff: int | None


def parse_metric(name: str) -> Metric:
    match = _NAME.match(name.strip())
    if not match:
        raise ConfigError(f"unknown metric {name!r}: use MRR@k, R@k, P@k, nDCG@k or MAP")
    kind = _KINDS[match.group(1)]
    cutoff = int(match.group(2)) if match.group(2) else None
    if kind in ("recall", "precision") and cutoff is None:
        raise ConfigError(f"metric {name!r} needs a cutoff, e.g. {name}@100")
    if cutoff is not None and cutoff < 1:
        raise ConfigError(f"metric {name!r}: the cutoff must be positive")
    return Metric(name, kind, cutoff)


def _arrow_strings(column: pd.Series) -> pa.Array:
    array = pa.array(column, type=pa.string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _check_unique(query: np.ndarray, doc_ids: pa.Array, run: pd.DataFrame) -> None:
    codes = doc_ids.dictionary_encode().indices.to_numpy(zero_copy_only=False).astype(np.int64)
    keys = query.astype(np.int64) * (int(codes.max(initial=0)) + 1) + codes
    ordered = np.sort(keys)
    if (ordered[1:] == ordered[:-1]).any():
        row = int(np.flatnonzero(pd.Series(keys).duplicated().to_numpy())[0])
        raise ValueError(
            f"run lists document {run['doc_id'].iloc[row]!r} twice for query "
            f"{run['query_id'].iloc[row]!r}"
        )


def _trec_eval_order(
    query: np.ndarray, score: np.ndarray, doc_ids: pa.Array, n_queries: int
) -> np.ndarray:
    """Row order by query, score descending, doc_id descending. Strings are compared only
    inside groups of equal scores, which are few in real runs."""
    order = by_query_then_score(query, score, n_queries)
    q, s = query[order], score[order]
    same = (q[1:] == q[:-1]) & (s[1:] == s[:-1])
    if not same.any():
        return order
    tied = np.zeros(len(order), bool)
    tied[1:] |= same
    tied[:-1] |= same
    rows = order[tied]
    group = np.cumsum(np.r_[True, ~same])[tied]
    by_doc = pc.sort_indices(
        pa.table({"group": group, "doc": doc_ids.take(pa.array(rows))}),
        sort_keys=[("group", "ascending"), ("doc", "descending")],
    ).to_numpy()
    order[tied] = rows[by_doc]
    return order


@dataclass
class _Ranked:
    """The run restricted to judged queries, in trec_eval order, joined with the judgments."""

    query: np.ndarray  # code of the query (index into the sorted judged query ids)
    position: np.ndarray  # rank from 1 within its query
    gain: np.ndarray
    relevant: np.ndarray


def _positions(values: pa.Array, index: pd.Index) -> np.ndarray:
    """Each value's position in `index` (-1 if absent): Arrow's hash lookup, no Python strings."""
    found = pc.index_in(values, value_set=pa.array(index, pa.string()))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _rank(run: pd.DataFrame, qrels: pd.DataFrame, queries: pd.Index, level: int) -> _Ranked:
    query = _positions(_arrow_strings(run["query_id"]), queries)
    judged = query >= 0
    if not judged.all():
        run, query = run.loc[judged], query[judged]
    doc_ids = _arrow_strings(run["doc_id"])
    _check_unique(query, doc_ids, run)
    order = _trec_eval_order(query, run["score"].to_numpy(dtype=float), doc_ids, len(queries))
    query = query[order]
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    position = np.arange(len(query)) - np.repeat(starts, np.diff(np.r_[starts, len(query)])) + 1
    # judgments, looked up through the (few) judged documents' codes
    judged_docs = pd.Index(qrels["doc_id"].unique())
    stride = len(judged_docs) + 1
    run_keys = query.astype(np.int64) * stride + _positions(doc_ids, judged_docs)[order] + 1
    judged_keys = (
        queries.get_indexer(qrels["query_id"]).astype(np.int64) * stride
        + judged_docs.get_indexer(qrels["doc_id"])
        + 1
    )
    by_key = np.argsort(judged_keys)
    sorted_keys = judged_keys[by_key]
    found = np.clip(np.searchsorted(sorted_keys, run_keys), 0, len(sorted_keys) - 1)
    hit = sorted_keys[found] == run_keys
    grade = np.where(hit, qrels["relevance"].to_numpy()[by_key][found], 0)
    return _Ranked(query, position, np.clip(grade, 0, None).astype(float), hit & (grade >= level))


def _ideal_dcg(qrels: pd.DataFrame, queries: pd.Index, cutoff: int | None) -> np.ndarray:
    gains = qrels["relevance"].clip(lower=0).to_numpy(dtype=float)
    query = queries.get_indexer(qrels["query_id"])
    keep = gains > 0
    gains, query = gains[keep], query[keep]
    order = np.lexsort((-gains, query))
    gains, query = gains[order], query[order]
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]]) if len(query) else np.array([])
    position = np.arange(len(query)) - np.repeat(starts, np.diff(np.r_[starts, len(query)])) + 1
    within = position <= cutoff if cutoff else np.ones(len(position), bool)
    return np.bincount(
        query[within], weights=gains[within] / np.log2(position[within] + 1), minlength=len(queries)
    )


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def unanswered(run: pd.DataFrame, qrels: pd.DataFrame) -> Tally:
    """Judged queries the run returned nothing for (every metric scores them 0)."""
    missing = sorted(set(qrels["query_id"]) - set(run["query_id"]))
    return Tally.of("judged queries with no results", missing)


def evaluate(
    run: pd.DataFrame, qrels: pd.DataFrame, metrics: list[str], relevance_level: int = 1
) -> pd.DataFrame:
    """Per-query values, one row per query in `qrels` (sorted by id), one column per metric."""
    parsed = [parse_metric(name) for name in metrics]
    queries = pd.Index(np.sort(qrels["query_id"].unique()), name="query_id")
    n = len(queries)
    ranked = _rank(run, qrels, queries, relevance_level)
    num_relevant = np.bincount(
        queries.get_indexer(qrels["query_id"]),
        weights=(qrels["relevance"] >= relevance_level).to_numpy(dtype=float),
        minlength=n,
    )

    def per_query(values: np.ndarray) -> np.ndarray:
        return np.bincount(ranked.query, weights=values, minlength=n)

    out = pd.DataFrame(index=queries)
    for metric in parsed:
        within = ranked.position <= (metric.cutoff or np.inf)
        hits = ranked.relevant & within
        if metric.kind == "mrr":
            first = np.full(n, np.inf)
            np.minimum.at(first, ranked.query[hits], ranked.position[hits])
            values = 1.0 / first
        elif metric.kind == "recall":
            values = _safe_divide(per_query(hits.astype(float)), num_relevant)
        elif metric.kind == "precision":
            values = per_query(hits.astype(float)) / metric.cutoff
        elif metric.kind == "map":
            hits_so_far = _cumsum_by_query(ranked.relevant.astype(float), ranked.position)
            precision = np.where(hits, hits_so_far / ranked.position, 0.0)
            values = _safe_divide(per_query(precision), num_relevant)
        else:  # ndcg
            discounted = np.where(within, ranked.gain / np.log2(ranked.position + 1), 0.0)
            values = _safe_divide(per_query(discounted), _ideal_dcg(qrels, queries, metric.cutoff))
        out[metric.name] = np.asarray(values, dtype=float)
    return out.reset_index()


def _cumsum_by_query(values: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Running sum restarting where a new query starts (position 1)."""
    total = np.cumsum(values)
    starts = np.flatnonzero(position == 1)
    offsets = np.repeat(total[starts] - values[starts], np.diff(np.r_[starts, len(values)]))
    return total - offsets


def aggregate(per_query: pd.DataFrame) -> dict[str, float]:
    """Mean of every metric column over the per-query table (all judged queries)."""
    return {
        column: float(per_query[column].mean()) if len(per_query) else 0.0
        for column in per_query.columns
        if column != "query_id"
    }
