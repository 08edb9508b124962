"""What a config asks for, resolved once for the Snakefile: dataset, splits, methods, targets.

Everything here runs at DAG-construction time, so it reads folder listings and the config only,
never the data.
"""

from __future__ import annotations

import logging

from . import methods, tables, zero_shot
from .dataset_plan import DatasetPlan
from .errors import ConfigError
from .lookup import query_inputs
from .metrics import parse_metric
from .speed import without_speed
from .transfer import Transfer
from .zero_shot import ZERO_SHOT

log = logging.getLogger(__name__)

SUMMARY = "summary"
TUNE_SPLIT = "tune"  # sampled train queries for tuning fusion weights, made by fusion.smk


class Plan:
    def __init__(self, config: dict):
        self.config = config
        self.data = DatasetPlan(config, config["dataset"])
        self.dataset, self.spec, self.root = self.data.name, self.data.spec, self.data.root
        self.layout, self.splits, self.roles = self.data.layout, self.data.splits, self.data.roles
        skip = config["evaluation"]["skip_splits"]
        self.data.check_split_keys("evaluation.skip_splits", skip or [])
        skip = {"train"} if skip is None else set(skip)
        self.eval_splits = [split for split in self.splits if split not in skip]
        self.methods = [methods.get(name).name for name in config["methods"]]
        if len(set(self.methods)) != len(self.methods):
            raise ConfigError("`methods` lists a method twice")
        self.tune_split = TUNE_SPLIT
        if TUNE_SPLIT in self.splits:
            raise ConfigError(
                f"{self.dataset} has a split named {TUNE_SPLIT!r}, the name this pipeline gives "
                "the train queries it samples to tune fusion weights; rename that split"
            )
        self.run_splits = [*self.splits, TUNE_SPLIT]  # every split a run is made for
        self.hybrids = [m for m in self.methods if methods.hybrid_parts(m)]
        if self.hybrids and "train" not in self.splits:
            raise ConfigError(
                f"hybrids {self.hybrids} tune their weight on train queries; {self.dataset} "
                "has no train split"
            )
        pending = [m for m in self.methods if not methods.get(m).implemented]
        if pending:
            log.warning("methods whose stage is not implemented yet (dry run only): %s", pending)
        self.transfer = Transfer(config, self.data, self.methods)
        self.tables = list(config["tables"])
        if self.transfer.targets and ZERO_SHOT not in self.tables:
            self.tables.append(ZERO_SHOT)
        for name in self.tables:
            if name == ZERO_SHOT and not self.transfer.targets:
                raise ConfigError(f"table {ZERO_SHOT!r} needs `transfer.targets`")
            if name not in (SUMMARY, ZERO_SHOT):
                tables.get_table(name)
        self.metrics = self._metrics()

    def _metrics(self) -> list[str]:
        wanted = list(self.config["evaluation"]["metrics"])
        for name in self.paper_tables():
            wanted += sorted(tables.get_table(name).metrics())
        if self.transfer.targets:
            wanted.append(zero_shot.METRIC)
        unique = list(dict.fromkeys(wanted))
        for name in unique:
            parse_metric(name)
        return unique

    def paper_tables(self) -> list[str]:
        """The configured tables of published.yaml (not the summary, not the zero-shot one)."""
        return [name for name in self.tables if name not in (SUMMARY, ZERO_SHOT)]

    def log_dirs(self) -> list[str]:
        """Where jobs write logs: this dataset's folder, its targets' and the transfers'."""
        return [self.layout.logs_dir(), *self.transfer.log_dirs()]

    def bm25_index_settings(self) -> dict:
        """Scoring and tokenisation: the `bm25` section but the query batch size."""
        return without_speed(self.config["bm25"], "bm25")

    def relevance_level(self, split: str) -> int:
        return self.data.relevance_level(split)

    def run_depth(self, split: str) -> int:
        """Train runs only feed negative mining, so they stop at train_depth."""
        return self.config["retrieval"]["train_depth" if split == "train" else "depth"]

    def bm25_splits(self, threaded: bool) -> list[str]:
        """BM25's run splits: with `threaded`, train (it feeds negative mining, the largest
        query set); without, the others (bm25_retrieve_train and bm25_retrieve)."""
        return [s for s in self.run_splits if (s == "train") == threaded]

    def single_run_splits(self) -> list[str]:
        """Splits a retrieval job serves alone (train for mining, tune for fusion weights); the
        evaluated ones share one job per model, which loads the model and index once."""
        return [s for s in self.run_splits if s not in self.eval_splits]

    # -- training and models -------------------------------------------------------------------

    def training(self, method: str) -> dict:
        """The config fields training `method` reads: its training rule's params, less how
        often it checkpoints (that changes nothing it writes, so it reruns nothing: the job
        reads it from the config, methods.with_checkpointing)."""
        record = methods.get(method)
        settings = record.family.settings(self.config, record)
        if "training" in settings:  # the config's precision unless the section sets its own
            precision = {"precision": self.config["precision"]}
            training = {**precision, **settings["training"]}
            settings["training"] = methods.without_checkpointing(training)
        return settings

    def train_inputs(self, method: str) -> dict[str, str]:
        """Every file training `method` reads: the train data, what its family adds, and the
        queries whose vectors it stores if no encoding job of its own does (ADORE's)."""
        record = methods.get(method)
        inputs = {**self.layout.train_data(), **record.family.train_inputs(record, self.layout)}
        if methods.encodes_queries_when_trained(method):
            inputs.update(query_inputs(self.encoded_queries()))
        return inputs

    def encoder_lengths(self, method: str) -> dict[str, int]:
        """query_length and passage_length of the encoder a dense method's texts go through."""
        record = methods.get(method)
        return record.family.encoder(self.config, record)

    def sparse_settings(self, method: str) -> dict:
        """A SPLADE model's input lengths, for indexing and retrieval (batch sizes: speed.py)."""
        encoder = self.config[methods.get(method).family.section]["encoder"]
        return {k: encoder[k] for k in ("query_length", "passage_length")}

    def ensemble_negatives(self) -> list[str]:
        """The negatives files pooled into EnsembleDistil's (`splade.ensemble`)."""
        return [self.layout.negatives(source) for source in self.config["splade"]["ensemble"]]

    def reusable_teacher_scores(self, source: str) -> list[str]:
        """The teacher scores of BM25's negatives, for scoring another source's to reuse, when
        a configured method trains on them anyway: every pool shares pairs with BM25's
        (EnsembleDistil's contains them), and theirs need no model of ours, so waiting for
        them delays no other source's."""
        scored = {m.negatives for m in map(methods.get, self.methods) if m.teacher_scores}
        if source == methods.BM25_RUN or methods.BM25_RUN not in scored:
            return []
        return [self.layout.teacher_scores(methods.BM25_RUN)]

    def mined_sources(self) -> list[str]:
        """Runs whose train top-k become negatives: the registry's and the ensemble's members."""
        registry = [s for s in methods.negative_sources() if s != methods.ENSEMBLE]
        return sorted({*registry, *self.config["splade"]["ensemble"]})

    def dense_search_files(self, method: str) -> dict[str, str]:
        """The index and embeddings of the model whose documents `method` searches, and its
        model folder where its training job stored its query vectors (ADORE's)."""
        return methods.dense_search_files(method, self.layout, self.layout)

    def encoded_queries(self) -> dict[str, str]:
        """{split: queries file} that an encoding job encodes: the dataset's own splits (the
        tune queries are train queries, so a retrieval of them reads train's vectors). Fixed by
        the dataset, so that no config change re-encodes a corpus."""
        return {split: self.layout.queries(split) for split in self.splits}

    def query_vectors_split(self, split: str) -> str:
        """The split whose stored query vectors hold `split`'s."""
        return "train" if split == self.tune_split else split

    def rerank_inputs(self, method: str) -> dict[str, str]:
        """The model reranking a run; for a bi-encoder its stored passage and query vectors."""
        return methods.RERANK.inputs(methods.get(method), self.layout)

    def rerank_settings(self, method: str) -> dict:
        return methods.RERANK.settings(self.config, methods.get(method))

    def colbert_search_settings(self) -> dict:
        """What end-to-end ColBERT's results depend on: query length, k' and nprobe."""
        section = self.config["tct"]
        search = section["end_to_end"]
        return {
            "query_length": section["encoder"]["query_length"],
            "k_per_token": search["k_per_token"],
            "nprobe": search["nprobe"],
        }

    def latency_inputs(self, dense: str, sparse: str) -> dict[str, str]:
        """What a hybrid's online path touches: query encoder, index, the dev split's sparse run."""
        split = self.latency_split()
        return {
            **self.dense_search_files(dense),
            "model": self.layout.model(dense),  # the online path encodes each query
            "queries": self.layout.queries(split),
            "sparse": self.layout.run(sparse, split),
            "alpha": self.layout.alpha(dense, sparse),
        }

    # -- tables ----------------------------------------------------------------------------

    def metric_file(self, method: str, split: str) -> str:
        return self.layout.metrics(method, split)

    def latency_split(self) -> str:
        """Queries the latency of a hybrid is measured on: the dev role's, else any eval split."""
        split = self.roles.get("dev") or next(iter(self.eval_splits), None)
        if split is None:
            raise ConfigError("measuring latency needs a dev or test split")
        return split

    def table_sources(self, table: str) -> dict[str, dict]:
        """What a table reads, limited to the methods this config runs: metric summaries on
        the mapped splits (each names its method and split), and keyed by what they are of,
        trained models' folders (training cost), index stats (size: by "model/kind"), hybrids'
        latency measurements; the zero-shot table, each target's metrics by method."""
        if table == ZERO_SHOT:
            return {"transfers": self.transfer.metric_files()}
        if table == SUMMARY:
            metrics = [self.metric_file(m, s) for m in self.methods for s in self.eval_splits]
            return {
                "metrics": metrics,
                "models": {},
                "indexes": {},
                "latency": {},
                "efficiency": self._efficiency_files(set(self.methods)),
                "manifest": [self.layout.manifest()],
            }
        spec = tables.get_table(table)
        run = set(self.methods)
        splits = sorted({self.roles[role] for role in spec.roles() if self.roles.get(role)})
        indexes = {
            f"{base}/{kind}": self.layout.index_stats(base, kind)
            for base, kind in map(methods.dense_index_of, spec.methods("index") & run)
        }
        return {
            "metrics": sorted(
                self.metric_file(m, s) for m in spec.methods("metrics") & run for s in splits
            ),
            "models": {m: self.layout.model(m) for m in sorted(spec.methods("training") & run)},
            "indexes": dict(sorted(indexes.items())),
            "latency": {m: self.layout.latency(m) for m in sorted(spec.methods("latency") & run)},
            "efficiency": self._efficiency_files(spec.methods("efficiency") & run),
        }

    def _efficiency_files(self, wanted: set[str]) -> dict[str, str]:
        split = self.roles.get("dev")
        if split is None:
            return {}
        return {
            m: self.layout.efficiency(m, split) for m in sorted(wanted) if methods.sparse_neural(m)
        }

    def table_inputs(self, table: str) -> dict[str, list[str]]:
        """The files of table_sources, as the table rule's named input lists."""
        return {kind: _files(found) for kind, found in self.table_sources(table).items()}

    def table_files(self) -> list[str]:
        return [self.layout.table(name, ext) for name in self.tables for ext in ("md", "csv")]

    # -- the report's figures -------------------------------------------------------------

    def trained_models(self) -> dict[str, str]:
        """The folders of the models this config trains (or saves, for released rows)."""
        return {m: self.layout.model(m) for m in self.methods if methods.get(m).family.recipe}

    def charted_tables(self) -> list[str]:
        """Tables with published numbers to chart ours against (all but the summary)."""
        return [name for name in self.tables if name != SUMMARY]

    def per_query_sources(self, table: str) -> tuple[dict[str, str], str, str] | None:
        """Per-query metric files of a table's methods on its first metric column's split,
        with that metric and split; None if the table has no such column or method. The
        zero-shot table's: its first target's."""
        if table == ZERO_SHOT:
            return self.transfer.per_query_sources()
        spec = tables.get_table(table)
        for column in spec.columns:
            split = self.roles.get(column.role) if column.source == "metrics" else None
            if split is None:
                continue
            rows = [spec.cell_methods(row, column) for row in spec.rows]
            names = [m[0] for m in rows if len(m) == 1 and m[0] in self.methods]
            if names:
                files = {m: self.layout.metrics(m, split, "parquet") for m in names}
                return files, column.metric, split
        return None

    def plot_files(self) -> list[str]:
        files = [self.layout.plot("training")] if self.trained_models() else []
        for table in self.charted_tables():
            files.append(self.layout.plot(f"table-{table}"))
            if self.per_query_sources(table) is not None:
                files.append(self.layout.plot(f"per-query-{table}"))
        return files

    def targets(self) -> list[str]:
        """Everything `snakemake` (rule all) builds for this config."""
        files = self.table_files() + self.plot_files()
        files += [self.metric_file(m, s) for m in self.methods for s in self.eval_splits]
        if "bm25" in self.methods and "train" in self.splits:  # for the training stages
            files.append(self.layout.negatives("bm25"))
        return files


def _files(found: str | list | dict) -> list[str]:
    """The paths in a path, a list or a (nested) dict of them."""
    if isinstance(found, str):
        return [found]
    values = found.values() if isinstance(found, dict) else found
    return [path for value in values for path in _files(value)]
