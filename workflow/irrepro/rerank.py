"""The reranking scorers that run a model: ColBERT's MaxSim and the cross-encoder (the
bi-encoder's, which needs no model, and the candidates are irrepro.candidates').

ColBERT encodes the candidate passages on the fly, as ColBERT v1's reranking does, a group of
queries at a time: a group takes queries until its distinct candidates reach `doc_budget`, so
memory stays bounded and a passage shared by several queries of a group is encoded once.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import precision as amp
from . import runtime
from .artefacts import RunWriter
from .candidates import Candidates, RerankSplit
from .cross_encoder import CrossEncoder
from .tct.colbert import ColBERT, maxsim
from .tokens import PackedTokens
from .train.data import Corpus

log = logging.getLogger(__name__)


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


def rerank_with_maxsim(inputs: dict, splits: list[RerankSplit], settings: dict) -> None:
    corpus = Corpus(inputs["corpus"])
    model = ColBERT.load(inputs["model"]).to(runtime.device())
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


def rerank_with_cross_encoder(inputs: dict, splits: list[RerankSplit], settings: dict) -> None:
    corpus = Corpus(inputs["corpus"])
    model = CrossEncoder.load(inputs["model"]).to(runtime.device())
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
