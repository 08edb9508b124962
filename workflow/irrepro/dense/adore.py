"""ADORE: train the query encoder against a fixed document index with dynamic hard negatives.

The document embeddings and their index (flat, or PQ for the compressed-index table) are built
once by the base model and never change. At every step the batch's queries are encoded, the
index returns each query's current top-`depth` (the dynamic hard negatives), positives that
were not retrieved are appended, and the RankNet loss weighted by |ΔMRR@metric_cut| is taken
over (relevant, non-relevant) pairs, the scores being inner products with the stored document
embeddings (as in the official code, also when the index is compressed).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict

import numpy as np
import torch

from ..train.data import BatchPlan, Corpus, TrainQueries, shard
from ..train.losses import adore_loss
from .encode import EmbeddingStore, embedding_doc_ids
from .index import read_index, search
from .model import BiEncoder
from .training import fingerprint, input_signature, settings_for, train_and_save

log = logging.getLogger(__name__)


class QueryBatches:
    """Deterministic batches of train queries (tokenised) with their positive rows."""

    def __init__(self, model: BiEncoder, queries: TrainQueries, plan: BatchPlan, max_length: int):
        self.model, self.queries, self.plan, self.max_length = model, queries, plan, max_length

    def __call__(self, step: int, rank: int = 0, world_size: int = 1) -> dict:
        picked = shard(self.plan.queries(step), rank, world_size)
        texts = [str(t) for t in self.queries.texts[picked]]
        return {
            "queries": self.model.tokenize(texts, self.max_length, "query"),
            "positives": [self.queries.positives[q] for q in picked],
        }


def candidate_list(retrieved: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Retrieved rows in rank order, then the positives the index missed; and which are relevant."""
    retrieved = retrieved[retrieved >= 0]
    missing = positives[~np.isin(positives, retrieved)]
    candidates = np.concatenate([retrieved, missing])
    return candidates, np.isin(candidates, positives)


def reciprocal_rank_at_10(retrieved: np.ndarray, positives: np.ndarray) -> float:
    hits = np.flatnonzero(np.isin(retrieved[:10], positives))
    return 1.0 / (hits[0] + 1) if len(hits) else 0.0


def dynamic_candidates(
    index, query_vectors: np.ndarray, positives: list[np.ndarray], depth: int
) -> tuple[list[tuple[np.ndarray, np.ndarray]], float, float]:
    """Each query's current top-`depth` from the index plus its missed positives, with
    relevance labels; also the batch's MRR@10 before the update and the search seconds."""
    started = time.perf_counter()
    _, rows = search(index, query_vectors, depth)
    seconds = time.perf_counter() - started
    lists = [candidate_list(r, p) for r, p in zip(rows, positives, strict=True)]
    mrr = float(
        np.mean([reciprocal_rank_at_10(r, p) for r, p in zip(rows, positives, strict=True)])
    )
    return lists, mrr, seconds


def adore_loss_fn(index, embeddings: EmbeddingStore, depth: int, metric_cut: int | None):
    """loss_fn(model, batch) for the Trainer: retrieve, build candidate lists, LambdaLoss.
    Candidate vectors are read from the memory-mapped shards, not a copy of all of them."""

    def loss_fn(model, batch):
        queries = model(**batch["queries"])
        lists, mrr, seconds = dynamic_candidates(
            index, queries.detach().float().cpu().numpy(), batch["positives"], depth
        )
        losses = []
        for vector, (candidates, relevant) in zip(queries, lists, strict=True):
            documents = torch.from_numpy(embeddings.rows(candidates))
            documents = documents.to(vector.device, vector.dtype)
            relevant = torch.from_numpy(relevant).to(vector.device)
            losses.append(adore_loss(documents @ vector, relevant, metric_cut))
        return torch.stack(losses).mean(), {"train_mrr@10": mrr, "search_seconds": seconds}

    return loss_fn


def train_adore(
    *,
    doc_encoder_dir: str,
    embeddings_dir: str,
    index_path: str,
    corpus_path: str,
    queries_path: str,
    qrels_path: str,
    out_dir: str,
    checkpoint_dir: str,
    training: dict,
    query_length: int,
) -> None:
    """Train a query encoder initialised from the base model against the base model's index."""
    corpus = Corpus(corpus_path)
    if not np.array_equal(embedding_doc_ids(embeddings_dir), corpus.doc_ids):
        raise ValueError(f"{embeddings_dir} was not encoded from {corpus_path} (doc order differs)")
    queries = TrainQueries(queries_path, qrels_path, corpus)
    settings = settings_for(training, len(queries))
    depth, metric_cut = int(training.get("depth", 200)), training.get("metric_cut", 200)
    model = BiEncoder.load(doc_encoder_dir)
    index = read_index(index_path)
    embeddings = EmbeddingStore(embeddings_dir)
    log.info(
        "ADORE: %d train queries, index %s (%d vectors), %d steps of %d, top-%d, MRR@%s weights",
        len(queries),
        index_path,
        index.ntotal,
        settings.steps,
        settings.batch_size,
        depth,
        metric_cut,
    )
    batches = QueryBatches(
        model, queries, BatchPlan(len(queries), settings.batch_size, settings.seed), query_length
    )
    job = fingerprint(
        method="adore",
        settings=asdict(settings),
        depth=depth,
        metric_cut=metric_cut,
        inputs=input_signature(index_path, queries_path, qrels_path),
        init=doc_encoder_dir,
        query_length=query_length,
    )
    loss_fn = adore_loss_fn(index, embeddings, depth, metric_cut)
    train_and_save(
        model,
        loss_fn,
        batches,
        settings,
        checkpoint_dir,
        job,
        out_dir,
        method="adore",
        index=index_path,
    )
