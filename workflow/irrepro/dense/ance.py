"""ANCE: hard negatives from the model being trained, re-mined every `refresh_every` steps.

ANCE (Xiong et al., ICLR 2021; microsoft/ANCE) starts from the BM25-Neg warm-up model and trains
on (query, positive, negative) triples whose negatives come from the current model's top-200
minus the positives, with the NLL of the positive against its negative (dense.losses' "ance").
In the original a separate process re-encodes the corpus with the newest checkpoint, rebuilds
the index and re-mines while training goes on with the older negatives. Here the refresh is
synchronous: at every `refresh_every`-th step (step 0 included) the job encodes the corpus with
its current weights, builds a flat index, retrieves each train query's top-`depth` and trains on
those negatives until the next refresh. Its time is training time (Table 4's cost).

Each refresh is a folder under the job's checkpoint folder (index.faiss, negatives.parquet,
refresh.json with its timings, written last), so a killed job resumes from its last checkpoint
with that refresh's negatives; a refresh cut short resumes its encoding shards.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..artefacts import NEGATIVES, write_table
from ..model_files import write_json
from ..provenance import code_version
from ..train.data import Corpus, NegativePool, PairBatches, TrainQueries
from ..train.distributed import is_main_process
from ..train.job import Job, TrainData
from .adore import reciprocal_rank_at_10
from .embeddings import load_embeddings
from .encode import encode_corpus
from .index import build_index, search, write_index
from .model import BiEncoder
from .training import EncoderSpec, biencoder_job

log = logging.getLogger(__name__)

RECORD = "refresh.json"
INDEX = "index.faiss"
NEGATIVES_FILE = "negatives.parquet"
WAIT_SECONDS = 0.5


class Refresher:
    """The negatives of the refresh a step trains on: made from the model's weights at the
    refresh's step, or read back when this job made them before it was killed."""

    def __init__(
        self,
        model: BiEncoder,
        data: TrainData,
        *,
        every: int,
        depth: int,
        keep_indexes: bool,
        batch_size: int,
        shard_size: int,
    ):
        self.model, self.data = model, data
        self.every, self.depth, self.keep_indexes = every, depth, keep_indexes
        self.batch_size, self.shard_size = batch_size, shard_size
        self.lengths = EncoderSpec.from_config(data.settings["encoder"]).lengths()
        self.directory = Path(data.work_dir) / "refreshes"
        self.number: int | None = None
        self.current: NegativePool | None = None
        if is_main_process():
            self._clear_other_jobs()

    def pool(self, step: int) -> NegativePool:
        number = step // self.every
        if number != self.number:
            path = self._negatives(number * self.every)
            self.current = NegativePool(path, self.data.queries, self.data.corpus)
            self.number = number
        return self.current

    def records(self) -> list[dict]:
        """This job's refreshes so far, in step order."""
        records = (read_record(folder) for folder in sorted(self.directory.glob("step-*")))
        return [r for r in records if r and r["fingerprint"] == self.data.fingerprint]

    def report(self) -> dict:
        """What training.json says of the refreshes: each one's timings, and their total."""
        records = [
            {k: v for k, v in r.items() if k not in ("fingerprint", "written_by")}
            for r in self.records()
        ]
        seconds = sum(r["encode_seconds"] + r["index_seconds"] + r["mine_seconds"] for r in records)
        return {
            "refresh_every": self.every,
            "refreshes": records,
            "refresh_seconds": seconds,
            "refresh": "synchronous (inside the training job)",
        }

    # -- one refresh -------------------------------------------------------------------------

    def _negatives(self, step: int) -> Path:
        folder = self.directory / f"step-{step:07d}"
        if not self._done(folder):
            if is_main_process():
                self._refresh(folder, step)
            else:
                self._wait_for(folder)
        return folder / NEGATIVES_FILE

    def _done(self, folder: Path) -> bool:
        record = read_record(folder)
        return record is not None and record["fingerprint"] == self.data.fingerprint

    def _wait_for(self, folder: Path) -> None:
        """Other processes wait on the disk, not on a collective that would time out."""
        log.info("waiting for the main process to refresh %s", folder)
        while not self._done(folder):
            time.sleep(WAIT_SECONDS)

    def _refresh(self, folder: Path, step: int) -> None:
        corpus, queries = self.data.corpus, self.data.queries
        log.info("step %d: refreshing ANCE's negatives with the current weights", step)
        started = time.perf_counter()
        embeddings = folder / "embeddings"
        encode_corpus(
            self.model, self.data.inputs["corpus"], embeddings, folder / "encoding",
            self.lengths["passage_length"], self.batch_size, self.shard_size,
            device=self.model.device, precision=self.data.train.precision,
        )  # fmt: skip
        encoded = time.perf_counter()
        index = build_index(load_embeddings(embeddings), "flat")
        write_index(index, folder / INDEX)
        shutil.rmtree(embeddings)
        indexed = time.perf_counter()
        texts = [str(t) for t in queries.texts]
        vectors = self.model.encode(
            texts,
            self.lengths["query_length"],
            self.batch_size,
            kind="query",
            precision=self.data.train.precision,
        )
        queried = time.perf_counter()
        _, rows = search(index, vectors, min(self.depth, index.ntotal))
        searched = time.perf_counter()
        negatives, mrr = mined_negatives(rows, queries, corpus)
        write_table(negatives, folder / NEGATIVES_FILE, NEGATIVES)
        mined = time.perf_counter()
        record = {
            "step": step,
            "encode_seconds": encoded - started,
            "index_seconds": indexed - encoded,
            "mine_seconds": mined - indexed,  # of which:
            "query_encode_seconds": queried - indexed,
            "search_seconds": searched - queried,
            "train_mrr@10": mrr,
            "negatives": len(negatives),
            "fingerprint": self.data.fingerprint,
            "written_by": code_version(),
        }
        partial = folder / f".{RECORD}.tmp"  # renamed: a process polling never reads half of it
        write_json(partial, record)
        partial.replace(folder / RECORD)
        log.info(
            "step %d: refreshed in %.1f s (encode %.1f, index %.1f, mine %.1f); train MRR@10 %.4f",
            step, mined - started, record["encode_seconds"], record["index_seconds"],
            record["mine_seconds"], mrr,
        )  # fmt: skip
        if not self.keep_indexes:
            for older in self.directory.glob("step-*"):
                if older != folder:
                    (older / INDEX).unlink(missing_ok=True)

    def _clear_other_jobs(self) -> None:
        """Refreshes another job (other settings or inputs) wrote would be read as this one's."""
        for folder in self.directory.glob("step-*"):
            record = read_record(folder)
            if record is not None and record["fingerprint"] != self.data.fingerprint:
                shutil.rmtree(folder)


