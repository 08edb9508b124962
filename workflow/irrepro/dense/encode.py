"""Corpus encoding: shards of consecutive passages, float16 on disk, resumable after a crash.

MS MARCO's 8.8M passages take hours to encode, so the work is cut into shards of `shard_size`
consecutive rows, each written atomically to `work_dir` (outside Snakemake's output, which
Snakemake deletes when a job fails). A restart with the same model, corpus and settings skips the
shards already there; anything else starts over. Finished shards move into `out_dir` with the
doc ids in corpus order, so row i of `load_embeddings` is passage `embedding_doc_ids[i]`.
The dataset's queries are encoded by the same job (`encode_queries`), where the model is loaded
already.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from tqdm import tqdm

from .. import precision as amp
from .. import runtime
from ..artefacts import QUERIES, read_table
from ..lookup import stored_queries_path
from ..model_files import staged_directory, write_json
from .embeddings import DOC_IDS, META, shard_name, write_query_vectors
from .model import BiEncoder

log = logging.getLogger(__name__)

WORK_META = "encoding.json"
READ_BATCH = 8192


def encode_corpus(
    model: BiEncoder,
    corpus_path: str | Path,
    out_dir: str | Path,
    work_dir: str | Path,
    max_length: int,
    batch_size: int = 128,
    shard_size: int = 100_000,
    device=None,
    precision: str | None = None,
) -> dict:
    """Encode corpus.parquet (doc_id, text) into `out_dir`; returns its meta plus how many shards
    were found already encoded in `work_dir`."""
    device = torch.device(device or runtime.device())
    model.to(device)
    work_dir = Path(work_dir)
    count = pq.ParquetFile(corpus_path).metadata.num_rows
    meta = {
        "dim": model.dim,
        "count": count,
        "shards": math.ceil(count / shard_size),
        "dtype": "float16",
        "max_length": max_length,
        "precision": amp.describe(precision, device),
    }
    fingerprint = encoding_fingerprint(model, corpus_path, meta, shard_size)
    prepare_work_dir(work_dir, {**meta, "fingerprint": fingerprint, "shard_size": shard_size})

    doc_ids, resumed = [], 0
    bar = tqdm(total=count, unit="passage", desc="encoding passages")
    with bar:
        for number, shard in enumerate(read_shards(corpus_path, shard_size)):
            doc_ids.extend(shard.column("doc_id").chunks)
            path = work_dir / shard_name(number)
            if path.exists():
                resumed += 1
                bar.update(shard.num_rows)
                continue
            texts = shard.column("text").to_pylist()
            vectors = model.encode(texts, max_length, batch_size, progress=bar, precision=precision)
            save_shard(path, vectors)
    if resumed:
        log.info("%s: %d of %d shards were already encoded", work_dir, resumed, meta["shards"])
    publish(work_dir, out_dir, meta, doc_ids)
    return {**meta, "resumed_shards": resumed}


def encode_queries(
    model: BiEncoder,
    queries: dict[str, str | Path],
    out_dir: str | Path,
    max_length: int,
    batch_size: int = 128,
    precision: str | None = None,
) -> dict[str, int]:
    """Each split's queries file (query_id, text) encoded into `out_dir`'s
    queries-<split>.parquet, where retrieval jobs read them without loading the model; returns
    how many queries each split has."""
    counts = {}
    for split, path in queries.items():
        table = read_table(path, QUERIES)
        bar = tqdm(total=len(table), unit="query", desc=f"encoding {split} queries")
        with bar:
            vectors = model.encode(
                table["text"].tolist(), max_length, batch_size, progress=bar, kind="query",
                precision=precision,
            )  # fmt: skip
        write_query_vectors(stored_queries_path(out_dir, split), table["query_id"], vectors)
        counts[split] = len(table)
    return counts


def query_vectors_after_save(queries: dict[str, str], max_length: int, precision: str):
    """A training job's `after_save` (irrepro.train.job.Job) for a query encoder that no
    encoding job runs (ADORE's): the dataset's queries encoded into the model folder by the
    model as saved there, read back as a retrieval job would load it; None without queries."""
    if not queries:
        return None

    def store(model_dir: str) -> None:
        model = BiEncoder.load(model_dir)
        counts = encode_queries(model, queries, model_dir, max_length, precision=precision)
        log.info("%s: queries encoded: %s", model_dir, counts)

    return store


# ---------------------------------------------------------------------- steps


def encoding_fingerprint(model: BiEncoder, corpus_path, meta: dict, shard_size: int) -> str:
    """Changes whenever a finished shard could differ: weights, settings (length, precision),
    or the corpus file."""
    stat = Path(corpus_path).stat()
    settings = [meta["max_length"], meta["precision"]]
    parts = [model.fingerprint(), *settings, shard_size, stat.st_size, stat.st_mtime_ns]
    return hashlib.blake2b(json.dumps(parts).encode(), digest_size=16).hexdigest()


def prepare_work_dir(work_dir: Path, meta: dict) -> None:
    """Keep shards encoded under the same fingerprint; otherwise delete our files and start over
    (only files we write are deleted, in case `work_dir` is shared by mistake)."""
    meta_path = work_dir / WORK_META
    previous = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if previous.get("fingerprint") == meta["fingerprint"]:
        return
    if work_dir.exists():
        log.info("%s: clearing shards of another model or corpus", work_dir)
        for path in [*work_dir.glob("shard-*.npy"), *work_dir.glob(".shard-*"), meta_path]:
            path.unlink(missing_ok=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    write_json(meta_path, meta)


def read_shards(corpus_path, shard_size: int) -> Iterator[pa.Table]:
    """Runs of `shard_size` consecutive rows (the last may be shorter), read in small batches so
    that only one shard's texts are ever in memory."""
    # pre_buffer would keep every row group read so far in memory: the whole corpus by the end
    parquet = pq.ParquetFile(corpus_path, pre_buffer=False)
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in parquet.iter_batches(batch_size=READ_BATCH, columns=["doc_id", "text"]):
        pending.append(batch)
        rows += batch.num_rows
        while rows >= shard_size:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, shard_size)
            rest = table.slice(shard_size)
            pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield pa.Table.from_batches(pending)


def save_shard(path: Path, vectors: np.ndarray) -> None:
    """float16 .npy, renamed into place so that a present shard is always a complete one."""
    half = vectors.astype(np.float16)
    if not np.isfinite(half).all():
        raise ValueError(f"{path.name}: vectors overflow float16 (|x| > 65504) or are NaN")
    save_array(path, half)


def save_array(path: Path, array: np.ndarray) -> None:
    """.npy renamed into place (the hidden temporary name is one prepare_work_dir clears)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as handle:
        np.save(handle, array)
    tmp.replace(path)


def publish(work_dir: Path, out_dir, meta: dict, doc_ids: list[pa.Array], files=None) -> None:
    """Move the shards into `out_dir` next to doc_ids.parquet and meta.json, then tidy up.
    `files(number)`: the names of shard `number`'s files (default: its vectors only)."""
    files = files or (lambda number: [shard_name(number)])
    with staged_directory(out_dir) as staging:
        ids = pa.chunked_array([chunk.cast(pa.string()) for chunk in doc_ids], pa.string())
        pq.write_table(pa.table({"doc_id": ids}), staging / DOC_IDS)
        write_json(staging / META, meta)
        for number in range(meta["shards"]):
            for name in files(number):
                shutil.move(work_dir / name, staging / name)
    (work_dir / WORK_META).unlink()
    with contextlib.suppress(OSError):
        work_dir.rmdir()
