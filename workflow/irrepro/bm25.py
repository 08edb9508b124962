"""BM25 with bm25s: index the corpus and retrieve top-k runs.

Tokenisation follows Anserini's default analyzer, which produced the papers' BM25 baselines:
lowercase, word tokens (single characters kept), Lucene's 33 English stopwords, Porter stemming.
bm25s' `lucene` scoring matches Lucene's BM25 except that Lucene stores document lengths in a
lossy one-byte norm; runs therefore differ from Anserini's only in the last digits.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import bm25s
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from bm25s.tokenization import Tokenizer
from tqdm import tqdm

from .artefacts import CORPUS, RunWriter, descending_id_order, in_run_order
from .errors import ConfigError
from .postings import top_k

log = logging.getLogger(__name__)

LUCENE_STOPWORDS = tuple(STOPWORDS_EN)  # bm25s ships exactly Lucene's EnglishAnalyzer stop set
PARAMS_FILE = "irrepro_bm25.json"
DOC_IDS_FILE = "doc_ids.parquet"
# scorings that give a document without the term no score, so its postings are all of it
POSTINGS_METHODS = ("lucene", "robertson", "atire")


@dataclass(frozen=True)
class BM25Params:
    """Scoring and tokenisation; every field is a key of the `bm25` config section."""

    k1: float = 0.9
    b: float = 0.4
    method: str = "lucene"
    stemmer: str = "porter"
    stopwords: str | tuple[str, ...] = "lucene"
    token_pattern: str = r"(?u)\b\w+\b"
    lowercase: bool = True
    backend: str = "auto"

    @classmethod
    def from_config(cls, section: dict) -> BM25Params:
        known = {k: v for k, v in section.items() if k in cls.__dataclass_fields__}
        if isinstance(known.get("stopwords"), list):
            known["stopwords"] = tuple(known["stopwords"])
        params = cls(**known)
        params.validate()
        return params

    def validate(self) -> None:
        if self.stemmer not in ("none", *Stemmer.algorithms()):
            raise ConfigError(
                f"bm25.stemmer {self.stemmer!r} is not 'none' or a PyStemmer algorithm "
                f"({', '.join(Stemmer.algorithms())})"
            )
        if isinstance(self.stopwords, str) and self.stopwords not in ("lucene", "none"):
            raise ConfigError("bm25.stopwords must be 'lucene', 'none' or a list of words")
        if self.method not in ("lucene", "robertson", "atire", "bm25l", "bm25+"):
            raise ConfigError(f"bm25.method {self.method!r} is not a bm25s method")

    def stopword_list(self) -> list[str]:
        if self.stopwords == "lucene":
            return list(LUCENE_STOPWORDS)
        if self.stopwords == "none":
            return []
        return list(self.stopwords)

    def tokenizer(self) -> Tokenizer:
        stemmer = None if self.stemmer == "none" else Stemmer.Stemmer(self.stemmer)
        return Tokenizer(
            lower=self.lowercase,
            splitter=self.token_pattern,
            stopwords=self.stopword_list(),
            stemmer=stemmer,
        )

    def to_json(self) -> dict:
        values = asdict(self)
        values["stopwords"] = (
            list(self.stopwords) if isinstance(self.stopwords, tuple) else self.stopwords
        )
        return values


def _text_batches(corpus_path: str | Path, batch_size: int) -> Iterator[pa.RecordBatch]:
    parquet = pq.ParquetFile(corpus_path)
    yield from parquet.iter_batches(batch_size=batch_size, columns=CORPUS.names)


def build_index(
    corpus_path: str | Path, index_dir: str | Path, params: BM25Params, batch_size: int = 100_000
) -> dict:
    """Tokenise the corpus in batches and save a bm25s index, its vocabulary and doc id order."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = params.tokenizer()
    token_ids: list[list[int]] = []
    doc_ids: list[pa.Array] = []
    total = pq.ParquetFile(corpus_path).metadata.num_rows
    with tqdm(total=total, desc="tokenise corpus", unit="doc") as bar:
        for batch in _text_batches(corpus_path, batch_size):
            texts = batch.column("text").to_pylist()
            token_ids += tokenizer.tokenize(
                texts, update_vocab=True, return_as="ids", show_progress=False
            )
            doc_ids.append(batch.column("doc_id"))
            bar.update(len(texts))
    retriever = bm25s.BM25(k1=params.k1, b=params.b, method=params.method, backend=params.backend)
    retriever.index((token_ids, tokenizer.get_vocab_dict()), show_progress=True)
    retriever.save(str(index_dir))
    tokenizer.save_vocab(str(index_dir))
    pq.write_table(pa.table({"doc_id": pa.concat_arrays(doc_ids)}), index_dir / DOC_IDS_FILE)
    stats = {
        "documents": total,
        "vocabulary": len(tokenizer.get_vocab_dict()),
        "postings": int(retriever.scores["data"].shape[0]),
        "avg_doc_tokens": float(np.mean([len(ids) for ids in token_ids])) if token_ids else 0.0,
        "params": params.to_json(),
    }
    (index_dir / PARAMS_FILE).write_text(json.dumps(stats, indent=2) + "\n")
    log.info("BM25 index: %s", {k: v for k, v in stats.items() if k != "params"})
    return stats


