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

from .errors import ConfigError

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


def _ranked(run: pd.DataFrame, queries: pd.Index) -> pd.DataFrame:
    """The run restricted to judged queries, in trec_eval order, with positions from 1."""
    run = run.loc[run["query_id"].isin(queries), ["query_id", "doc_id", "score"]]
    if run.duplicated(["query_id", "doc_id"]).any():
        dup = run.loc[run.duplicated(["query_id", "doc_id"])].iloc[0]
        raise ValueError(f"run lists document {dup.doc_id!r} twice for query {dup.query_id!r}")
    run = run.sort_values(
        ["query_id", "score", "doc_id"], ascending=[True, False, False], kind="mergesort"
    )
    run = run.assign(position=run.groupby("query_id", sort=False).cumcount() + 1)
    return run.reset_index(drop=True)


def _ideal_dcg(qrels: pd.DataFrame, cutoff: int | None) -> pd.Series:
    gains = qrels.loc[qrels["gain"] > 0, ["query_id", "gain"]]
    gains = gains.sort_values(["query_id", "gain"], ascending=[True, False], kind="mergesort")
    position = gains.groupby("query_id", sort=False).cumcount() + 1
    keep = position <= cutoff if cutoff else np.ones(len(gains), bool)
    discounted = gains["gain"][keep] / np.log2(position[keep] + 1)
    return discounted.groupby(gains["query_id"][keep]).sum()


def evaluate(
    run: pd.DataFrame, qrels: pd.DataFrame, metrics: list[str], relevance_level: int = 1
) -> pd.DataFrame:
    """Per-query values, one row per query in `qrels` (sorted by id), one column per metric."""
    parsed = [parse_metric(name) for name in metrics]
    qrels = qrels.loc[:, ["query_id", "doc_id", "relevance"]].copy()
    qrels["gain"] = qrels["relevance"].clip(lower=0).astype(float)
    qrels["relevant"] = qrels["relevance"] >= relevance_level
    queries = pd.Index(sorted(qrels["query_id"].unique()), name="query_id")
    num_relevant = qrels.groupby("query_id")["relevant"].sum().reindex(queries, fill_value=0)

    ranked = _ranked(run, queries).merge(
        qrels[["query_id", "doc_id", "gain", "relevant"]], on=["query_id", "doc_id"], how="left"
    )
    ranked["gain"] = ranked["gain"].fillna(0.0)
    ranked["relevant"] = ranked["relevant"].astype("boolean").fillna(False).astype(bool)
    position = ranked["position"].to_numpy()
    relevant = ranked["relevant"].to_numpy()
    by_query = ranked["query_id"]

    def per_query(values: np.ndarray) -> pd.Series:
        return pd.Series(values).groupby(by_query.to_numpy()).sum().reindex(queries, fill_value=0.0)

    denominator = num_relevant.to_numpy().astype(float)
    out = pd.DataFrame(index=queries)
    for metric in parsed:
        within = position <= metric.cutoff if metric.cutoff else np.ones(len(position), bool)
        hits = relevant & within
        if metric.kind == "mrr":
            first = pd.Series(np.where(hits, position, np.inf)).groupby(by_query.to_numpy()).min()
            values = (1.0 / first).reindex(queries, fill_value=0.0)
        elif metric.kind == "recall":
            found = per_query(hits.astype(float)).to_numpy()
            values = np.divide(found, denominator, out=np.zeros_like(found), where=denominator > 0)
        elif metric.kind == "precision":
            values = per_query(hits.astype(float)) / metric.cutoff
        elif metric.kind == "map":
            hits_so_far = pd.Series(relevant.astype(float)).groupby(by_query.to_numpy()).cumsum()
            precision = np.where(hits, hits_so_far.to_numpy() / position, 0.0)
            total = per_query(precision).to_numpy()
            values = np.divide(total, denominator, out=np.zeros_like(total), where=denominator > 0)
        else:  # ndcg
            dcg = per_query(
                np.where(within, ranked["gain"].to_numpy() / np.log2(position + 1), 0.0)
            )
            ideal = _ideal_dcg(qrels, metric.cutoff).reindex(queries, fill_value=0.0)
            values = np.divide(
                dcg.to_numpy(),
                ideal.to_numpy(),
                out=np.zeros(len(queries)),
                where=ideal.to_numpy() > 0,
            )
        out[metric.name] = np.asarray(values, dtype=float)
    return out.reset_index()


def aggregate(per_query: pd.DataFrame) -> dict[str, float]:
    """Mean of every metric column over the per-query table (all judged queries)."""
    return {
        column: float(per_query[column].mean()) if len(per_query) else 0.0
        for column in per_query.columns
        if column != "query_id"
    }
