"""Dense-sparse hybrid ranking, Eq. 7 of the TCT-ColBERT paper, and the tuning of its weight.

Over the union of the two top-k lists of a query, score = alpha * s_sparse + s_dense, where a
document missing from one list takes the minimum score of that list for the query. A query with
no results at all in one list gets 0 for that list (any constant leaves the order unchanged).

Optionally each list's scores are first normalised per query (`minmax` or `zscore`, as
Pyserini's hybrid and ranx offer); `none`, the paper's Eq. 7, is the default. The weight is
tuned on a grid that is extended geometrically while the best weight lies on its edge, since
dense and sparse scores live on scales that differ from one collection and model to the next.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from .artefacts import QRELS, QUERIES, by_query_then_score
from .errors import ConfigError
from .metrics import aggregate, evaluate, parse_metric

log = logging.getLogger(__name__)

NORMALIZATIONS = ("none", "minmax", "zscore")
GROWTH = 2.0  # each grid extension doubles (or halves) the edge weight
HALVINGS = 10  # below the grid's first point: halve this many times, then try 0


@dataclass
class JoinedRuns:
    """The two runs joined on (query, doc), each side's gaps filled with its query minimum.

    Ids are dictionary-encoded once, so joining, filling and ranking work on integer codes:
    a 7,000-query hybrid of two 1,000-deep runs takes seconds, not a string merge and sort.
    """

    queries: pa.Array  # distinct query ids
    docs: pa.Array  # distinct doc ids
    query: np.ndarray  # per row of the union: code into `queries`
    doc: np.ndarray  # per row: code into `docs`
    sparse: np.ndarray
    dense: np.ndarray
    _id_frame: pd.DataFrame | None = field(default=None, repr=False)

    @classmethod
    def of(cls, dense: pd.DataFrame, sparse: pd.DataFrame, normalize: str = "none") -> JoinedRuns:
        """Query codes follow ascending query ids and document codes descending doc ids, so the
        union (sorted by query, then document code) is already in trec_eval's tie order."""
        query_codes, queries = _encode(dense["query_id"], sparse["query_id"], descending=False)
        doc_codes, docs = _encode(dense["doc_id"], sparse["doc_id"], descending=True)
        keys = query_codes * len(docs) + doc_codes
        split = len(dense)
        union, where = np.unique(keys, return_inverse=True)
        for name, rows in (("dense", where[:split]), ("sparse", where[split:])):
            if len(rows) and np.bincount(rows, minlength=len(union)).max() > 1:
                raise ValueError(f"the {name} run lists a document twice for a query")
        query = union // len(docs)
        filled = {}
        for side, rows, run in (
            ("dense", slice(0, split), dense),
            ("sparse", slice(split, None), sparse),
        ):
            scores = normalized(
                query_codes[rows], run["score"].to_numpy(dtype=np.float64), normalize, len(queries)
            )
            minimum = np.full(len(queries), np.inf)
            np.minimum.at(minimum, query_codes[rows], scores)
            minimum[np.isinf(minimum)] = 0.0  # a query this run has no result for
            values = minimum[query]
            values[where[rows]] = scores
            filled[side] = values
        return cls(queries, docs, query, union % len(docs), filled["sparse"], filled["dense"])

    def scores(self, alpha: float) -> pd.DataFrame:
        """The fused run, unordered (rank 0): evaluation orders it the trec_eval way."""
        ids = self._ids()  # shared by every alpha: assign leaves it untouched (copy on write)
        return ids.assign(
            rank=np.zeros(len(ids), dtype=np.int32), score=alpha * self.sparse + self.dense
        )

    def run(self, alpha: float, depth: int) -> pd.DataFrame:
        """The fused run in trec_eval order (score descending, doc id descending on ties), cut
        to `depth` per query."""
        score = alpha * self.sparse + self.dense
        # equal scores keep the union's order: doc id descending (see `of`)
        order = by_query_then_score(self.query, score, len(self.queries))
        query = self.query[order]
        starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)])) + 1
        keep = order[rank <= depth]
        return pa.table(
            {
                "query_id": self.queries.take(pa.array(self.query[keep])),
                "doc_id": self.docs.take(pa.array(self.doc[keep])),
                "rank": pa.array(rank[rank <= depth].astype(np.int32)),
                "score": pa.array(score[keep]),
            }
        ).to_pandas()

    def _ids(self) -> pd.DataFrame:
        """query_id and doc_id of every union row as strings, built once for all alphas."""
        if self._id_frame is None:
            self._id_frame = pa.table(
                {
                    "query_id": self.queries.take(pa.array(self.query)),
                    "doc_id": self.docs.take(pa.array(self.doc)),
                }
            ).to_pandas()
        return self._id_frame


