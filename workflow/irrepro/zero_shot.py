"""The zero-shot table: each transferred model's nDCG@10 on every transfer target and the mean
over them, beside the published BEIR numbers (published_zero_shot.yaml, each with its source).

Its columns are the config's targets, so it is built from the plan's description of the
transfer (irrepro.transfer.Transfer.describe), not declared in published.yaml.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from . import methods as method_registry
from .tables import NOT_RUN, Column, Measurements, Row, TableSpec, cell_record

ZERO_SHOT = "zero_shot"
METRIC = "nDCG@10"
MEAN = "mean"


@cache
def published() -> dict:
    return yaml.safe_load(Path(__file__).with_name("published_zero_shot.yaml").read_text())


def spec(transfer: dict) -> TableSpec:
    """Rows: the transferred methods; columns: the targets, then their mean."""
    reference = published()
    targets = transfer["targets"]
    columns = [Column(name, "metrics", name, METRIC) for name in targets]
    columns.append(Column(MEAN, "metrics", None, METRIC))
    rows = tuple(
        Row((m,), method_registry.label(m), published_row(reference["rows"].get(m, {}), targets))
        for m in transfer["methods"]
    )
    return TableSpec(ZERO_SHOT, reference["title"], reference["paper"], tuple(columns), rows)


def published_row(entry: dict, targets: dict[str, dict]) -> tuple[float | None, ...]:
    """A row's published number per target (by BEIR name), and the mean: over the targets'
    numbers where there is one for each, else the paper's mean if the targets are exactly the
    collections it averaged."""
    per_collection = entry.get("collections", {})
    collections = [target["collection"] for target in targets.values()]
    values = [per_collection.get(name) for name in collections]
    if values and None not in values:
        mean = sum(values) / len(values)
    elif sorted(collections) == sorted(published()["mean_over"]):
        mean = entry.get("mean")
    else:
        mean = None
    return (*values, mean)


def build(table: TableSpec, found: Measurements, transfer: dict) -> pd.DataFrame:
    """The long table (as irrepro.tables.build): per row, each target's score and the mean,
    which needs every target's."""
    targets = transfer["targets"]
    records = []
    for row in table.rows:
        scores = [found.transfers.get((row.methods[0], t), {}).get(METRIC) for t in targets]
        mean = None if None in scores else sum(scores) / len(scores)
        for column, published_value, ours in zip(
            table.columns, row.published, [*scores, mean], strict=True
        ):
            split = targets[column.role]["split"] if column.role else None
            status = NOT_RUN if ours is None else "ok"
            records.append(
                cell_record(table, row, column, row.methods, split, ours, status, published_value)
            )
    return pd.DataFrame.from_records(records)


def caption(transfer: dict) -> str:
    scored = ", ".join(
        f"`{name}` (split `{target['split']}`"
        + (f", BEIR {target['collection']})" if target["collection"] else ")")
        for name, target in transfer["targets"].items()
    )
    return (
        f"Models trained on `{transfer['source']}`, evaluated without further training on "
        f"{scored}; {METRIC}. The mean is over these targets (none for a row missing one). "
        "A published number is on the BEIR collection of the target's name; the papers' means "
        "are shown only when the targets are the 13 collections they average."
    )
