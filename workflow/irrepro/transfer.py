"""Zero-shot transfer (the SPLADE papers' BEIR column): the models trained on the config's
dataset evaluated, untrained, on other datasets (`transfer.targets`).

A transfer's artefacts live under results/<target>/transfer/<source>/ in a dataset's usual
layout (index/, embeddings/, runs/, metrics/, logs/) and read the target's own data stage
(results/<target>/data/, as a run on the target alone would write it); the models stay in the
source's folder, so nothing of the source is rebuilt. BM25 is indexed on the target as the
reference row.
"""

from __future__ import annotations

import logging
from pathlib import Path

from . import methods
from .dataset_plan import DatasetPlan
from .errors import ConfigError
from .layout import Layout
from .zero_shot import METRIC

# runs a model makes by itself from a corpus and queries (not reranking, fusion or ColBERT's
# token index)
TRANSFERABLE_RUNS = (methods.BM25_RUN, methods.DENSE_RUN, methods.SPLADE_RUN)
PATTERN = "{target}"

log = logging.getLogger(__name__)


class Transfer:
    def __init__(self, config: dict, source: DatasetPlan, run_methods: list[str]):
        section = config["transfer"]
        self.source = source.name
        self.source_layout = source.layout
        self.results = config["results"]
        self.targets: dict[str, DatasetPlan] = {}
        for name in section["targets"]:
            if name == source.name or name in self.targets or Path(name).name != name:
                raise ConfigError(
                    f"transfer.targets: {name!r} must be another dataset than {source.name!r}, "
                    "named once, and a single folder name"
                )
            self.targets[name] = DatasetPlan(config, name, key="transfer.targets")
        self.splits = {name: self._split(data) for name, data in self.targets.items()}
        self.methods = self._methods(section["methods"], run_methods) if self.targets else []
        self.bm25 = section["bm25"]
        self.pattern = self.layout(PATTERN)

    @staticmethod
    def _split(target: DatasetPlan) -> str:
        """The split a target is scored on: its `test` role (BEIR's test), else its `dev`."""
        split = target.roles["test"] or target.roles["dev"]
        if split is None:
            raise ConfigError(
                f"transfer target {target.name!r} has no test or dev split to score (splits: "
                f"{', '.join(target.splits)}); map one with table_splits.test"
            )
        return split

    @staticmethod
    def _methods(wanted: list[str] | None, run_methods: list[str]) -> list[str]:
        """`transfer.methods` that this config runs (a row it does not run is said and left
        out, as a config layered on the demo's would otherwise fail), or every configured
        method whose runs transfer."""
        if wanted is None:
            return [m for m in run_methods if methods.get(m).run in TRANSFERABLE_RUNS]
        for name in wanted:
            if methods.get(name).run not in TRANSFERABLE_RUNS:
                raise ConfigError(
                    f"transfer.methods: {name!r} does not transfer (only BM25, dense and SPLADE "
                    "runs do: a reranker, a hybrid or end-to-end ColBERT need more than a model)"
                )
        skipped = [name for name in wanted if name not in run_methods]
        if skipped:
            log.warning("transfer.methods not in `methods`, not transferred: %s", skipped)
        return [name for name in dict.fromkeys(wanted) if name in run_methods]

    def layout(self, target: str) -> Layout:
        root = Path(self.results, target)
        return Layout(root / "transfer" / self.source, data_root=root)

    def bm25_index_settings(self, source: dict) -> dict:
        """The source's BM25 settings with the targets' scoring: MS MARCO's tuned k1 and b are
        MS MARCO's; Pyserini's BEIR runs, the published reference, use Anserini's defaults."""
        return {**source, **self.bm25}

    def of_run(self, run: str) -> list[str]:
        return [m for m in self.methods if methods.get(m).run == run]

    def document_models(self) -> list[str]:
        """Bi-encoders whose document vectors the transferred dense methods search."""
        return sorted({methods.dense_index_of(m)[0] for m in self.of_run(methods.DENSE_RUN)})

    def index_kinds(self) -> list[str]:
        """The kinds of dense index they search (flat; an ADORE PQ row's PQ)."""
        return sorted({methods.dense_index_of(m)[1] for m in self.of_run(methods.DENSE_RUN)})

    def wildcards(self, **method_names) -> dict[str, str]:
        """Constraints of a transfer rule: the targets, every target's scored split, and
        `name=methods` for each wildcard of the rule that names methods."""
        return {
            "target": methods.one_of(self.targets),
            "split": methods.one_of(sorted(set(self.splits.values()))),
            **{key: methods.one_of(names) for key, names in method_names.items()},
        }

    def dense_search_files(self, method: str, target: str) -> dict[str, str]:
        """The target's index and vectors of the base model, and the source's query encoder
        where the target's encoding job did not encode the queries (ADORE's)."""
        return methods.dense_search_files(
            method, self.source_layout, self.layout(target), own_queries=False
        )

    def encoded_queries(self, target: str) -> dict[str, str]:
        """{split: queries file} that the encoding job of `target`'s corpus encodes: the split
        it is scored on."""
        split = self.splits[target]
        return {split: self.layout(target).queries(split)}

    def relevance_level(self, target: str, split: str) -> int:
        return self.targets[target].relevance_level(split)

    def metric_files(self, ext: str = "json") -> dict[str, dict[str, str]]:
        """Each target's metrics of each transferred method, on its scored split."""
        return {
            target: {m: self.layout(target).metrics(m, split, ext) for m in self.methods}
            for target, split in self.splits.items()
        }

    def per_query_sources(self) -> tuple[dict[str, str], str, str] | None:
        """The first target's per-query metric files, the table's metric and the split."""
        if not self.targets or not self.methods:
            return None
        target, split = next(iter(self.splits.items()))
        return self.metric_files("parquet")[target], METRIC, f"{split} of {target}"

    def describe(self) -> dict:
        """What the zero-shot table says of each target and which rows it has."""
        return {
            "source": self.source,
            "methods": self.methods,
            "targets": {
                name: {"split": self.splits[name], "collection": beir_collection(data.spec)}
                for name, data in self.targets.items()
            },
        }

    def log_dirs(self) -> list[str]:
        return [
            path
            for target, data in self.targets.items()
            for path in (data.layout.logs_dir(), self.layout(target).logs_dir())
        ]


def beir_collection(spec: dict) -> str | None:
    """The BEIR collection a dataset entry is (its published numbers' key), if it is one."""
    if spec.get("source") == "beir" and spec.get("name"):
        return str(spec["name"]).split("/")[0]
    return None
