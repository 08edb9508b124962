"""Reranking a first-stage run (BM25 top-1000): by ColBERT's MaxSim, or by a bi-encoder's dot.

ColBERT encodes the candidate passages on the fly, as ColBERT v1's reranking does, a group of
queries at a time: a group takes queries until its distinct candidates reach `doc_budget`, so
memory stays bounded and a passage shared by several queries of a group is encoded once. A
bi-encoder needs no encoding at all: its passage vectors are the encode_corpus output.
Which of the two a method uses is its family's `scorer` in the method registry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from . import precision as amp
from . import runtime
from .artefacts import QUERIES, RUN, RunWriter, export_trec_run, read_table
from .cross_encoder import CrossEncoder
from .dense.embeddings import EmbeddingStore, embedding_doc_ids
from .dense.model import BiEncoder
from .tct.colbert import ColBERT, maxsim
from .tokens import PackedTokens
from .train.data import Corpus, row_lookup

log = logging.getLogger(__name__)


class Candidates:
    """Each query's first-stage top-`depth` as corpus rows, in the order of `queries`."""

    def __init__(self, run_path, queries: pd.DataFrame, row_of, depth: int):
        run = read_table(run_path, RUN)
        run = run[run["rank"] <= depth].sort_values(["query_id", "rank"], kind="mergesort")
        rows = row_of(run["doc_id"].to_numpy(dtype=object))
        grouped = pd.Series(rows).groupby(run["query_id"].to_numpy()).agg(list)
        self.query_ids = [q for q in queries["query_id"].astype(str) if q in grouped.index]
        texts = dict(zip(queries["query_id"].astype(str), queries["text"], strict=True))
        self.texts = [str(texts[q]) for q in self.query_ids]
        self.rows = [np.asarray(grouped[q], dtype=np.int64) for q in self.query_ids]
        missing = len(queries) - len(self.query_ids)
        if missing:
            log.info("%d queries have no first-stage results and get none", missing)

    def __len__(self) -> int:
        return len(self.query_ids)

    def groups(self, doc_budget: int) -> Iterator[slice]:
        """Consecutive queries whose distinct candidates stay within doc_budget (at least one)."""
        start, seen = 0, set()
        for i, rows in enumerate(self.rows):
            if seen and len(seen | set(rows.tolist())) > doc_budget:
                yield slice(start, i)
                start, seen = i, set()
            seen.update(rows.tolist())
        if start < len(self.rows):
            yield slice(start, len(self.rows))

    def padded(self, part: slice, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return padded(self.rows[part], scores)


def padded(rows: list[np.ndarray], scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-query rows and scores as (queries, k) matrices padded with -1 rows, for RunWriter."""
    width = max((len(r) for r in rows), default=0)
    out_rows = np.full((len(rows), width), -1, dtype=np.int64)
    out_scores = np.full((len(rows), width), -np.inf)
    for i, (r, s) in enumerate(zip(rows, scores, strict=True)):
        out_rows[i, : len(r)], out_scores[i, : len(r)] = r, s
    return out_rows, out_scores


@torch.no_grad()
def encode_tokens(
    model: ColBERT,
    texts,
    max_length: int,
    batch_size: int,
    kind: str,
    progress=None,
    precision: str | None = None,
):
    """ColBERT token vectors (N, max_length, dim) float32 and their mask (N, max_length), kept
    on the model's device so that MaxSim runs there too (a GPU's, on a GPU machine).
    `progress` (a tqdm bar) is advanced by each batch; `precision`: irrepro.precision's,
    None the job's."""
    tokens = PackedTokens.from_texts(model.tokenizer, texts, max_length, kind, model.markers)
    device = model.device
    vectors = torch.zeros(len(tokens), max_length, model.dim, device=device)
    mask = torch.zeros(len(tokens), max_length, dtype=torch.bool, device=device)
    order = np.argsort(-tokens.lengths, kind="stable")
    with amp.autocast(device, precision):
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            input_ids, attention_mask = tokens.batch(rows)
            out, used = model(input_ids.to(device), attention_mask.to(device), kind=kind)
            width, at = out.shape[1], torch.from_numpy(rows).to(device)
            vectors[at, :width] = out.float()
            mask[at, :width] = used
            if progress is not None:
                progress.update(len(rows))
    return vectors, mask


@torch.no_grad()
def rerank_colbert(
    model: ColBERT,
    corpus: Corpus,
    candidates: Candidates,
    out_path: str | Path,
    query_length: int,
    passage_length: int,
    batch_size: int = 128,
    doc_budget: int = 20_000,
) -> None:
    model.eval()
    bar = tqdm(total=len(candidates), unit="query", desc="ColBERT reranking")
    with RunWriter(out_path, corpus.doc_ids) as writer, bar:
        for part in candidates.groups(doc_budget):
            distinct = np.unique(np.concatenate(candidates.rows[part]))
            docs, doc_mask = encode_tokens(
                model, corpus.text(distinct), passage_length, batch_size, "passage"
            )
            queries, query_mask = encode_tokens(
                model, candidates.texts[part], query_length, batch_size, "query"
            )
            scores = []
            for i, rows in enumerate(candidates.rows[part]):
                at = torch.from_numpy(np.searchsorted(distinct, rows)).to(docs.device)
                score = maxsim(queries[i : i + 1], query_mask[i : i + 1], docs[at], doc_mask[at])
                scores.append(score[0].cpu().numpy())
            writer.add(candidates.query_ids[part], *candidates.padded(part, scores))
            bar.update(part.stop - part.start)


@torch.no_grad()
def rerank_biencoder(
    model: BiEncoder,
    store: EmbeddingStore,
    doc_ids: np.ndarray,
    candidates: Candidates,
    out_path: str | Path,
    query_length: int,
    batch_size: int = 256,
) -> None:
    """Dot products of the query vectors with the candidates' stored passage vectors."""
    bar = tqdm(total=len(candidates), unit="query", desc="bi-encoder reranking")
    with RunWriter(out_path, doc_ids) as writer, bar:
        for start in range(0, len(candidates), batch_size):
            part = slice(start, min(start + batch_size, len(candidates)))
            vectors = model.encode(candidates.texts[part], query_length, batch_size, kind="query")
            scores = [
                store.rows(rows) @ vector
                for vector, rows in zip(vectors, candidates.rows[part], strict=True)
            ]
            writer.add(candidates.query_ids[part], *candidates.padded(part, scores))
            bar.update(part.stop - part.start)


@dataclass(frozen=True)
class RerankSplit:
    """One split a rerank job serves: the first-stage run, its queries, the two outputs."""

    run: str
    queries: str
    out: str
    trec: str

    def candidates(self, row_of, depth: int) -> Candidates:
        return Candidates(self.run, read_table(self.queries, QUERIES), row_of, depth)


def rerank_with_maxsim(inputs: dict, splits: list[RerankSplit], settings: dict, device) -> None:
    corpus = Corpus(inputs["corpus"])
    model = ColBERT.load(inputs["model"]).to(device)
    for split in splits:
        rerank_colbert(
            model,
            corpus,
            split.candidates(corpus.rows, settings["depth"]),
            split.out,
            settings["query_length"],
            settings["passage_length"],
            batch_size=settings["batch_size"],
            doc_budget=settings["doc_budget"],
        )


def rerank_with_stored_vectors(
    inputs: dict, splits: list[RerankSplit], settings: dict, device
) -> None:
    doc_ids = embedding_doc_ids(inputs["embeddings"])
    model = BiEncoder.load(inputs["model"]).to(device)
    store, row_of = EmbeddingStore(inputs["embeddings"]), row_lookup(doc_ids)
    for split in splits:
        candidates = split.candidates(row_of, settings["depth"])
        rerank_biencoder(model, store, doc_ids, candidates, split.out, settings["query_length"])


def rerank_with_cross_encoder(
    inputs: dict, splits: list[RerankSplit], settings: dict, device
) -> None:
    corpus = Corpus(inputs["corpus"])
    model = CrossEncoder.load(inputs["model"]).to(device)
    for split in splits:
        rerank_cross_encoder(
            model, corpus, split.candidates(corpus.rows, settings["depth"]), split.out, settings
        )


def rerank_cross_encoder(
    model: CrossEncoder, corpus: Corpus, candidates: Candidates, out_path: str, settings: dict
) -> None:
    """Every (query, candidate) pair through the cross-encoder, a group of queries at a time."""
    per_group = max(1, settings["batch_size"] * 16 // max(settings["depth"], 1))
    bar = tqdm(total=len(candidates), unit="query", desc="cross-encoder reranking")
    with RunWriter(out_path, corpus.doc_ids) as writer, bar:
        for start in range(0, len(candidates), per_group):
            part = slice(start, min(start + per_group, len(candidates)))
            rows = candidates.rows[part]
            texts = [t for t, r in zip(candidates.texts[part], rows, strict=True) for _ in r]
            flat = np.concatenate(rows)
            scores = model.score(texts, corpus.text(flat), settings["max_length"],
                                 settings["batch_size"])  # fmt: skip
            split = np.split(scores, np.cumsum([len(r) for r in rows])[:-1])
            writer.add(candidates.query_ids[part], *candidates.padded(part, split))
            bar.update(part.stop - part.start)


SCORERS = {
    "maxsim": rerank_with_maxsim,
    "stored-vectors": rerank_with_stored_vectors,
    "cross-encoder": rerank_with_cross_encoder,
}


def rerank_runs(
    scorer: str, inputs: dict, splits: list[RerankSplit], settings: dict, tag: str
) -> list[pd.DataFrame]:
    """Rerank each split's run into its `out` (and TREC file) with a registry scorer, whose
    model and passages load once for all of them. inputs: corpus, model (and a bi-encoder's
    embeddings)."""
    SCORERS[scorer](inputs, splits, settings, runtime.device())
    return [export_trec_run(split.out, split.trec, tag) for split in splits]
