"""What a config asks for, resolved once for the Snakefile: dataset, splits, methods, targets.

Everything here runs at DAG-construction time, so it reads folder listings and the config only,
never the data.
"""

from __future__ import annotations

import logging
from pathlib import Path

from . import datasets, methods, tables
from .errors import ConfigError
from .metrics import parse_metric

log = logging.getLogger(__name__)

SUMMARY = "summary"
TUNE_SPLIT = "tune"  # sampled train queries for tuning fusion weights, made by fusion.smk


class Plan:
    def __init__(self, config: dict):
        self.config = config
        self.dataset = config["dataset"]
        if self.dataset not in config.get("datasets", {}):
            raise ConfigError(
                f"dataset {self.dataset!r} is not defined under `datasets:` "
                f"(defined: {', '.join(config.get('datasets', {})) or 'none'})"
            )
        self.spec = config["datasets"][self.dataset]
        self.root = str(Path(config["results"]) / self.dataset)
        self.splits = datasets.split_names(self.spec)
        skip = set(config["evaluation"]["skip_splits"])
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
        self.hybrids = [m for m in self.methods if methods.hybrid_parts(m)]
        if self.hybrids and "train" not in self.splits:
            raise ConfigError(
                f"hybrids {self.hybrids} tune their weight on train queries; {self.dataset} "
                "has no train split"
            )
        pending = [m for m in self.methods if not methods.get(m).implemented]
        if pending:
            log.warning("methods whose stage is not implemented yet (dry run only): %s", pending)
        self.tables = list(config["tables"])
        for name in self.tables:
            if name != SUMMARY:
                tables.get_table(name)
        self.roles = self._roles()
        self.metrics = self._metrics()

    def _roles(self) -> dict[str, str | None]:
        """Which split plays `dev` and `test` in the paper tables (MS MARCO dev, TREC DL19)."""
        explicit = self.spec.get("table_splits") or {}
        for role, split in explicit.items():
            if split is not None and split not in self.splits:
                raise ConfigError(
                    f"table_splits.{role}: {split!r} is not a split of {self.dataset}"
                )
        defaults = {
            "dev": "dev" if "dev" in self.splits else None,
            "test": next((s for s in ("dl19", "test") if s in self.splits), None),
        }
        return {role: explicit.get(role, default) for role, default in defaults.items()}

    def _metrics(self) -> list[str]:
        wanted = list(self.config["evaluation"]["metrics"])
        for name in self.tables:
            if name != SUMMARY:
                wanted += sorted(tables.get_table(name).metrics())
        unique = list(dict.fromkeys(wanted))
        for name in unique:
            parse_metric(name)
        return unique

    def source_files(self) -> list[str]:
        return datasets.source_files(self.spec)

    def relevance_level(self, split: str) -> int:
        return datasets.relevance_level(self.spec, split)

    def path(self, *parts: str) -> str:
        return str(Path(self.root, *parts))

    def metric_file(self, method: str, split: str) -> str:
        return self.path("metrics", method, f"{split}.json")

    def latency_split(self) -> str:
        """Queries the latency of a hybrid is measured on: the dev role's, else any eval split."""
        split = self.roles.get("dev") or next(iter(self.eval_splits), None)
        if split is None:
            raise ConfigError("measuring latency needs a dev or test split")
        return split

    def table_inputs(self, table: str) -> dict[str, list[str]]:
        """What a table reads, limited to the methods this config runs: metric summaries on
        the mapped splits, trained model folders (training cost), index stats (size),
        hybrids' latency measurements."""
        if table == SUMMARY:
            metrics = [self.metric_file(m, s) for m in self.methods for s in self.eval_splits]
            return {"metrics": metrics, "models": [], "indexes": [], "latency": []}
        spec = tables.get_table(table)
        run = set(self.methods)
        splits = {self.roles[role] for role in spec.roles() if self.roles.get(role)}
        indexes = {
            self.path("index", base, f"{kind}.json")
            for base, kind in map(methods.dense_index_of, spec.methods("index") & run)
        }
        return {
            "metrics": sorted(
                self.metric_file(m, s) for m in spec.methods("metrics") & run for s in splits
            ),
            "models": sorted(self.path("models", m) for m in spec.methods("training") & run),
            "indexes": sorted(indexes),
            "latency": sorted(
                self.path("latency", f"{m}.json") for m in spec.methods("latency") & run
            ),
        }

    def table_files(self) -> list[str]:
        return [
            self.path("tables", f"{name}.{ext}") for name in self.tables for ext in ("md", "csv")
        ]

    def targets(self) -> list[str]:
        """Everything `snakemake` (rule all) builds for this config."""
        files = self.table_files()
        files += [self.metric_file(m, s) for m in self.methods for s in self.eval_splits]
        if "bm25" in self.methods and "train" in self.splits:  # for the training stages
            files.append(self.path("negatives", "bm25.parquet"))
        return files
