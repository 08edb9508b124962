"""Dense-sparse hybrid ranking, Eq. 7 of the TCT-ColBERT paper, and the tuning of its weight.

Over the union of the two top-k lists of a query, score = alpha * s_sparse + s_dense, where a
document missing from one list takes the minimum score of that list for the query. A query with
no results at all in one list gets 0 for that list (any constant leaves the order unchanged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from .artefacts import QRELS, QUERIES, sort_run
from .errors import ConfigError
from .metrics import aggregate, evaluate, parse_metric

log = logging.getLogger(__name__)


@dataclass
class Union:
    """The two runs joined on (query, doc), each side's gaps filled with its query minimum."""

    query_id: np.ndarray
    doc_id: np.ndarray
    sparse: np.ndarray
    dense: np.ndarray

    @classmethod
    def of(cls, dense: pd.DataFrame, sparse: pd.DataFrame) -> Union:
        keys = ["query_id", "doc_id"]
        for name, run in (("dense", dense), ("sparse", sparse)):
            if run.duplicated(keys).any():
                raise ValueError(f"the {name} run lists a document twice for a query")
        merged = pd.merge(
            dense[[*keys, "score"]].rename(columns={"score": "dense"}),
            sparse[[*keys, "score"]].rename(columns={"score": "sparse"}),
            on=keys,
            how="outer",
        )
        filled = {}
        for side, run in (("dense", dense), ("sparse", sparse)):
            minimum = run.groupby("query_id")["score"].min()
            floor = merged["query_id"].map(minimum).fillna(0.0)
            filled[side] = merged[side].fillna(floor).to_numpy(dtype=np.float64)
        return cls(
            merged["query_id"].to_numpy(dtype=object),
            merged["doc_id"].to_numpy(dtype=object),
            filled["sparse"],
            filled["dense"],
        )

    def scores(self, alpha: float) -> pd.DataFrame:
        """The fused run, unordered (rank 0): evaluation orders it the trec_eval way."""
        return pd.DataFrame(
            {
                "query_id": self.query_id,
                "doc_id": self.doc_id,
                "rank": np.zeros(len(self.doc_id), dtype=np.int32),
                "score": alpha * self.sparse + self.dense,
            }
        )

    def run(self, alpha: float, depth: int) -> pd.DataFrame:
        """The fused run in trec_eval order, cut to `depth` per query."""
        run = sort_run(self.scores(alpha))
        return run[run["rank"] <= depth].reset_index(drop=True)


def fuse(dense: pd.DataFrame, sparse: pd.DataFrame, alpha: float, depth: int) -> pd.DataFrame:
    return Union.of(dense, sparse).run(alpha, depth)


def alpha_grid(spec: dict) -> list[float]:
    """start, start + step, ..., stop (inclusive, rounded so 0.1 prints as 0.1)."""
    start, stop, step = float(spec["start"]), float(spec["stop"]), float(spec["step"])
    if step <= 0 or stop < start:
        raise ConfigError(f"fusion.alpha: need step > 0 and stop >= start, got {spec}")
    count = int(np.floor((stop - start) / step + 1e-9)) + 1
    return [round(start + i * step, 10) for i in range(count)]


def tune_alpha(
    dense: pd.DataFrame,
    sparse: pd.DataFrame,
    qrels: pd.DataFrame,
    alphas: list[float],
    metric: str,
    relevance_level: int = 1,
) -> dict:
    """The alpha of the grid with the best mean `metric` (the smallest such alpha on a tie),
    with the whole grid's values."""
    parse_metric(metric)
    union = Union.of(dense, sparse)
    grid = []
    for alpha in tqdm(alphas, unit="alpha", desc="tuning fusion"):
        value = aggregate(evaluate(union.scores(alpha), qrels, [metric], relevance_level))[metric]
        grid.append({"alpha": alpha, metric: value})
    best = max(grid, key=lambda row: (row[metric], -row["alpha"]))
    log.info("best alpha %g: %s %.4f", best["alpha"], metric, best[metric])
    return {
        "alpha": best["alpha"],
        "metric": metric,
        "value": best[metric],
        "queries": int(qrels["query_id"].nunique()),
        "grid": grid,
    }


def sample_queries(
    queries: pd.DataFrame, qrels: pd.DataFrame, count: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`count` queries drawn without replacement among those with a relevant judgment (all of
    them when there are fewer), with their qrels: the paper tunes alpha on 6,000 train queries."""
    judged = np.sort(qrels.loc[qrels["relevance"] > 0, "query_id"].unique())
    judged = judged[np.isin(judged, queries["query_id"].to_numpy())]
    if len(judged) == 0:
        raise ValueError("no query with a relevant judgment to tune the fusion weight on")
    rng = np.random.default_rng(seed)
    picked = set(rng.choice(judged, size=min(count, len(judged)), replace=False).tolist())
    sampled_queries = queries[queries["query_id"].isin(picked)].reset_index(drop=True)
    sampled_qrels = qrels[qrels["query_id"].isin(picked)].reset_index(drop=True)
    return sampled_queries[list(QUERIES.names)], sampled_qrels[list(QRELS.names)]
