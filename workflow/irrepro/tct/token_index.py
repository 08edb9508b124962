"""ColBERT end to end: every passage token's vector on disk, a faiss index over them, and
retrieval by candidate generation plus exact MaxSim (ColBERT v1's end-to-end retrieval).

- Token vectors: the passages' ColBERT outputs less padding and punctuation (the tokens MaxSim
  reads), float16, in shards of `shard_size` consecutive passages with each passage's token
  count; resumable as corpus encoding is (irrepro.dense.encode).
- Index: faiss over all token vectors (any irrepro.dense.index kind: flat on the demo, IVF-PQ
  on MS MARCO as ColBERT v1's 16-byte IVFPQ), trained on a seeded sample and filled shard by
  shard, so the vectors are never all in memory.
- Retrieval: each query token's `k_per_token` nearest passage tokens (scanning `nprobe` lists
  of an IVF index) name the candidate passages; their full token vectors are read from the
  shards and scored by exact MaxSim, `doc_budget` passages at a time; the top `depth` are kept.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import faiss
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch
from tqdm import tqdm

from .. import precision as amp
from ..artefacts import RunWriter
from ..candidates import padded
from ..dense.embeddings import META, gather_rows, shard_name
from ..dense.encode import (
    encoding_fingerprint,
    prepare_work_dir,
    publish,
    read_shards,
    save_array,
    save_shard,
)
from ..dense.index import IndexKind, new_index, on_device, search, set_nprobe
from ..rerank import encode_tokens
from .colbert import ColBERT, maxsim

log = logging.getLogger(__name__)

BLOCK = 2048  # passages encoded at once into padded token tensors


def vectors_name(number: int) -> str:
    return shard_name(number)  # as corpus encoding names them, so prepare_work_dir clears them


def lengths_name(number: int) -> str:
    return f"shard-{number:05d}.lengths.npy"


def encode_token_vectors(
    model: ColBERT,
    corpus_path: str | Path,
    out_dir: str | Path,
    work_dir: str | Path,
    passage_length: int,
    batch_size: int = 128,
    shard_size: int = 100_000,
) -> dict:
    """The corpus's token vectors into `out_dir`; shards already in `work_dir` (same model,
    corpus and settings) are kept."""
    model.eval()
    work_dir = Path(work_dir)
    count = pq.ParquetFile(corpus_path).metadata.num_rows
    shards = math.ceil(count / shard_size)
    settings = {"max_length": passage_length, "precision": amp.describe(None, model.device)}
    fingerprint = encoding_fingerprint(model, corpus_path, settings, shard_size)
    prepare_work_dir(work_dir, {"fingerprint": fingerprint, "shards": shards})
    doc_ids, resumed = [], 0
    bar = tqdm(total=count, unit="passage", desc="encoding passage tokens")
    with bar:
        for number, shard in enumerate(read_shards(corpus_path, shard_size)):
            doc_ids.extend(shard.column("doc_id").chunks)
            if (work_dir / lengths_name(number)).exists():
                resumed += 1
                bar.update(shard.num_rows)
                continue
            texts = shard.column("text").to_pylist()
            vectors, lengths = passage_tokens(model, texts, passage_length, batch_size, bar)
            save_shard(work_dir / vectors_name(number), vectors)
            save_array(work_dir / lengths_name(number), lengths)
    tokens = sum(int(np.load(work_dir / lengths_name(n)).sum()) for n in range(shards))
    meta = {"dim": model.dim, "count": count, "shards": shards, "dtype": "float16",
            "tokens": tokens}  # fmt: skip
    publish(work_dir, out_dir, meta, doc_ids, lambda n: [vectors_name(n), lengths_name(n)])
    return {**meta, "resumed_shards": resumed}


@torch.no_grad()
def passage_tokens(model: ColBERT, texts, passage_length: int, batch_size: int, progress=None):
    """(tokens, dim) float32 vectors of the tokens MaxSim reads, passage after passage, and
    each passage's token count. Encoded BLOCK passages at a time: a whole shard padded to
    passage_length would take gigabytes."""
    vectors, lengths = [], []
    for start in range(0, len(texts), BLOCK):
        block = texts[start : start + BLOCK]
        padded_vectors, mask = encode_tokens(model, block, passage_length, batch_size, "passage",
                                             progress)  # fmt: skip
        vectors.append(padded_vectors[mask].cpu().numpy())
        lengths.append(mask.sum(1).cpu().numpy())
    if not vectors:
        return np.empty((0, model.dim), dtype=np.float32), np.empty(0, dtype=np.int32)
    return np.concatenate(vectors), np.concatenate(lengths).astype(np.int32)


class TokenStore:
    """The stored token vectors: which passage each belongs to, and a passage's vectors."""

    def __init__(self, directory: str | Path):
        directory = Path(directory)
        meta = json.loads((directory / META).read_text())
        self.dim, self.count = meta["dim"], meta["count"]
        self.shards = [np.load(directory / vectors_name(n), mmap_mode="r")
                       for n in range(meta["shards"])]  # fmt: skip
        lengths = np.concatenate(
            [np.load(directory / lengths_name(n)) for n in range(meta["shards"])]
        )
        self.lengths = lengths.astype(np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)])  # token offset of a passage
        self.shard_starts = np.cumsum([0, *(len(s) for s in self.shards)])
        self.doc_of_token = np.repeat(np.arange(self.count, dtype=np.int32), self.lengths)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def tokens(self, start: int, stop: int) -> np.ndarray:
        """float32 vectors of tokens start..stop-1 (they may span shards)."""
        return self.gather(np.arange(start, stop))

    def gather(self, positions: np.ndarray) -> np.ndarray:
        """float32 vectors of the tokens at these positions, in that order."""
        return gather_rows(self.shards, self.shard_starts, positions, self.dim)

    def passages(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded (len(rows), longest, dim) vectors and their (len(rows), longest) mask."""
        lengths = self.lengths[rows]
        width = max(1, int(lengths.max())) if len(rows) else 1
        which = np.repeat(np.arange(len(rows)), lengths)  # the passage of each token
        within = np.arange(len(which)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        vectors = np.zeros((len(rows), width, self.dim), dtype=np.float32)
        mask = np.zeros((len(rows), width), dtype=bool)
        vectors[which, within] = self.gather(np.repeat(self.starts[rows], lengths) + within)
        mask[which, within] = True
        return torch.from_numpy(vectors), torch.from_numpy(mask)

    def sample(self, size: int, seed: int) -> np.ndarray:
        """A seeded sample of token vectors (all of them when there are fewer)."""
        if size >= len(self):
            return self.tokens(0, len(self))
        picked = np.sort(np.random.default_rng(seed).choice(len(self), size, replace=False))
        return self.gather(picked)

    def shards_in_order(self):
        for shard in self.shards:
            yield np.asarray(shard, dtype=np.float32)


def build_token_index(store: TokenStore, kind: str, seed: int = 0) -> faiss.Index:
    """An inner-product index of `kind` over every token vector (label = token position)."""
    spec = IndexKind.parse(kind)
    spec.check(len(store), store.dim)
    index = new_index(spec, store.dim, seed)
    if not index.is_trained:
        index.train(store.sample(spec.training_size(len(store)), seed))
    for vectors in store.shards_in_order():
        index.add(np.ascontiguousarray(vectors))
    return index


@torch.no_grad()
def end_to_end_run(
    model: ColBERT,
    store: TokenStore,
    index: faiss.Index,
    doc_ids: np.ndarray,
    queries: pd.DataFrame,
    out_path: str | Path,
    *,
    depth: int,
    query_length: int,
    k_per_token: int,
    nprobe: int | None = None,
    doc_budget: int = 4096,
    batch_size: int = 64,
) -> dict:
    """Top-`depth` passages per query by MaxSim over its candidates; returns the seconds spent
    generating candidates and scoring them, and the mean candidates per query."""
    model.eval()
    if nprobe is not None:
        set_nprobe(index, nprobe)
    index = on_device(index)
    k = min(k_per_token, index.ntotal)
    seconds = {"candidates": 0.0, "maxsim": 0.0, "encode": 0.0}
    candidates_total = 0
    bar = tqdm(total=len(queries), unit="query", desc="ColBERT end-to-end retrieval")
    with RunWriter(out_path, doc_ids) as writer, bar:
        for start in range(0, len(queries), batch_size):
            chunk = queries.iloc[start : start + batch_size]
            clock = time.perf_counter()
            vectors, mask = encode_tokens(
                model, chunk["text"].astype(str).tolist(), query_length, batch_size, "query"
            )
            seconds["encode"] += time.perf_counter() - clock
            rows, scores = [], []
            for vector, used in zip(vectors, mask, strict=True):
                clock = time.perf_counter()
                candidates = candidate_passages(store, index, vector[used].cpu().numpy(), k)
                seconds["candidates"] += time.perf_counter() - clock
                clock = time.perf_counter()
                top_rows, top_scores = exact_maxsim(store, vector, used, candidates, depth,
                                                    doc_budget)  # fmt: skip
                seconds["maxsim"] += time.perf_counter() - clock
                candidates_total += len(candidates)
                rows.append(top_rows)
                scores.append(top_scores)
            writer.add(chunk["query_id"].astype(str).tolist(), *padded(rows, scores))
            bar.update(len(chunk))
    return {**{f"{k}_seconds": v for k, v in seconds.items()},
            "candidates_per_query": candidates_total / max(len(queries), 1)}  # fmt: skip


def candidate_passages(store: TokenStore, index, query_tokens: np.ndarray, k: int) -> np.ndarray:
    """The passages (sorted rows) owning any query token's `k` nearest passage tokens."""
    _, hits = search(index, query_tokens, k)
    hits = hits[hits >= 0]
    return np.unique(store.doc_of_token[hits]).astype(np.int64)


def exact_maxsim(store, vector, used, candidates, depth: int, doc_budget: int):
    """The top `depth` of `candidates` by MaxSim, best first (ties: lower row first), scored on
    the query vector's device."""
    scores = np.empty(len(candidates), dtype=np.float32)
    for start in range(0, len(candidates), doc_budget):
        part = candidates[start : start + doc_budget]
        docs, doc_mask = (t.to(vector.device) for t in store.passages(part))
        best = maxsim(vector[None], used[None], docs, doc_mask)[0]
        scores[start : start + len(part)] = best.cpu().numpy()
    order = np.lexsort((candidates, -scores))[:depth]
    return candidates[order], scores[order]
