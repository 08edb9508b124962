"""ColBERT reranking throughput and the storage argument of TCT-ColBERT.

On a demo collection with MS MARCO-like passage lengths, with all-MiniLM-L6-v2 as the backbone
of a ColBERT (128-d token vectors) and of a mean-pooled bi-encoder (384-d):
1. query-passage pairs/s of reranking a 1,000-deep candidate list per query: ColBERT's MaxSim
   from token vectors already in memory, ColBERT end to end as the rerank_bm25 rule runs it
   (candidates encoded on the fly, once per distinct passage of a query group), and the
   bi-encoder's dot product with stored vectors;
2. bytes on disk of ColBERT's token index (every kept token's float16 vector, as ColBERT
   stores them) against the bi-encoder's faiss flat index, measured on this corpus and
   extrapolated to MS MARCO's 8.8M passages at BERT-base size.

Usage: python benchmarks/colbert_rerank.py [--passages 5000] [--queries 40]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import OtherCPU, Timer, markdown_table, write_result

from irrepro.artefacts import QUERIES, RUN, read_table, write_table
from irrepro.candidates import Candidates, rerank_biencoder
from irrepro.datasets import prepare_folder
from irrepro.dense.embeddings import EmbeddingStore, embedding_doc_ids, load_embeddings
from irrepro.dense.encode import encode_corpus
from irrepro.dense.index import build_index, index_size_bytes, write_index
from irrepro.dense.model import BiEncoder
from irrepro.rerank import encode_tokens, rerank_colbert
from irrepro.tct.colbert import ColBERT, maxsim
from irrepro.train.data import Corpus

DEPTH = 1000
QUERY_LENGTH, PASSAGE_LENGTH = 32, 150
MSMARCO_PASSAGES = 8_841_823


def collection(root: Path, passages: int) -> None:
    spec = {"source": "demo", "n_passages": passages, "passage_length": [40, 80]}
    prepare_folder(spec, root)


def candidate_run(root: Path, queries: pd.DataFrame, passages: int) -> None:
    rng = np.random.default_rng(0)
    rows = [
        (q, str(d), rank + 1, float(DEPTH - rank))
        for q in queries["query_id"]
        for rank, d in enumerate(rng.choice(passages, size=DEPTH, replace=False))
    ]
    write_table(
        pd.DataFrame(rows, columns=["query_id", "doc_id", "rank", "score"]),
        root / "first_stage.parquet",
        RUN,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(2)
    other = OtherCPU().start()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        collection(root, args.passages)
        corpus = Corpus(root / "corpus.parquet")
        queries = read_table(root / "queries/dev.parquet", QUERIES).head(args.queries)
        candidate_run(root, queries, len(corpus))
        candidates = Candidates(root / "first_stage.parquet", queries, corpus.rows, DEPTH)
        pairs = sum(len(rows) for rows in candidates.rows)

        colbert = ColBERT.from_backbone("minilm", dim=128).eval()
        with Timer() as encode_timer:
            docs, doc_mask = encode_tokens(
                colbert, corpus.text(np.arange(len(corpus))), PASSAGE_LENGTH, 128, "passage"
            )
        q, q_mask = encode_tokens(colbert, candidates.texts, QUERY_LENGTH, 128, "query")
        with Timer() as maxsim_timer, torch.no_grad():
            for i, rows in enumerate(candidates.rows):
                maxsim(q[i : i + 1], q_mask[i : i + 1], docs[rows], doc_mask[rows])
        with Timer() as colbert_timer:
            rerank_colbert(
                colbert, corpus, candidates, root / "colbert.parquet", QUERY_LENGTH, PASSAGE_LENGTH
            )

        student = BiEncoder.from_backbone("minilm", pooling="mean", markers=True)
        encode_corpus(
            student, root / "corpus.parquet", root / "emb", root / "work", PASSAGE_LENGTH, 128
        )
        store = EmbeddingStore(root / "emb")
        # the queries' vectors are stored by the encoding job beside the passages'
        query_vectors = student.encode(candidates.texts, QUERY_LENGTH, 128, kind="query")
        with Timer() as dot_timer:
            rerank_biencoder(
                store, embedding_doc_ids(root / "emb"), candidates, root / "dot.parquet",
                query_vectors,
            )  # fmt: skip
        flat = build_index(load_embeddings(root / "emb"), "flat")
        write_index(flat, root / "flat.faiss")
        flat_bytes = index_size_bytes(root / "flat.faiss")

    other.stop()
    tokens = int(doc_mask.sum())
    per_passage = tokens / len(corpus)
    token_bytes = tokens * colbert.dim * 2
    speed_rows = [
        ["ColBERT MaxSim, token vectors in memory", f"{pairs / maxsim_timer.seconds:,.0f}"],
        [
            "ColBERT rerank_colbert end to end (encodes each distinct candidate once)",
            f"{pairs / colbert_timer.seconds:,.0f}",
        ],
        [
            "bi-encoder rerank_biencoder (stored passage and query vectors, dot product)",
            f"{pairs / dot_timer.seconds:,.0f}",
        ],
    ]
    msmarco_tokens = per_passage * MSMARCO_PASSAGES
    size_rows = [
        [
            f"this corpus ({len(corpus):,} passages)",
            f"{token_bytes:,}",
            f"{flat_bytes:,}",
            f"{token_bytes / flat_bytes:.1f}",
        ],
        [
            "MS MARCO extrapolated (8.8M passages; 128-d fp16 tokens vs 768-d fp32 flat)",
            f"{msmarco_tokens * 128 * 2 / 1e9:,.0f} GB",
            f"{MSMARCO_PASSAGES * 768 * 4 / 1e9:,.0f} GB",
            f"{msmarco_tokens * 128 * 2 / (MSMARCO_PASSAGES * 768 * 4):.1f}",
        ],
    ]
    sections = [
        "## Reranking throughput (CPU, 2 threads)",
        f"{len(candidates)} queries x {DEPTH:,} candidates ({pairs:,} pairs) over "
        f"{len(corpus):,} passages of 40-80 words; queries {QUERY_LENGTH} tokens ([MASK]-filled), "
        f"passages up to {PASSAGE_LENGTH}. Encoding the whole corpus into token vectors took "
        f"{encode_timer.seconds:.0f} s ({len(corpus) / encode_timer.seconds:,.0f} passages/s), "
        "which the in-memory MaxSim row does not count.",
        markdown_table(["path", "pairs/s"], speed_rows),
        "## Index size: token vectors vs one vector per passage",
        f"ColBERT keeps {per_passage:.1f} tokens per passage here (punctuation and padding "
        f"dropped), {colbert.dim} dimensions in float16; the bi-encoder's faiss IndexFlatIP holds "
        f"one {student.dim}-d float32 vector per passage.",
        markdown_table(
            ["corpus", "ColBERT token index bytes", "bi-encoder flat index bytes", "ratio"],
            size_rows,
        ),
        "The extrapolation assumes MS MARCO passages tokenise to as many kept tokens as these "
        "(MS MARCO's mean passage is about 56 words, these 60); the 27 GB flat size matches the "
        "26 GB the STAR/ADORE paper reports for its uncompressed index.",
    ]
    write_result("colbert_rerank", "ColBERT reranking and the storage argument", sections, other)


if __name__ == "__main__":
    main()
