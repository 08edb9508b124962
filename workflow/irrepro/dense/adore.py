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

import numpy as np
import torch

from ..lookup import query_files
from ..train.data import BatchPlan, TrainQueries
from ..train.job import Job, TrainData
from ..train.losses import Loss, loss_class
from .embeddings import EmbeddingStore, embedding_doc_ids
from .encode import query_vectors_after_save
from .index import read_index, search
from .losses import adore_loss
from .model import BiEncoder

log = logging.getLogger(__name__)


class QueryBatches:
    """Deterministic batches of train queries (tokenised) with their positive rows."""

    def __init__(self, model: BiEncoder, queries: TrainQueries, plan: BatchPlan, max_length: int):
        self.model, self.queries, self.plan, self.max_length = model, queries, plan, max_length

    def __call__(self, step: int) -> dict:
        picked = self.plan.queries(step)
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


class AdoreLoss(Loss):
    """Retrieve each query's current top-`depth`, add the missed positives, and take the
    |ΔMRR|-weighted RankNet loss over the list. Candidate vectors are read from the
    memory-mapped shards, not a copy of all of them."""

    name = "adore"

    def __init__(self, index, embeddings: EmbeddingStore, depth: int, metric_cut: int | None):
        self.index, self.embeddings, self.depth, self.metric_cut = (
            index,
            embeddings,
            depth,
            metric_cut,
        )

    def __call__(self, model, batch, step):
        queries = model(**batch["queries"])
        lists, mrr, seconds = dynamic_candidates(
            self.index, queries.detach().float().cpu().numpy(), batch["positives"], self.depth
        )
        losses = []
        for vector, (candidates, relevant) in zip(queries, lists, strict=True):
            documents = torch.from_numpy(self.embeddings.rows(candidates))
            documents = documents.to(vector.device, vector.dtype)
            relevant = torch.from_numpy(relevant).to(vector.device)
            losses.append(adore_loss(documents @ vector, relevant, self.metric_cut))
        return torch.stack(losses).mean(), {"train_mrr@10": mrr, "search_seconds": seconds}


def adore_job(data: TrainData) -> Job:
    """A query encoder initialised from the base model, against the base model's index."""
    inputs = data.inputs
    if not np.array_equal(embedding_doc_ids(inputs["embeddings"]), data.corpus.doc_ids):
        raise ValueError(
            f"{inputs['embeddings']} was not encoded from {inputs['corpus']} (doc order differs)"
        )
    depth, metric_cut = int(data.section.get("depth", 200)), data.section.get("metric_cut", 200)
    model = BiEncoder.load(inputs["doc_encoder"])
    index = read_index(inputs["index"])
    log.info(
        "ADORE: index %s (%d vectors), top-%d, MRR@%s weights",
        inputs["index"], index.ntotal, depth, metric_cut,
    )  # fmt: skip
    loss_class((AdoreLoss,), data.loss_name(), data.method.name)
    loss = AdoreLoss(index, EmbeddingStore(inputs["embeddings"]), depth, metric_cut)
    plan = BatchPlan(len(data.queries), data.train.batch_size, data.train.seed)
    query_length = data.settings["query_length"]
    batches = QueryBatches(model, data.queries, plan, query_length)
    store = query_vectors_after_save(query_files(inputs), query_length, data.train.precision)
    return Job(model, loss, batches, {"index": inputs["index"]}, after_save=store)
