"""ColBERT end to end on a synthetic corpus: index size, latency split, recall of exhaustive MaxSim.

A synthetic collection (default 100k passages of 20-40 words, the demo's) goes through the
pipeline's own path (irrepro.tct.token_index): every kept passage token's ColBERT vector
(all-MiniLM-L6-v2 backbone, 128-d, the demo's architecture; untrained projection, as in
colbert_rerank.py: speed and recall of the approximation do not need a trained model) stored as
float16 shards, an IVF-PQ index over them, and retrieval by the query tokens' k' nearest
passage tokens plus exact MaxSim over the candidates. Reported:
1. index size in bytes per token vector (and the float16 vectors MaxSim reads);
2. per-query latency split into query encoding, candidate generation and MaxSim;
3. recall of the exhaustive MaxSim top-10 and top-1000 (every passage scored) at each setting.

Usage: python benchmarks/colbert_end_to_end.py [--passages 100000] [--queries 100]
       [--index ivf1024-pq16]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import OtherCPU, Timer, markdown_table, write_result

from irrepro.artefacts import QUERIES, RUN, read_table
from irrepro.datasets import prepare_folder
from irrepro.dense.embeddings import embedding_doc_ids
from irrepro.dense.index import index_size_bytes, write_index
from irrepro.rerank import encode_tokens
from irrepro.tct.colbert import ColBERT, maxsim
from irrepro.tct.token_index import (
    TokenStore,
    build_token_index,
    encode_token_vectors,
    end_to_end_run,
)

QUERY_LENGTH, PASSAGE_LENGTH, DEPTH = 32, 150, 1000
SETTINGS = ((10, 1024), (32, 1024), (10, 256), (64, 1024))  # (nprobe, k') ; ColBERT v1: 10, 1024


def exhaustive_top(model, store: TokenStore, queries: pd.DataFrame, depth: int) -> list:
    """Each query's top-`depth` rows by MaxSim over every passage (the reference)."""
    texts = queries["text"].astype(str).tolist()
    vectors, mask = encode_tokens(model, texts, QUERY_LENGTH, 64, "query")
    scores = np.empty((len(queries), store.count), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, store.count, 2048):
            rows = np.arange(start, min(start + 2048, store.count))
            docs, doc_mask = store.passages(rows)
            scores[:, rows] = maxsim(vectors, mask, docs, doc_mask).numpy()
    return [np.lexsort((np.arange(store.count), -s))[:depth] for s in scores]


def recall(run: pd.DataFrame, queries, doc_ids, reference, k: int) -> float:
    found = []
    for query_id, top in zip(queries["query_id"].astype(str), reference, strict=True):
        ours = run[(run["query_id"] == query_id) & (run["rank"] <= k)]["doc_id"]
        found.append(len(set(ours) & set(doc_ids[top[:k]])) / k)
    return float(np.mean(found))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--index", default="ivf1024-pq16")
    parser.add_argument("--words", default="20,40", help="passage length range in words")
    parser.add_argument("--name", default="colbert_end_to_end")
    args = parser.parse_args()
    torch.set_num_threads(2)
    other = OtherCPU().start()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        words = [int(w) for w in args.words.split(",")]
        prepare_folder({"source": "demo", "n_passages": args.passages, "n_dev": args.queries,
                        "passage_length": words}, root)  # fmt: skip
        queries = read_table(root / "queries/dev.parquet", QUERIES)
        model = ColBERT.from_backbone("minilm", dim=128).eval()
        with Timer() as encode_timer:
            encode_token_vectors(model, root / "corpus.parquet", root / "tokens", root / "work",
                                 PASSAGE_LENGTH, batch_size=128)  # fmt: skip
        store = TokenStore(root / "tokens")
        doc_ids = embedding_doc_ids(root / "tokens")
        with Timer() as index_timer:
            index = build_token_index(store, args.index)
        write_index(index, root / "tokens.faiss")
        index_bytes = index_size_bytes(root / "tokens.faiss")
        with Timer() as exhaustive_timer:
            reference = exhaustive_top(model, store, queries, DEPTH)
        rows = []
        for nprobe, k in SETTINGS:
            with Timer() as run_timer:
                timing = end_to_end_run(model, store, index, doc_ids, queries,
                                        root / "run.parquet", depth=DEPTH,
                                        query_length=QUERY_LENGTH, k_per_token=k,
                                        nprobe=nprobe)  # fmt: skip
            run = read_table(root / "run.parquet", RUN)
            per_query = {key: 1000 * value / len(queries) for key, value in timing.items()
                         if key.endswith("_seconds")}  # fmt: skip
            rows.append([
                nprobe, k, f"{timing['candidates_per_query']:,.0f}",
                f"{per_query['encode_seconds']:.0f}", f"{per_query['candidates_seconds']:.0f}",
                f"{per_query['maxsim_seconds']:.0f}",
                f"{1000 * run_timer.seconds / len(queries):.0f}",
                f"{recall(run, queries, doc_ids, reference, 10):.3f}",
                f"{recall(run, queries, doc_ids, reference, DEPTH):.3f}",
            ])  # fmt: skip
        stats = json.loads((root / "tokens" / "meta.json").read_text())
    other.stop()
    tokens = len(store)
    lists = 1 << int(np.ceil(np.log2(8 * np.sqrt(tokens))))
    size_rows = [
        [f"faiss {args.index}", f"{index_bytes:,}", f"{index_bytes / tokens:.1f}"],
        ["float16 token vectors (read by MaxSim)", f"{tokens * stats['dim'] * 2:,}",
         f"{stats['dim'] * 2}"],
    ]  # fmt: skip
    sections = [
        "## Corpus and index",
        f"{args.passages:,} passages of {args.words.replace(',', '-')} words (the demo's), "
        f"{tokens:,} kept token vectors "
        f"({tokens / args.passages:.1f} per passage), 128-d. Encoding took "
        f"{encode_timer.seconds:.0f} s ({args.passages / encode_timer.seconds:,.0f} passages/s); "
        f"building the index {index_timer.seconds:.0f} s. ColBERT v1's default list count for "
        f"this many tokens would be {lists:,}; {args.index} keeps k-means training to a minute "
        "on 2 cores.",
        markdown_table(["what", "bytes", "bytes per token vector"], size_rows),
        "## Latency and recall",
        f"{len(queries)} queries of {QUERY_LENGTH} tokens ([MASK]-filled), top-{DEPTH}, 2 CPU "
        "threads; milliseconds per query. Recall@k: share of the exhaustive MaxSim top-k (every "
        f"passage scored, {1000 * exhaustive_timer.seconds / len(queries):.0f} ms per query) "
        "that the end-to-end run returns in its top-k.",
        markdown_table(
            [
                "nprobe",
                "k'",
                "candidates/query",
                "encode ms",
                "candidates ms",
                "MaxSim ms",
                "total ms",
                "recall@10",
                "recall@1000",
            ],
            rows,
        ),  # fmt: skip
        "ColBERT v1's retrieval uses nprobe 10 and k' (faiss_depth) 1024, the first row.",
    ]
    write_result(args.name, "ColBERT end to end: token index, latency, recall", sections, other)


if __name__ == "__main__":
    main()
