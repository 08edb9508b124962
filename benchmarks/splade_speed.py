"""SPLADE speed: exact sparse retrieval next to a scipy product, SPLADE encoding next to
sentence-transformers' SparseEncoder, and cross-encoder scoring throughput.

1. Retrieval: a synthetic index shaped like SPLADE's (~120 non-zeros per document, ~20 per query,
   term frequencies Zipf-distributed over BERT's 30,522 ids): queries/s of our exact top-1000
   (irrepro.splade.index, numba) and of a scipy CSR product + argpartition per block of queries,
   their agreement, peak memory of each in a fresh process, and the index size on disk.
2. Encoding: passages/s of SPLADE-tiny (bundled) through our `Splade.encode` and through
   SparseEncoder.encode on the same weights and texts.
3. Training: a forward and backward step of our Splade and of SparseEncoder, same weights.
4. Cross-encoder: (query, passage) pairs/s of MiniLM with a one-logit head.

    python benchmarks/splade_speed.py                       # 1M documents
    python benchmarks/splade_speed.py --documents 100000 --name splade_speed_smoke
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from _common import in_fresh_process, markdown_table, peak_rss_mib, write_result

VOCABULARY, DEPTH, BLOCK = 30522, 1000, 64


def synthetic(n: int, per_row: int, seed: int) -> sp.csr_matrix:
    """Rows with ~per_row distinct Zipf-distributed term ids and log-normal weights."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, VOCABULARY + 1)
    p = 1.0 / ranks**0.9
    p /= p.sum()
    terms = rng.choice(VOCABULARY, size=(n, per_row), p=p)
    rows = np.repeat(np.arange(n), per_row)
    values = rng.lognormal(-0.5, 0.6, size=n * per_row).astype(np.float32)
    matrix = sp.csr_matrix((values, (rows, terms.reshape(-1))), shape=(n, VOCABULARY))
    matrix.sum_duplicates()
    return matrix


def ours(documents, queries, threads):
    import numba

    from irrepro.splade.index import SparseIndex

    numba.set_num_threads(threads)
    index = SparseIndex.from_matrix(documents, [str(i) for i in range(documents.shape[0])])
    index.search(queries[:2], DEPTH)  # compile (cached) and warm
    started = time.perf_counter()
    rows, _ = index.search(queries, DEPTH)
    return time.perf_counter() - started, rows, peak_rss_mib()


def scipy_product(documents, queries):
    transposed = documents.T.tocsc()
    started = time.perf_counter()
    out = np.empty((queries.shape[0], DEPTH), dtype=np.int64)
    for start in range(0, queries.shape[0], BLOCK):
        scores = (queries[start : start + BLOCK] @ transposed).toarray()
        top = np.argpartition(-scores, DEPTH - 1, axis=1)[:, :DEPTH]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        out[start : start + BLOCK] = np.take_along_axis(top, order, axis=1)
    return time.perf_counter() - started, out, peak_rss_mib()


def seismic_search(documents, queries, threads, depths):
    """pyseismic-lsr (approximate; Bruch et al. SIGIR 2024) with its documented defaults
    (n_postings 3500, query_cut 20 = every query term, heap_factor 0.8): one index, a timed
    batch search per depth; returns the build seconds, {depth: (seconds, rows)}, peak MiB."""
    import seismic

    string_type = seismic.get_seismic_string()

    def components(matrix, row):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        tokens = matrix.indices[start:end].astype(str).astype(string_type)
        return tokens, matrix.data[start:end].astype(np.float32)

    dataset = seismic.SeismicDataset()
    for row in range(documents.shape[0]):
        dataset.add_document(str(row), *components(documents, row))
    started = time.perf_counter()
    index = seismic.SeismicIndex.build_from_dataset(dataset, num_threads=threads)
    built = time.perf_counter() - started
    ids = np.array([str(i) for i in range(queries.shape[0])], dtype=string_type)
    tokens, values = zip(
        *(components(queries, row) for row in range(queries.shape[0])), strict=True
    )
    searched = {}
    for k in depths:
        started = time.perf_counter()
        found = index.batch_search(ids, list(tokens), list(values), k=k, query_cut=20,
                                   heap_factor=0.8, num_threads=threads)  # fmt: skip
        seconds = time.perf_counter() - started
        rows = np.full((queries.shape[0], k), -1, dtype=np.int64)
        for hits in found:  # in no particular order: each hit names its query
            if hits:
                rows[int(hits[0][0]), : len(hits)] = [int(doc) for _, _, doc in hits]
        searched[k] = (seconds, rows)
    return built, searched, peak_rss_mib()


