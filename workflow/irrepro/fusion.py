"""Dense-sparse hybrid ranking, Eq. 7 of the TCT-ColBERT paper, and the tuning of its weight.

Over the union of the two top-k lists of a query, score = alpha * s_sparse + s_dense, where a
document missing from one list takes the minimum score of that list for the query. A query with
no results at all in one list gets 0 for that list (any constant leaves the order unchanged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from .artefacts import QRELS, QUERIES, as_string_array, descending_id_order
from .errors import ConfigError
from .metrics import aggregate, evaluate, parse_metric

log = logging.getLogger(__name__)


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
    def of(cls, dense: pd.DataFrame, sparse: pd.DataFrame) -> JoinedRuns:
        query_codes, queries = _encode(dense["query_id"], sparse["query_id"])
        doc_codes, docs = _encode(dense["doc_id"], sparse["doc_id"])
        keys = query_codes * len(docs) + doc_codes
        split = len(dense)
        for name, part in (("dense", keys[:split]), ("sparse", keys[split:])):
            if pd.Series(part).duplicated().any():
                raise ValueError(f"the {name} run lists a document twice for a query")
        union, where = np.unique(keys, return_inverse=True)
        query = union // len(docs)
        filled = {}
        for side, rows, run in (
            ("dense", slice(0, split), dense),
            ("sparse", slice(split, None), sparse),
        ):
            scores = run["score"].to_numpy(dtype=np.float64)
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
        query_order = _ascending_order(self.queries)[self.query]
        order = np.lexsort((descending_id_order(self.docs)[self.doc], -score, query_order))
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


def _encode(*columns: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Codes (int64, over the columns concatenated) and the distinct string ids they index."""
    encoded = pc.dictionary_encode(
        pa.concat_arrays([as_string_array(column.to_numpy(dtype=object)) for column in columns])
    )
    return encoded.indices.to_numpy().astype(np.int64), encoded.dictionary


def _ascending_order(ids: pa.Array) -> np.ndarray:
    """Position of each id in ascending string order (runs list queries in id order)."""
    order = pc.sort_indices(ids).to_numpy()
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    return position


def fuse(dense: pd.DataFrame, sparse: pd.DataFrame, alpha: float, depth: int) -> pd.DataFrame:
    return JoinedRuns.of(dense, sparse).run(alpha, depth)


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
    union = JoinedRuns.of(dense, sparse)
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
