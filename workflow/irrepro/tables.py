"""Results tables: our numbers beside the published ones (published.yaml), Markdown and CSV.

A cell is one of: our value; "not run" (the method is not in this config's `methods`, or its
metrics are missing); "not in pipeline" (a system this pipeline does not build, e.g. ANCE);
"–" (the dataset has no split for that role, e.g. no dev set).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from . import methods as method_registry
from .errors import ConfigError

NOT_RUN = "not run"
NOT_IN_PIPELINE = "not in pipeline"
NO_SPLIT = "–"


@dataclass(frozen=True)
class Column:
    role: str
    metric: str
    label: str
    method_suffix: str = ""


@dataclass(frozen=True)
class Row:
    method: str | None
    label: str
    published: tuple[float | None, ...]


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    paper: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]

    def cell_method(self, row: Row, column: Column) -> str | None:
        return None if row.method is None else row.method + column.method_suffix

    def methods(self) -> set[str]:
        return {
            self.cell_method(row, column)
            for row in self.rows
            for column in self.columns
            if row.method is not None
        }

    def metrics(self) -> set[str]:
        return {column.metric for column in self.columns}


@cache
def published_tables() -> dict[str, TableSpec]:
    raw = yaml.safe_load(Path(__file__).with_name("published.yaml").read_text())
    tables = {}
    for name, spec in raw.items():
        columns = tuple(
            Column(
                c["role"],
                c["metric"],
                c.get("label", f"{c['role']} {c['metric']}"),
                c.get("method_suffix", ""),
            )
            for c in spec["columns"]
        )
        rows = tuple(Row(r["method"], r["label"], tuple(r["published"])) for r in spec["rows"])
        for row in rows:
            if len(row.published) != len(columns):
                raise ValueError(f"published.yaml {name}/{row.label}: one number per column")
            for column in columns:
                method = None if row.method is None else row.method + column.method_suffix
                if method is not None and method not in method_registry.METHODS:
                    raise ValueError(f"published.yaml {name}: unknown method {method!r}")
        tables[name] = TableSpec(name, spec["title"], spec["paper"], columns, rows)
    return tables


def get_table(name: str) -> TableSpec:
    tables = published_tables()
    if name not in tables:
        raise ConfigError(f"unknown table {name!r}; known: {', '.join(tables)}, summary")
    return tables[name]


def load_results(metric_files: list[str | Path]) -> dict[tuple[str, str], dict[str, float]]:
    """{(method, split): {metric: value}} from the evaluate rule's JSON summaries."""
    results = {}
    for path in metric_files:
        summary = json.loads(Path(path).read_text())
        results[(summary["method"], summary["split"])] = summary["metrics"]
    return results


def build(
    spec: TableSpec,
    results: dict[tuple[str, str], dict[str, float]],
    roles: dict[str, str | None],
) -> pd.DataFrame:
    """Long table: one row per (method row, column) with ours, published, delta and status."""
    records = []
    for row in spec.rows:
        for column, published in zip(spec.columns, row.published, strict=True):
            method = spec.cell_method(row, column)
            split = roles.get(column.role)
            ours, status = None, "ok"
            if method is None:
                status = NOT_IN_PIPELINE
            elif split is None:
                status = NO_SPLIT
            elif (method, split) not in results or column.metric not in results[(method, split)]:
                status = NOT_RUN
            else:
                ours = results[(method, split)][column.metric]
            delta = ours - published if ours is not None and published is not None else None
            records.append(
                {
                    "table": spec.name,
                    "row": row.label,
                    "method": method,
                    "column": column.label,
                    "split": split,
                    "metric": column.metric,
                    "ours": ours,
                    "published": published,
                    "delta": delta,
                    "status": status,
                }
            )
    return pd.DataFrame.from_records(records)


def _number(value: float | None, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def markdown(spec: TableSpec, long: pd.DataFrame, caption: str, footer: str) -> str:
    """Wide Markdown: per column, ours | paper | Δ."""
    header = ["Method"]
    for column in spec.columns:
        header += [f"{column.label} (ours)", "paper", "Δ"]
    lines = [
        f"# {spec.title}",
        "",
        f"*{spec.paper}*",
        "",
        caption,
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in spec.rows:
        cells = [row.label]
        part = long[long["row"] == row.label]
        for column in spec.columns:
            cell = part[part["column"] == column.label].iloc[0]
            ours = _number(cell.ours) if cell.status == "ok" else cell.status
            cells += [ours, _number(cell.published), _number(cell.delta, signed=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", footer, ""])


def summary(results: dict[tuple[str, str], dict[str, float]], metrics: list[str]) -> pd.DataFrame:
    """Every evaluated (method, split) with every metric: the table for any dataset."""
    rows = [
        {
            "method": method,
            "label": method_registry.label(method),
            "split": split,
            **{metric: values.get(metric) for metric in metrics},
        }
        for (method, split), values in sorted(results.items())
    ]
    return pd.DataFrame(rows, columns=["method", "label", "split", *metrics])


def summary_markdown(frame: pd.DataFrame, metrics: list[str], caption: str, footer: str) -> str:
    header = ["Method", "Split", *metrics]
    lines = [
        "# Summary of all evaluated runs",
        "",
        caption,
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for record in frame.to_dict("records"):
        values = [_number(record[metric]) for metric in metrics]
        lines.append("| " + " | ".join([record["label"], record["split"], *values]) + " |")
    return "\n".join(lines + ["", footer, ""])


def roles_caption(dataset: str, roles: dict[str, str | None]) -> str:
    mapped = ", ".join(
        f"{role} = `{split}`" if split else f"{role}: none" for role, split in roles.items()
    )
    note = (
        ""
        if dataset == "msmarco-passage"
        else (
            " The published numbers are on MS MARCO passage; on this dataset they are a reference "
            "point for the ordering of methods, not a target."
        )
    )
    return f"Dataset `{dataset}` ({mapped}).{note}"


def write(
    name: str,
    metric_files: list[str],
    roles: dict[str, str | None],
    metrics: list[str],
    dataset: str,
    provenance_record: dict,
    markdown_out: str,
    csv_out: str,
    provenance_out: str,
) -> pd.DataFrame:
    """Write one table (a paper table, or `summary`) as Markdown, CSV and provenance JSON."""
    from .provenance import markdown_footer

    results = load_results(metric_files)
    footer = markdown_footer(provenance_record)
    if name == "summary":
        frame = summary(results, metrics)
        text = summary_markdown(frame, metrics, f"Dataset `{dataset}`.", footer)
    else:
        spec = get_table(name)
        frame = build(spec, results, roles)
        text = markdown(spec, frame, roles_caption(dataset, roles), footer)
    Path(markdown_out).parent.mkdir(parents=True, exist_ok=True)
    Path(markdown_out).write_text(text)
    frame.to_csv(csv_out, index=False)
    Path(provenance_out).write_text(json.dumps(provenance_record, indent=2, default=str) + "\n")
    return frame