def overlap(found: np.ndarray, exact: np.ndarray, k: int) -> float:
    """Mean share of the exact top-k that `found`'s top-k holds."""
    return float(np.mean([len(np.intersect1d(a[:k][a[:k] >= 0], b[:k])) / k
                          for a, b in zip(found, exact, strict=True)]))  # fmt: skip


def retrieval_section(args) -> str:
    documents = synthetic(args.documents, 120, args.seed)
    queries = synthetic(args.queries, 20, args.seed + 1)
    with tempfile.TemporaryDirectory() as tmp:
        postings = documents.tocsc()
        np.savez(Path(tmp) / "postings.npz", term_ptr=postings.indptr.astype(np.int64),
                 doc_rows=postings.indices.astype(np.int32), weights=postings.data)  # fmt: skip
        size = (Path(tmp) / "postings.npz").stat().st_size
    ours_s, ours_rows, ours_mib = in_fresh_process(ours, documents, queries, args.threads)
    scipy_s, scipy_rows, scipy_mib = in_fresh_process(scipy_product, documents, queries)
    rows = [
        [f"irrepro (numba, {args.threads} threads)", f"{args.queries / ours_s:,.0f}",
         f"{ours_mib:,.0f}", f"{overlap(ours_rows, scipy_rows, 10):.3f}",
         f"{overlap(ours_rows, scipy_rows, DEPTH):.3f}"],
        ["scipy CSR product + argpartition (1 thread)", f"{args.queries / scipy_s:,.0f}",
         f"{scipy_mib:,.0f}", "1.000", "1.000"],
    ]  # fmt: skip
    seismic_note = "pyseismic-lsr is not installed (`pip install pyseismic-lsr`): not compared."
    if importlib.util.find_spec("seismic"):
        built, searched, mib = in_fresh_process(
            seismic_search, documents, queries, args.threads, (10, DEPTH)
        )
        for k, (seconds, found) in searched.items():
            recall = [f"{overlap(found, scipy_rows, 10):.3f}"]
            recall.append(f"{overlap(found, scipy_rows, DEPTH):.3f}" if k == DEPTH else "–")
            label = f"pyseismic-lsr top-{k} (approximate, {args.threads} threads)"
            rows.append([label, f"{args.queries / seconds:,.0f}", f"{mib:,.0f}", *recall])
        seismic_note = (
            f"pyseismic-lsr {importlib.metadata.version('pyseismic-lsr')} is approximate: its "
            f"agreement columns are its recall of the exact top-10 / top-1000; building its "
            f"index took {built:,.0f} s (ours: the CSC transpose, seconds)."
        )
    table = markdown_table(
        ["retriever", "queries/s (top-1000)", "peak RSS MiB", "top-10 agreement", "top-1000"],
        rows,
    )
    return "\n\n".join(
        [
            "## Exact top-1000 retrieval",
            f"{args.documents:,} documents ({documents.nnz / args.documents:.0f} non-zeros "
            f"each), {args.queries:,} queries ({queries.nnz / args.queries:.0f} each); index "
            f"file {size / 1e6:,.0f} MB (postings: int32 rows, float32 weights).",
            table,
            f"Ratio: {scipy_s / ours_s:.1f}x the scipy product's throughput. Agreement is the "
            "share of scipy's top-k that ours holds (ties at the cut may differ: ours orders "
            "them the trec_eval way).",
            seismic_note,
        ]
    )


def encoding_section(args) -> str:
    from sentence_transformers import SparseEncoder

    from irrepro.backbone import splade_tiny_path
    from irrepro.splade.model import Splade

    rng = np.random.default_rng(args.seed)
    words = ["retrieval", "sparse", "model", "passage", "query", "term", "weight", "index"]
    texts = [" ".join(rng.choice(words, size=rng.integers(20, 60))) for _ in range(args.passages)]
    model = Splade.from_backbone("splade-tiny")
    model.encode(texts[:64], 128)
    started = time.perf_counter()
    model.encode(texts, 128, batch_size=64)
    ours_s = time.perf_counter() - started
    theirs = SparseEncoder(splade_tiny_path(), device="cpu")
    theirs.max_seq_length = 128
    theirs.encode(texts[:64])
    started = time.perf_counter()
    theirs.encode(texts, batch_size=64)
    theirs_s = time.perf_counter() - started
    table = markdown_table(
        ["encoder", "passages/s"],
        [["irrepro Splade.encode", f"{args.passages / ours_s:,.0f}"],
         ["sentence-transformers SparseEncoder", f"{args.passages / theirs_s:,.0f}"]],
    )  # fmt: skip
    return "\n\n".join(
        [
            "## SPLADE encoding (SPLADE-tiny, CPU)",
            f"{args.passages:,} passages of 20-60 words, at most 128 tokens, batch 64.",
            table,
            f"Ratio: {theirs_s / ours_s:.2f}x SparseEncoder's throughput.",
        ]
    )