class BM25Index:
    """A saved index, memory-mapped, with the tokenizer it was built with.

    Backend `auto` retrieves with irrepro.postings over bm25s' saved postings (exact top-k in
    trec_eval order; with the run written, 1.2x bm25s' retrieval on 1M passages); `numpy` and
    `numba`, and the bm25l / bm25+ scorings, use bm25s' retrieval with that backend.
    """

    def __init__(self, index_dir: str | Path):
        index_dir = Path(index_dir)
        stats = json.loads((index_dir / PARAMS_FILE).read_text())
        self.params = BM25Params.from_config(stats["params"])
        self.retriever = bm25s.BM25.load(str(index_dir), mmap=True, show_progress=False)
        self.retriever.backend = resolve_backend(
            self.params.backend, self.retriever.scores["num_docs"]
        )
        self.on_postings = self.params.backend == "auto" and self.params.method in POSTINGS_METHODS
        self.tokenizer = self.params.tokenizer()
        self.tokenizer.load_vocab(str(index_dir))
        self.doc_ids = pq.read_table(index_dir / DOC_IDS_FILE).column("doc_id").combine_chunks()
        self.tie_key = descending_id_order(self.doc_ids)

    def search(
        self, texts: list[str], depth: int, threads: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """(queries x depth) corpus row indices and scores in trec_eval order; -1 pads a query
        matching fewer documents (a zero score: no query term occurs, Lucene returns none)."""
        depth = min(depth, len(self.doc_ids))
        token_ids = self.tokenizer.tokenize(
            texts, update_vocab=False, return_as="ids", show_progress=False
        )
        if self.on_postings:
            return self._search_postings(token_ids, depth, threads)
        documents, scores = self.retriever.retrieve(
            token_ids, k=depth, n_threads=threads, show_progress=False
        )
        documents = np.asarray(documents, dtype=np.int64)
        documents[np.asarray(scores) <= 0] = -1
        return in_run_order(documents, scores, self.tie_key)

    def _search_postings(self, token_ids, depth: int, threads: int):
        """Every query token once per occurrence, weight 1, summed in float32 as bm25s does:
        the same scores to the bit."""
        query_ptr = np.zeros(len(token_ids) + 1, dtype=np.int64)
        np.cumsum([len(ids) for ids in token_ids], out=query_ptr[1:])
        terms = np.fromiter((t for ids in token_ids for t in ids), np.int64, query_ptr[-1])
        postings = self.retriever.scores
        return top_k(
            query_ptr, terms, np.ones(len(terms), dtype=np.float32), postings["indptr"],
            postings["indices"], postings["data"], self.tie_key, depth, threads,
        )  # fmt: skip


NUMBA_FROM_DOCUMENTS = 200_000


def resolve_backend(backend: str, documents: int) -> str:
    """`auto`: numba's compiled scoring pays for its few seconds of JIT compilation only on
    large corpora; numpy is faster below NUMBA_FROM_DOCUMENTS documents."""
    if backend != "auto":
        return backend
    try:
        import numba  # noqa: F401
    except ImportError:
        return "numpy"
    return "numba" if documents >= NUMBA_FROM_DOCUMENTS else "numpy"


def retrieve_run(
    index: BM25Index,
    queries: pd.DataFrame,
    run_path: str | Path,
    depth: int,
    threads: int = 1,
    batch_size: int = 4096,
) -> None:
    """Top-`depth` BM25 run for `queries`, streamed to Parquet in trec_eval order."""
    with (
        RunWriter(run_path, index.doc_ids, index.tie_key) as run,
        tqdm(total=len(queries), desc="BM25 retrieve", unit="query") as bar,
    ):
        for start in range(0, len(queries), batch_size):
            batch = queries.iloc[start : start + batch_size]
            documents, scores = index.search(batch["text"].tolist(), depth, threads)
            run.add_ranked(batch["query_id"].tolist(), documents, scores)
            bar.update(len(batch))
