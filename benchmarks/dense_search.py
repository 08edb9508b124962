"""Dense search: faiss Flat and PQ indexes (irrepro.dense.index) next to numpy brute force.

1M random-but-clustered 384-d float32 vectors (MiniLM's width), 1,000 queries drawn from the same
mixture. For each index: build time, file size, queries/s at depth 1000 (the pipeline's run
depth) and recall@10 against the exact top-10 (numpy's). The numpy reference is a matrix product
per block of queries followed by argpartition and a sort of the top k.

    python benchmarks/dense_search.py                          # full size
    python benchmarks/dense_search.py --passages 20000 --name smoke
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import faiss
import numpy as np
from _common import RESULTS_DIR, Timer, machine_description, markdown_table

from irrepro.dense.index import build_index, index_size_bytes, search, write_index

PACKAGES = ("faiss-cpu", "numpy")
DIM, CLUSTERS, DEPTH, REPEAT, NUMPY_BLOCK, CHUNK = 384, 1024, 1000, 2, 100, 100_000
KINDS = ["flat", "pq6", "pq12", "pq24", "pq48", "pq96"]


def clustered(n: int, centres: np.ndarray, rotation: np.ndarray, seed: int) -> np.ndarray:
    """Each vector is a random centre plus noise whose spectrum decays like a learned
    embedding's (standard deviation of component i proportional to i^-1/2, randomly rotated), in
    total as large as the centres' own spread."""
    rng = np.random.default_rng(seed)
    scale = (np.arange(DIM) + 1.0) ** -0.5
    scale = (scale * np.sqrt(DIM / (scale**2).sum())).astype(np.float32)
    vectors = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, CHUNK):
        rows = min(CHUNK, n - start)
        noise = rng.standard_normal((rows, DIM), dtype=np.float32) * scale
        vectors[start : start + rows] = centres[rng.integers(0, len(centres), size=rows)]
        vectors[start : start + rows] += noise @ rotation
    return vectors


def numpy_top(passages: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k rows by inner product, best first."""
    rows = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), NUMPY_BLOCK):
        scores = queries[start : start + NUMPY_BLOCK] @ passages.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        rows[start : start + NUMPY_BLOCK] = np.take_along_axis(top, order, axis=1)
    return rows


def recall_at_10(rows: np.ndarray, exact: np.ndarray) -> float:
    hits = [len(np.intersect1d(a[:10], b[:10])) for a, b in zip(rows, exact, strict=True)]
    return float(np.mean(hits)) / 10


def best_time(function) -> tuple[float, object]:
    times, result = [], None
    for _ in range(REPEAT):
        with Timer() as timer:
            result = function()
        times.append(timer.seconds)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--name", default="dense_search", help="results/<name>.md")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    centres = rng.standard_normal((CLUSTERS, DIM), dtype=np.float32)
    rotation = np.linalg.qr(rng.standard_normal((DIM, DIM)))[0].astype(np.float32)
    passages = clustered(args.passages, centres, rotation, args.seed + 1)
    queries = clustered(args.queries, centres, rotation, args.seed + 2)

    numpy_s, exact = best_time(lambda: numpy_top(passages, queries, DEPTH))
    numpy_rate = f"{args.queries / numpy_s:,.0f}"
    rows = [["numpy brute force", "", f"{passages.nbytes:,}", numpy_rate, "1.000"]]
    print(rows[-1], flush=True)
    with tempfile.TemporaryDirectory(prefix="densesearch-") as tmp:
        for kind in KINDS:
            with Timer() as build:
                index = build_index(passages, kind, seed=0)
            write_index(index, Path(tmp) / f"{kind}.faiss")
            size = index_size_bytes(Path(tmp) / f"{kind}.faiss")
            seconds, (_, found) = best_time(lambda index=index: search(index, queries, DEPTH))
            rows.append(
                [
                    f"faiss `{kind}`",
                    f"{build.seconds:.1f}",
                    f"{size:,}",
                    f"{args.queries / seconds:,.0f}",
                    f"{recall_at_10(found, exact):.3f}",
                ]
            )
            print(rows[-1], flush=True)
            del index

    table = markdown_table(
        ["method", "build s", "size bytes", f"queries/s (top-{DEPTH})", "recall@10"], rows
    )
    notes = "\n".join(
        [
            f"- Vectors: {CLUSTERS:,} centres ~ N(0, 1) per dimension; each passage and query is a "
            "random centre plus noise as large in total, with a decaying spectrum (component i "
            "has standard deviation proportional to i^-1/2, in a random rotation) as learned "
            f"embeddings have (seed {args.seed}). PQ recall depends on that distribution: read it "
            "as a comparison between m values, not as a prediction for STAR's embeddings.",
            f"- queries/s: best of {REPEAT} searches of all {args.queries:,} queries for the top "
            f"{DEPTH}, {faiss.omp_get_max_threads()} faiss threads (numpy/BLAS uses the same "
            f"cores); numpy works through blocks of {NUMPY_BLOCK} queries so its score matrix "
            f"stays at {NUMPY_BLOCK * args.passages * 4 / 2**20:,.0f} MiB.",
            "- build s: training (PQ: k-means on a seeded sample of 65,536 vectors, 256 "
            "centroids per sub-quantizer) plus adding all vectors. size: the faiss file "
            "(`write_index`); for numpy, the float32 matrix.",
            "- recall@10: share of the exact top-10 (numpy's) found in the index's top-10, mean "
            "over queries. Flat must be 1.000 (same inner products up to float rounding).",
            "- pq<m>: IndexPQ, m sub-quantizers of 8 bits: m bytes per passage, 384/m dimensions "
            "per sub-quantizer; the file also holds the codebooks.",
        ]
    )
    text = "\n\n".join(
        [
            "# Dense search: faiss Flat / PQ vs numpy brute force",
            f"{args.passages:,} clustered {DIM}-d float32 vectors, {args.queries:,} queries, "
            "inner product, CPU.",
            table,
            notes,
            "## Machine",
            machine_description(PACKAGES),
        ]
    )
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{args.name}.md"
    path.write_text(text + "\n")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
