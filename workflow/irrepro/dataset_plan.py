"""One dataset of the config, resolved at DAG time: its splits, the files its data stage reads,
which split plays which paper-table role, and the folder its artefacts live in.

The plan holds one for the dataset the models are trained on and one per zero-shot transfer
target; data.smk writes each one's data-stage rule from it.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import datasets
from .datasets.fingerprint import fingerprints
from .errors import ConfigError
from .layout import Layout


class DatasetPlan:
    def __init__(self, config: dict, name: str, key: str = "dataset"):
        defined = config.get("datasets", {})
        if name not in defined:
            raise ConfigError(
                f"{key}: {name!r} is not defined under `datasets:` "
                f"(defined: {', '.join(defined) or 'none'})"
            )
        self.name = name
        self.spec = defined[name]
        self.root = str(Path(config["results"]) / name)
        self.layout = Layout(self.root)
        self.splits = datasets.split_names(self.spec)
        self.check_split_keys("relevance_level", self.spec.get("relevance_level") or {})
        self.roles = self._roles()

    def check_split_keys(self, key: str, splits) -> None:
        """Settings keyed by split must name a split (a typo would silently fall back)."""
        unknown = sorted(set(splits) - set(self.splits))
        if unknown:
            where = f"datasets.{self.name}.{key}" if key == "relevance_level" else key
            raise ConfigError(
                f"{where}: {', '.join(map(repr, unknown))} is not a split of {self.name} "
                f"(splits: {', '.join(self.splits)})"
            )

    def _roles(self) -> dict[str, str | None]:
        """Which split plays `dev` and `test` in the paper tables (MS MARCO dev, TREC DL19)."""
        explicit = self.spec.get("table_splits") or {}
        for role, split in explicit.items():
            if split is not None and split not in self.splits:
                raise ConfigError(f"table_splits.{role}: {split!r} is not a split of {self.name}")
        defaults = {
            "dev": "dev" if "dev" in self.splits else None,
            "test": next((s for s in ("dl19", "test") if s in self.splits), None),
        }
        return {role: explicit.get(role, default) for role, default in defaults.items()}

    def data_rule(self) -> str:
        """The name of the rule preparing a transfer target (the trained-on dataset's rule is
        prepare_dataset)."""
        return "prepare_dataset_" + re.sub(r"\W", "_", self.name)

    def source_files(self) -> list[str]:
        return datasets.source_files(self.spec)

    def source_fingerprints(self) -> dict[str, str]:
        """SHA-256 of each source file: a replaced file reruns the data stage whatever its mtime."""
        return fingerprints(self.source_files())

    def settings(self) -> dict:
        """What the data stage reads of the dataset's entry (not which split plays which role
        in the tables, so remapping `table_splits` reruns only the tables)."""
        return {key: value for key, value in self.spec.items() if key != "table_splits"}

    def relevance_level(self, split: str) -> int:
        return datasets.relevance_level(self.spec, split)
