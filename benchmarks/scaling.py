"""How cost grows with the corpus: BM25 indexing and retrieval, flat and PQ search, SPLADE
retrieval, fusion and evaluation at 10k, 100k and 1M passages, and the projection to MS MARCO.

Every stage runs in its own spawned process (its peak RSS is its own) on the synthetic data of
bm25_throughput.py, dense_search.py and splade_speed.py: 1,000 queries, depth 1,000, 2 threads.
Each stage's slope is the exponent of time (and of memory) between the two largest sizes, and
the projection to 8,841,823 passages extends the largest size by it. Encoding is not here: a
passage's encoding does not depend on the corpus (dense_encode.md measures its rate).

    python benchmarks/scaling.py                          # about 10 minutes
    python benchmarks/scaling.py --sizes 2000 20000 --name scaling_smoke
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import OtherCPU, Timer, in_fresh_process, markdown_table, peak_rss_mib, write_result
from bm25_throughput import DEPTH, THREADS, generate, ours_index, ours_retrieve

from irrepro.artefacts import QUERIES, RUN, RunWriter, read_table

MSMARCO_PASSAGES, QUERY_COUNT, VOCABULARY, SEED = 8_841_823, 1_000, 200_000, 42
DENSE_KINDS = ("flat", "pq24")
METRICS = ["MRR@10", "R@1000", "nDCG@10"]


def dense_stage(kind: str, n: int, work: str) -> dict:
    """Build a faiss index of n clustered 384-d vectors and search it; writes the run."""
    import faiss
    from dense_search import CLUSTERS, DIM, clustered

    from irrepro.dense.index import build_index, search

    faiss.omp_set_num_threads(THREADS)
    rng = np.random.default_rng(SEED)
    centres = rng.standard_normal((CLUSTERS, DIM), dtype=np.float32)
    rotation = np.linalg.qr(rng.standard_normal((DIM, DIM)))[0].astype(np.float32)
    passages = clustered(n, centres, rotation, SEED + 1)
    queries = clustered(QUERY_COUNT, centres, rotation, SEED + 2)
    with Timer() as build:
        index = build_index(passages, kind, seed=0)
    del passages
    with Timer() as timer:
        scores, rows = search(index, queries, DEPTH)
    query_ids = read_table(Path(work) / "queries.parquet", QUERIES)["query_id"]
    with RunWriter(Path(work) / f"{kind}.parquet", [str(i) for i in range(n)]) as writer:
        writer.add(query_ids.tolist(), rows, scores)
    return {"build_s": build.seconds, "seconds": timer.seconds, "peak_mib": peak_rss_mib()}


def splade_stage(n: int) -> dict:
    """Exact top-1000 over n synthetic SPLADE documents (103 non-zeros each, 19 per query)."""
    import numba
    from splade_speed import synthetic

    from irrepro.splade.index import SparseIndex

    numba.set_num_threads(THREADS)
    documents = synthetic(n, 103, SEED)
    queries = synthetic(QUERY_COUNT, 19, SEED + 1)
    with Timer() as build:
        index = SparseIndex.from_matrix(documents, [str(i) for i in range(n)])
    del documents
    index.search(queries[:2], DEPTH)  # compiled, or loaded from numba's cache
    started = time.perf_counter()
    index.search(queries, DEPTH)
    seconds = time.perf_counter() - started
    return {"build_s": build.seconds, "seconds": seconds, "peak_mib": peak_rss_mib()}


def fusion_and_evaluation_stage(work: str, n: int) -> dict:
    """Eq. 7 fusion of the BM25 and flat runs, then MRR@10, R@1000, nDCG@10 of the BM25 run
    against one random judged passage per query (the cost does not depend on hits)."""
    from irrepro.fusion import fuse
    from irrepro.metrics import evaluate

    bm25 = read_table(Path(work) / "run.parquet", RUN)
    flat = read_table(Path(work) / "flat.parquet", RUN)
    with Timer() as fusion:
        fuse(flat, bm25, 0.5, DEPTH)
    query_ids = read_table(Path(work) / "queries.parquet", QUERIES)["query_id"]
    judged = np.random.default_rng(SEED).integers(0, n, size=len(query_ids))
    qrels = pd.DataFrame({"query_id": query_ids, "doc_id": judged.astype(str), "relevance": 1})
    with Timer() as evaluation:
        evaluate(bm25, qrels, METRICS)
    return {
        "fusion_s": fusion.seconds,
        "evaluation_s": evaluation.seconds,
        "rows": len(bm25) + len(flat),
        "peak_mib": peak_rss_mib(),
    }


def measure(n: int) -> dict[str, dict]:
    """Every stage at n passages: {stage: {"seconds", "peak_mib" (where measured)}}."""
    stages = {}
    with tempfile.TemporaryDirectory(prefix=f"scaling-{n}-") as work:
        in_fresh_process(generate, work, n, QUERY_COUNT, VOCABULARY, SEED)
        index = in_fresh_process(ours_index, f"{work}/corpus.parquet", f"{work}/bm25")
        stages["BM25 indexing"] = {"seconds": index["index_s"], "peak_mib": index["peak_mib"]}
        retrieve = in_fresh_process(
            ours_retrieve, f"{work}/bm25", f"{work}/queries.parquet", f"{work}/run.parquet"
        )
        stages["BM25 retrieval"] = {
            "seconds": retrieve["retrieve_s"],
            "peak_mib": retrieve["peak_mib"],
        }
        for kind in DENSE_KINDS:
            dense = in_fresh_process(dense_stage, kind, n, work)
            stages[f"faiss `{kind}` build"] = {"seconds": dense["build_s"]}
            stages[f"faiss `{kind}` search"] = dense
        splade = in_fresh_process(splade_stage, n)
        stages["SPLADE index (CSC)"] = {"seconds": splade["build_s"]}
        stages["SPLADE retrieval"] = splade
        late = in_fresh_process(fusion_and_evaluation_stage, work, n)
        stages["fusion (BM25 + flat)"] = {"seconds": late["fusion_s"], "peak_mib": late["peak_mib"]}
        stages["evaluation (3 metrics)"] = {"seconds": late["evaluation_s"]}
    print(n, {k: round(v["seconds"], 2) for k, v in stages.items()}, flush=True)
    return stages


def slope(small: float, large: float, ratio: float) -> float:
    return math.log(large / small) / math.log(ratio) if small > 0 and large > 0 else float("nan")


def linear_projection(small: float, large: float, sizes: tuple[int, int]) -> float:
    """A fixed cost plus a cost per passage, fitted through the two largest sizes."""
    per_passage = (large - small) / (sizes[1] - sizes[0])
    return large + max(per_passage, 0.0) * (MSMARCO_PASSAGES - sizes[1])


def report(sizes: list[int], results: dict[int, dict]) -> list[str]:
    small, large = sizes[-2], sizes[-1]
    ratio = large / small
    headers = [
        "stage",
        *[f"s at {n:,}" for n in sizes],
        "time slope",
        *[f"peak MiB at {n:,}" for n in sizes],
        "memory slope",
        f"projected s at {MSMARCO_PASSAGES:,}",
        "projected peak GiB",
    ]
    rows = []
    for stage in results[large]:
        seconds = [results[n][stage]["seconds"] for n in sizes]
        memory = [results[n][stage].get("peak_mib") for n in sizes]
        has_memory = memory[-1] is not None
        rows.append(
            [
                stage,
                *[f"{s:.2f}" for s in seconds],
                f"{slope(seconds[-2], seconds[-1], ratio):.2f}",
                *[f"{m:,.0f}" if m is not None else "" for m in memory],
                f"{slope(memory[-2], memory[-1], ratio):.2f}" if has_memory else "",
                f"{linear_projection(seconds[-2], seconds[-1], (small, large)):,.0f}",
                f"{linear_projection(memory[-2], memory[-1], (small, large)) / 1024:,.1f}"
                if has_memory
                else "",
            ]
        )
    setup = (
        f"Synthetic corpora of {', '.join(f'{n:,}' for n in sizes)} passages (BM25: Zipfian "
        f"pseudo-words, 40-80 a passage; dense: clustered 384-d float32 vectors; SPLADE: 103 "
        f"non-zeros a document), {QUERY_COUNT:,} queries, depth {DEPTH}, {THREADS} threads, "
        "every stage in a fresh process (peak RSS: its VmHWM, which includes generating its data "
        "and, for a search, building its index)."
    )
    notes = "\n".join(
        [
            f"- Slope: log(time at {large:,} / time at {small:,}) / log({ratio:g}); 1 is linear, "
            "below 1 where a fixed cost (interpreter, imports, writing the run) still counts. "
            f"Projection: a fixed cost plus a cost per passage fitted through {small:,} and "
            f"{large:,}, extended to {MSMARCO_PASSAGES:,} (memory likewise).",
            "- BM25 indexing: `build_index` from the Parquet; retrieval: `retrieve_run` to a "
            "Parquet run, best of 3 (numba compile excluded by a warm-up). faiss: "
            "`irrepro.dense.index.build_index` and `search`; `pq24`'s build includes training "
            "its codebooks. SPLADE: `SparseIndex.from_matrix` and `search`.",
            "- Fusion and evaluation work on runs, queries x depth rows, whatever the corpus: "
            "their slope in passages is about 0 and they grow linearly with queries "
            "(fusion_speed.md and metrics_speed.md time 7,000 x 1,000).",
            "- Per query, exhaustive search (faiss flat and PQ, BM25 and SPLADE over every "
            "posting) is linear in the corpus, so MS MARCO's 6,980 dev queries cost about 7x "
            "the 1,000 here.",
        ]
    )
    return [setup, markdown_table(headers, rows), notes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--name", default="scaling", help="results/<name>.md")
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    if len(sizes) < 2:
        parser.error("--sizes needs at least two sizes for a slope")
    other = OtherCPU().start()
    results = {n: measure(n) for n in sizes}
    other.stop()
    write_result(args.name, "How cost grows with the corpus", report(sizes, results), other)


if __name__ == "__main__":
    main()
