"""Where every artefact lives under results/<dataset>/: the one place that builds their paths.

The rules, the plan and the tables all ask a `Layout`; a rule passes Snakemake wildcards as
names (`layout.run("{method}", "{split}")`) and gets the path pattern. A zero-shot transfer's
layout (irrepro.transfer) keeps its artefacts in its own folder and reads another's data stage.
"""

from __future__ import annotations

from pathlib import Path


class Layout:
    def __init__(self, root: str | Path, data_root: str | Path | None = None):
        self.root = str(root)
        self.data_root = str(root if data_root is None else data_root)

    def _path(self, *parts: str) -> str:
        return str(Path(self.root, *parts))

    def _data(self, *parts: str) -> str:
        return str(Path(self.data_root, "data", *parts))

    # data
    def corpus(self) -> str:
        return self._data("corpus.parquet")

    def queries(self, split: str) -> str:
        return self._data("queries", f"{split}.parquet")

    def qrels(self, split: str) -> str:
        return self._data("qrels", f"{split}.parquet")

    def manifest(self) -> str:
        return self._data("manifest.json")

    def train_data(self) -> dict[str, str]:
        """What every training job reads: the corpus and the judged train queries."""
        return {
            "corpus": self.corpus(),
            "queries": self.queries("train"),
            "qrels": self.qrels("train"),
        }

    # runs and what they feed
    def run(self, method: str, split: str, ext: str = "parquet") -> str:
        return self._path("runs", method, f"{split}.{ext}")

    def efficiency(self, method: str, split: str) -> str:
        """A sparse run's FLOPS per query-document pair, non-zeros and latency."""
        return self._path("runs", method, f"{split}.efficiency.json")

    def negatives(self, source: str) -> str:
        return self._path("negatives", f"{source}.parquet")

    def teacher_scores(self, source: str) -> str:
        return self._path("teacher", f"cross-encoder-{source}.parquet")

    # models and indexes
    def model(self, method: str) -> str:
        return self._path("models", method)

    def checkpoints(self, method: str) -> str:
        return self._path("checkpoints", method)

    def embeddings(self, method: str) -> str:
        return self._path("embeddings", method)

    def embeddings_work(self, method: str) -> str:
        return self._path("work", "embeddings", method)

    def index(self, method: str, kind: str, ext: str = "faiss") -> str:
        return self._path("index", method, f"{kind}.{ext}")

    def index_stats(self, method: str, kind: str) -> str:
        return self.index(method, kind, "json")

    def token_vectors(self, model: str) -> str:
        """A ColBERT model's passage token vectors (end-to-end retrieval)."""
        return self._path("token_vectors", model)

    def token_vectors_work(self, model: str) -> str:
        return self._path("work", "token_vectors", model)

    def token_index(self, model: str, kind: str, ext: str = "faiss") -> str:
        return self._path("index", model, f"tokens-{kind}.{ext}")

    def retrieval_timing(self, method: str, split: str) -> str:
        """Where an end-to-end ColBERT run's time went (candidates, MaxSim) and candidates."""
        return self._path("runs", method, f"{split}.timing.json")

    def sparse_index(self, method: str) -> str:
        return self._path("index", method)

    # fusion
    def alpha(self, dense: str, sparse: str) -> str:
        return self._path("fusion", f"{dense}-{sparse}", "alpha.json")

    def latency(self, hybrid: str) -> str:
        return self._path("latency", f"{hybrid}.json")

    # evaluation and tables
    def metrics(self, method: str, split: str, ext: str = "json") -> str:
        return self._path("metrics", method, f"{split}.{ext}")

    def table(self, name: str, ext: str) -> str:
        return self._path("tables", f"{name}.{ext}")

    def plot(self, name: str) -> str:
        """A figure of the HTML report (`snakemake --report`)."""
        return self._path("plots", f"{name}.svg")

    # bookkeeping of every rule
    def logs_dir(self) -> str:
        return self._path("logs")

    def log(self, rule: str, *wildcards: str) -> str:
        return self._job_file("logs", rule, wildcards, "log")

    def benchmark(self, rule: str, *wildcards: str) -> str:
        return self._job_file("benchmarks", rule, wildcards, "tsv")

    def _job_file(self, kind: str, rule: str, wildcards: tuple[str, ...], ext: str) -> str:
        if not wildcards:
            return self._path(kind, f"{rule}.{ext}")
        *folders, last = wildcards
        return self._path(kind, rule, *folders, f"{last}.{ext}")
