"""ANCE's training cost split into steps and refreshes, beside STAR's single mining pass.

Reads a finished demo run (default results/demo): ANCE's training.json (total seconds and each
refresh's encode / index / mining seconds) and, for STAR, its training.json plus the jobs of its
one mining pass (BM25 Neg's corpus encoding, flat index, train-query retrieval; Snakemake's
benchmark files). Then extrapolates to MS MARCO passage (8.8M passages, 503k train queries):
encoding linearly in passages at the measured rate, mining as a flat search (passages x
queries), and the number of refreshes from the official schedule (600k steps, a refresh every
10k), next to the STAR/ADORE paper's figure of 10.75 h per refresh on three GPUs.

Usage: python benchmarks/ance_cost.py [--results results/demo]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from _common import OtherCPU, markdown_table, write_result

MSMARCO_PASSAGES, MSMARCO_TRAIN_QUERIES = 8_841_823, 502_939
OFFICIAL_STEPS, OFFICIAL_REFRESH_EVERY = 600_000, 10_000
PAPER_HOURS_PER_REFRESH, PAPER_GPUS = 10.75, 3


def job_seconds(path: Path) -> float:
    return float(pd.read_csv(path, sep="\t")["s"].iloc[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", default="results/demo")
    args = parser.parse_args()
    root = Path(args.results)
    other = OtherCPU().start()
    ance = json.loads((root / "models/ance/training.json").read_text())
    star = json.loads((root / "models/star/training.json").read_text())
    passages = pq.ParquetFile(root / "data/corpus.parquet").metadata.num_rows
    train_queries = pq.ParquetFile(root / "data/queries/train.parquet").metadata.num_rows
    bench = root / "benchmarks"
    mining = {
        "encode": job_seconds(bench / "encode_corpus/bm25neg.tsv"),
        "index": job_seconds(bench / "build_dense_index/bm25neg/flat.tsv"),
        "mine": job_seconds(bench / "dense_retrieve/bm25neg/train.tsv"),
    }
    refreshes = ance["refreshes"]
    steps_seconds = ance["seconds"] - ance["refresh_seconds"]
    rows = [
        [f"refresh at step {r['step']}", f"{r['encode_seconds']:.1f}", f"{r['index_seconds']:.2f}",
         f"{r['mine_seconds']:.1f}", f"{r['train_mrr@10']:.3f}"]
        for r in refreshes
    ]  # fmt: skip
    rows.append(["STAR's one mining pass (BM25 Neg's jobs)", f"{mining['encode']:.1f}",
                 f"{mining['index']:.2f}", f"{mining['mine']:.1f}", ""])  # fmt: skip
    totals = [
        ["ANCE", f"{ance['seconds']:.0f}", f"{steps_seconds:.0f}", f"{ance['refresh_seconds']:.0f}",
         f"{len(refreshes)}"],
        ["STAR", f"{star['seconds'] + sum(mining.values()):.0f}", f"{star['seconds']:.0f}",
         f"{sum(mining.values()):.0f}", "1 (before training)"],
    ]  # fmt: skip

    def rate(units: float, key: str) -> float:
        return units * len(refreshes) / sum(r[key] for r in refreshes)

    encode_rate = rate(passages, "encode_seconds")
    query_rate = rate(train_queries, "query_encode_seconds")
    search_rate = rate(passages * train_queries, "search_seconds")
    per_refresh = {
        "encode": MSMARCO_PASSAGES / encode_rate,
        "queries": MSMARCO_TRAIN_QUERIES / query_rate,
        "search": MSMARCO_PASSAGES * MSMARCO_TRAIN_QUERIES / search_rate,
    }
    n_refreshes = OFFICIAL_STEPS // OFFICIAL_REFRESH_EVERY
    hours = sum(per_refresh.values()) / 3600
    extrapolation = [
        ["encode 8.8M passages", f"{per_refresh['encode'] / 3600:,.1f}",
         f"{encode_rate:,.0f} passages/s"],
        ["encode 503k train queries", f"{per_refresh['queries'] / 3600:,.1f}",
         f"{query_rate:,.0f} queries/s"],
        ["their flat search, top-200", f"{per_refresh['search'] / 3600:,.1f}",
         f"{search_rate:,.3g} query-passage pairs/s (faiss on the CPU)"],
        [f"all {n_refreshes} refreshes", f"{n_refreshes * hours:,.0f}", "this machine's CPU"],
        [f"the paper: {n_refreshes} refreshes x {PAPER_HOURS_PER_REFRESH} h on {PAPER_GPUS} GPUs",
         f"{n_refreshes * PAPER_HOURS_PER_REFRESH:,.0f}",
         f"{PAPER_HOURS_PER_REFRESH * PAPER_GPUS:.1f} GPU-hours a refresh: on one GPU "
         f"{n_refreshes * PAPER_HOURS_PER_REFRESH * PAPER_GPUS:,.0f} h"],
    ]  # fmt: skip
    other.stop()
    sections = [
        "## Where ANCE's training time goes (the demo)",
        f"{passages:,} passages, {train_queries:,} train queries; ANCE refreshes every "
        f"{ance['refresh_every']} steps, synchronously inside its training job. Seconds, as "
        "the demo's jobs recorded them (two jobs at a time, so each shared the 2 cores):",
        markdown_table(["", "training total", "steps", "refreshes / mining", "passes"], totals),
        markdown_table(["refresh", "encode s", "index s", "mine s", "train MRR@10 before"], rows),
        "## Extrapolated to MS MARCO passage",
        "Encoding scales with passages or queries; a flat search with passages x queries "
        "(its demo time is milliseconds, so its rate is rough). Hours per refresh:",
        markdown_table(["part", "hours", "rate"], extrapolation),
        f"The paper's 645 hours of ANCE training in Table 4 are {n_refreshes} refreshes of "
        f"{PAPER_HOURS_PER_REFRESH} h; the demo spends "
        f"{100 * ance['refresh_seconds'] / ance['seconds']:.0f}% of ANCE's time refreshing. "
        "No GPU measurement: the one-GPU figure scales the paper's three-GPU refresh.",
    ]
    write_result("ance_cost", "ANCE's cost: training steps and refreshes", sections, other)


if __name__ == "__main__":
    main()