def read_record(folder: Path) -> dict | None:
    path = folder / RECORD
    return json.loads(path.read_text()) if path.exists() else None


def mined_negatives(
    rows: np.ndarray, queries: TrainQueries, corpus: Corpus
) -> tuple[pd.DataFrame, float]:
    """Each train query's retrieved rows minus its positives, as a negatives artefact (rank =
    retrieval rank), and the train queries' MRR@10 before the positives are taken out."""
    query_ids, doc_rows, ranks, reciprocal = [], [], [], []
    for query_id, retrieved, positives in zip(queries.ids, rows, queries.positives, strict=True):
        retrieved = retrieved[retrieved >= 0]
        reciprocal.append(reciprocal_rank_at_10(retrieved, positives))
        keep = ~np.isin(retrieved, positives)
        query_ids.append(np.full(keep.sum(), query_id, dtype=object))
        doc_rows.append(retrieved[keep])
        ranks.append(np.flatnonzero(keep) + 1)
    frame = pd.DataFrame(
        {
            "query_id": np.concatenate(query_ids),
            "doc_id": corpus.doc_ids[np.concatenate(doc_rows)],
            "rank": np.concatenate(ranks).astype(np.int64),
        }
    )
    return frame, float(np.mean(reciprocal))


class RefreshingPairBatches(PairBatches):
    """PairBatches whose negatives pool is the refresh of the step's interval."""

    def __init__(self, batches: PairBatches, refresher: Refresher):
        self.__dict__.update(batches.__dict__)
        self.refresher = refresher

    def sample(self, step: int):
        self.pool = self.refresher.pool(step)
        return super().sample(step)


def ance_job(data: TrainData) -> Job:
    """The warm-up model (`init`) trained on negatives it re-mines every `refresh_every` steps."""
    job = biencoder_job(data)
    section = data.section
    refresher = Refresher(
        job.model,
        data,
        every=int(section["refresh_every"]),
        depth=int(section.get("depth", 200)),
        keep_indexes=bool(section.get("keep_indexes", False)),
        batch_size=int(data.speed.get("encode_batch_size", 256)),
        shard_size=int(data.settings["shard_size"]),
    )
    batches = RefreshingPairBatches(job.batches, refresher)
    details = {**job.details, "depth": refresher.depth}
    return Job(job.model, job.loss, batches, details, report=refresher.report)