def _encode(*columns: pd.Series, descending: bool) -> tuple[np.ndarray, pa.Array]:
    """Codes (int64, over the columns concatenated) and the distinct string ids they index,
    the codes numbering the ids in ascending or descending string order. Arrow-backed columns
    (pandas' default strings) are read without a copy to Python objects."""
    chunks = [pa.array(column, from_pandas=True).cast(pa.large_string()) for column in columns]
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, pa.large_string())).unify_dictionaries()
    codes = np.concatenate(
        [chunk.indices.to_numpy(zero_copy_only=False) for chunk in encoded.chunks]
        or [np.zeros(0, np.int32)]
    ).astype(np.int64)
    ids = encoded.chunks[0].dictionary if encoded.num_chunks else pa.array([], pa.large_string())
    order = pc.sort_indices(ids, sort_keys=[("x", "descending" if descending else "ascending")])
    position = np.empty(len(ids), dtype=np.int64)
    position[order.to_numpy()] = np.arange(len(ids))
    return position[codes], ids.take(order)


def normalized(query: np.ndarray, scores: np.ndarray, how: str, n_queries: int) -> np.ndarray:
    """Each query's scores min-max scaled to [0, 1] or z-scored (population std); a query whose
    scores are all equal gets 0s. `none` leaves them as they are."""
    if how == "none":
        return scores
    if how == "minmax":
        low, high = np.full(n_queries, np.inf), np.full(n_queries, -np.inf)
        np.minimum.at(low, query, scores)
        np.maximum.at(high, query, scores)
        centre, spread = low, high - low
    elif how == "zscore":
        count = np.maximum(np.bincount(query, minlength=n_queries), 1)
        centre = np.bincount(query, scores, n_queries) / count
        spread = np.sqrt(np.bincount(query, (scores - centre[query]) ** 2, n_queries) / count)
    else:
        raise ConfigError(f"fusion.normalize: {how!r} is not one of {', '.join(NORMALIZATIONS)}")
    spread = np.where(spread > 0, spread, 1.0)
    return (scores - centre[query]) / spread[query]


def fuse(
    dense: pd.DataFrame, sparse: pd.DataFrame, alpha: float, depth: int, normalize: str = "none"
) -> pd.DataFrame:
    return JoinedRuns.of(dense, sparse, normalize).run(alpha, depth)


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
    normalize: str = "none",
    extend: bool = True,
    max_alpha: float = 1000.0,
) -> dict:
    """The alpha with the best mean `metric` (the smallest such alpha on a tie), with every
    point tried. While the best lies on the grid's last point (or on its first, unless that is
    0), the grid is extended geometrically, up to `max_alpha` above and down to 0 below; with
    `extend` False a best on the edge is an error naming the grid and the value found."""
    parse_metric(metric)
    union = JoinedRuns.of(dense, sparse, normalize)
    values: dict[float, float] = {}

    def evaluate_at(points) -> tuple[float, float]:
        for alpha in tqdm(points, unit="alpha", desc="tuning fusion", leave=False):
            fused = union.scores(alpha)
            values[alpha] = aggregate(evaluate(fused, qrels, [metric], relevance_level))[metric]
        return max(values.items(), key=lambda item: (item[1], -item[0]))

    best, value = evaluate_at(alphas)
    configured = (min(alphas), max(alphas))
    edge = _grid_edge(best, values)
    if edge and not extend:
        raise ConfigError(
            f"fusion: the best alpha {best:g} ({metric} {value:.4f}) is the {edge} point of the "
            f"grid [{configured[0]:g}, {configured[1]:g}]; widen fusion.alpha, try "
            "fusion.normalize, or allow fusion.alpha.extend"
        )
    halvings = 0
    while edge:
        if edge == "last":
            point = best * GROWTH
            if point > max_alpha:
                log.warning("best alpha %g is the largest tried; not beyond %g", best, max_alpha)
                break
        else:
            halvings += 1
            point = best / GROWTH if halvings <= HALVINGS else 0.0
        log.info("best alpha %g is the %s point of the grid: trying %g", best, edge, point)
        best, value = evaluate_at([point])
        edge = _grid_edge(best, values)
    log.info("best alpha %g: %s %.4f", best, metric, value)
    return {
        "alpha": best,
        "metric": metric,
        "value": value,
        "queries": int(qrels["query_id"].nunique()),
        "normalize": normalize,
        "extended": len(values) > len(set(alphas)),
        "configured": {"start": configured[0], "stop": configured[1], "points": len(alphas)},
        "score_scale": {"dense": score_scale(dense), "sparse": score_scale(sparse)},
        "grid": [{"alpha": a, metric: values[a]} for a in sorted(values)],
    }


def _grid_edge(best: float, values: dict[float, float]) -> str | None:
    """ "first" or "last" when `best` is an edge of the points tried (0 is a true edge)."""
    if len(values) > 1 and best == max(values):
        return "last"
    if len(values) > 1 and best == min(values) and best > 0:
        return "first"
    return None


def score_scale(run: pd.DataFrame, depth: int = 1000) -> dict[str, float]:
    """Mean and standard deviation of a run's top-`depth` scores, and their range: why the
    weight between two runs is what it is."""
    scores = run.loc[run["rank"] <= depth, "score"].to_numpy(dtype=np.float64)
    if len(scores) == 0:
        return {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}
    return {
        "mean": float(scores.mean()),
        "std": float(scores.std()),
        "min": float(scores.min()),
        "max": float(scores.max()),
    }


def read_tuned(path) -> tuple[float, str]:
    """(alpha, normalisation) of a tune_fusion result: fusing and timing use both."""
    tuned = json.loads(Path(path).read_text())
    return tuned["alpha"], tuned.get("normalize", "none")


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
