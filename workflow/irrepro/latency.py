"""Per-query latency of a dense-sparse hybrid, TCT-ColBERT's Table 2: query encoding, dense
search of the top-k, and score combination, each timed one query at a time as a server would
answer them (sparse retrieval runs in parallel on the CPU and is not on the critical path).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd
import torch

from .dense.index import on_device, search
from .dense.model import BiEncoder
from .fusion import fuse

UNTIMED_QUERIES = 5  # run first, not timed: the first calls pay one-off costs


def measure_hybrid_latency(
    model: BiEncoder,
    index,
    doc_ids: np.ndarray,
    queries: pd.DataFrame,
    sparse_run: pd.DataFrame,
    alpha: float,
    depth: int,
    query_length: int,
    count: int,
    seed: int = 0,
    normalize: str = "none",
) -> dict:
    """Mean and median milliseconds per stage over `count` sampled queries (after a few
    untimed ones that warm caches and kernels)."""
    rng = np.random.default_rng(seed)
    size = min(len(queries), count + UNTIMED_QUERIES)
    sample = queries.iloc[np.sort(rng.choice(len(queries), size=size, replace=False))]
    index = on_device(index)
    depth = min(depth, index.ntotal)
    sparse_by_query = dict(tuple(sparse_run.groupby("query_id", sort=False)))
    empty = sparse_run.iloc[:0]
    model.eval()
    timings = {"encode_ms": [], "search_ms": [], "fusion_ms": []}
    for n, (query_id, text) in enumerate(zip(sample["query_id"], sample["text"], strict=True)):
        start = time.perf_counter()
        vector = model.encode([str(text)], query_length, batch_size=1, kind="query")
        sync()
        encoded = time.perf_counter()
        scores, rows = search(index, vector, depth)
        searched = time.perf_counter()
        keep = rows[0] >= 0
        dense = pd.DataFrame(
            {"query_id": query_id, "doc_id": doc_ids[rows[0][keep]], "score": scores[0][keep]}
        )
        fuse(dense, sparse_by_query.get(query_id, empty), alpha, depth, normalize)
        fused = time.perf_counter()
        if n >= UNTIMED_QUERIES or size <= UNTIMED_QUERIES:
            timings["encode_ms"].append((encoded - start) * 1e3)
            timings["search_ms"].append((searched - encoded) * 1e3)
            timings["fusion_ms"].append((fused - searched) * 1e3)
    result = {name: statistics.fmean(values) for name, values in timings.items()}
    result.update({f"{name}_median": statistics.median(v) for name, v in timings.items()})
    result["total_ms"] = result["encode_ms"] + result["search_ms"] + result["fusion_ms"]
    result.update(
        queries=len(timings["encode_ms"]),
        depth=depth,
        passages=int(index.ntotal),
        device="cuda" if model.device.type == "cuda" else "cpu",
        threads=torch.get_num_threads(),
    )
    return result


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