def training_section(args) -> str:
    """Forward + backward of one batch shaped like the demo's distilled runs, through our
    Splade (irrepro.splade.pooling's max) and through SparseEncoder (autograd over the full
    logits), from the same weights; the gradients are compared too."""
    import torch
    from sentence_transformers import SparseEncoder

    from irrepro.backbone import splade_tiny_path
    from irrepro.splade.model import Splade

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # restored below: the cross-encoder section runs with 2
    rng = np.random.default_rng(args.seed)
    words = ["retrieval", "sparse", "model", "passage", "query", "term", "weight", "index"]
    queries = [" ".join(rng.choice(words, size=rng.integers(3, 8))) for _ in range(16)]
    passages = [" ".join(rng.choice(words, size=rng.integers(20, 40))) for _ in range(96)]
    ours = Splade.from_backbone("splade-tiny").train()
    theirs = SparseEncoder(splade_tiny_path(), device="cpu").train()

    def our_step():
        q = ours(**ours.tokenize(queries, 16, kind="query"))
        return q, ours(**ours.tokenize(passages, 48))

    def their_step():  # the same token batches
        q = theirs(ours.tokenize(queries, 16, kind="query"))["sentence_embedding"]
        return q, theirs(ours.tokenize(passages, 48))["sentence_embedding"]

    timings, gradients = {}, {}
    for name, step, model in (("ours", our_step, ours), ("theirs", their_step, theirs)):
        seconds = []
        for _ in range(args.steps + 1):
            model.zero_grad()
            torch.manual_seed(args.seed)  # the same dropout masks in both, so equal gradients
            started = time.perf_counter()
            q, d = step()
            ((q @ d.T).logsumexp(1).sum() + d.sum(0).pow(2).sum()).backward()
            seconds.append(time.perf_counter() - started)
        timings[name] = min(seconds[1:])
        gradients[name] = next(p.grad for n, p in model.named_parameters()
                               if n.endswith("word_embeddings.weight"))  # fmt: skip
    torch.set_num_threads(threads)
    difference = (gradients["ours"] - gradients["theirs"]).abs().max().item()
    scale = gradients["theirs"].abs().max().item()
    table = markdown_table(
        ["path", f"step s (best of {args.steps})"],
        [["irrepro Splade (gathered max backward)", f"{timings['ours']:.3f}"],
         ["sentence-transformers SparseEncoder (autograd)", f"{timings['theirs']:.3f}"]],
    )  # fmt: skip
    return "\n\n".join(
        [
            "## SPLADE training step (SPLADE-tiny, CPU, 1 thread)",
            "Forward and backward of 16 queries (16 tokens) and 96 passages of 20-40 words "
            "(48 tokens): the demo's distilled batch (a positive and 4 negatives a query, plus "
            "in-batch).",
            table,
            f"Ratio: {timings['theirs'] / timings['ours']:.2f}x SparseEncoder's speed. The tied "
            f"embedding's gradients differ by at most {difference / scale:.1e} of their largest "
            "entry (float32 sums in another order).",
        ]
    )


def cross_encoder_section(args) -> str:
    from irrepro.cross_encoder import CrossEncoder

    model = CrossEncoder.from_backbone("minilm")
    rng = np.random.default_rng(args.seed)
    words = ["retrieval", "sparse", "model", "passage", "query", "term", "weight", "index"]
    queries = [" ".join(rng.choice(words, size=6)) for _ in range(args.pairs)]
    passages = [" ".join(rng.choice(words, size=40)) for _ in range(args.pairs)]
    model.score(queries[:32], passages[:32], 64)
    started = time.perf_counter()
    model.score(queries, passages, 64, batch_size=64)
    seconds = time.perf_counter() - started
    return "\n\n".join(
        [
            "## Cross-encoder scoring (MiniLM-L6, CPU)",
            f"{args.pairs:,} pairs, 64 tokens, batch 64: {args.pairs / seconds:,.0f} pairs/s.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--passages", type=int, default=2_000)
    parser.add_argument("--pairs", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="timed training steps")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--name", default="splade_speed")
    args = parser.parse_args()
    sections = [retrieval_section(args), encoding_section(args), training_section(args),
                cross_encoder_section(args)]  # fmt: skip
    title = "SPLADE speed: sparse retrieval, encoding, training, cross-encoder"
    write_result(args.name, title, sections)


if __name__ == "__main__":
    main()
