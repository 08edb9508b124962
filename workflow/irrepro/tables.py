"""Results tables: our numbers beside the published ones (published.yaml), Markdown and CSV.

A cell is one of: our value; "not run" (the method is not in this config's `methods`, or its
metrics are missing); "not in pipeline" (a system this pipeline does not build, e.g. ANCE);
"–" (the dataset has no split for that role, e.g. no dev set).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from . import methods as method_registry
from .errors import ConfigError

NOT_RUN = "not run"
NOT_IN_PIPELINE = "not in pipeline"
NO_SPLIT = "–"
SOURCES = ("metrics", "index", "training", "latency", "efficiency")
NORMALIZATION_LABELS = {"none": "", "minmax": "min-max scores", "zscore": "z-scored scores"}


@dataclass(frozen=True)
class Column:
    """A metric on a split role (`dev`, `test`), or a fact of an artefact: `index` gb,
    `training` gpus / hours, `latency` milliseconds of a stage per query."""

    label: str
    source: str = "metrics"
    role: str | None = None
    metric: str | None = None
    method_suffix: str = ""


@dataclass(frozen=True)
class Row:
    methods: tuple[str, ...]  # none: not in pipeline; several: their training cost summed
    label: str
    published: tuple[float | None, ...]


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    paper: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]

    def cell_methods(self, row: Row, column: Column) -> tuple[str, ...]:
        return tuple(method + column.method_suffix for method in row.methods)

    def methods(self, source: str | None = None) -> set[str]:
        return {
            method
            for row in self.rows
            for column in self.columns
            if source is None or column.source == source
            for method in self.cell_methods(row, column)
        }

    def metrics(self) -> set[str]:
        return {c.metric for c in self.columns if c.source == "metrics"}

    def roles(self) -> set[str]:
        return {c.role for c in self.columns if c.source == "metrics"}


def _column(raw: dict) -> Column:
    source = raw.get("source", "metrics")
    if source not in SOURCES:
        raise ValueError(f"published.yaml: unknown column source {source!r}")
    default = f"{raw['role']} {raw['metric']}" if source == "metrics" else raw["metric"]
    return Column(
        raw.get("label", default),
        source,
        raw.get("role"),
        raw["metric"],
        raw.get("method_suffix", ""),
    )


def _row(raw: dict) -> Row:
    method = raw["method"]
    methods = () if method is None else tuple([method] if isinstance(method, str) else method)
    return Row(methods, raw["label"], tuple(raw["published"]))


@cache
def published_tables() -> dict[str, TableSpec]:
    raw = yaml.safe_load(Path(__file__).with_name("published.yaml").read_text())
    tables = {}
    for name, spec in raw.items():
        table = TableSpec(
            name,
            spec["title"],
            spec["paper"],
            tuple(_column(c) for c in spec["columns"]),
            tuple(_row(r) for r in spec["rows"]),
        )
        for row in table.rows:
            if len(row.published) != len(table.columns):
                raise ValueError(f"published.yaml {name}/{row.label}: one number per column")
        unknown = {m for m in table.methods() if not method_registry.known(m)}
        if unknown:
            raise ValueError(f"published.yaml {name}: unknown methods {sorted(unknown)}")
        tables[name] = table
    return tables


def with_normalization(label: str, normalization: str) -> str:
    """A hybrid's row label, saying how its runs' scores were normalised (none: as it is)."""
    note = NORMALIZATION_LABELS[normalization]
    return f"{label} ({note})" if note else label


def label_hybrids(spec: TableSpec, normalization: str) -> TableSpec:
    """The table with its hybrid rows labelled by the fusion's score normalisation."""
    rows = tuple(
        replace(row, label=with_normalization(row.label, normalization))
        if any(method_registry.hybrid_parts(m) for m in row.methods)
        else row
        for row in spec.rows
    )
    return replace(spec, rows=rows)


def get_table(name: str) -> TableSpec:
    tables = published_tables()
    if name not in tables:
        raise ConfigError(f"unknown table {name!r}; known: {', '.join(tables)}, summary")
    return tables[name]


def title(name: str) -> str:
    """A table's title: published.yaml's, or the zero-shot table's."""
    from . import zero_shot

    return zero_shot.published()["title"] if name == zero_shot.ZERO_SHOT else get_table(name).title


@dataclass
class Measurements:
    """Everything tables read: metric summaries, training costs, index sizes, latencies."""

    metrics: dict[tuple[str, str], dict[str, float]]
    training: dict[str, dict]
    indexes: dict[tuple[str, str], dict]
    latency: dict[str, dict] = field(default_factory=dict)
    efficiency: dict[str, dict] = field(default_factory=dict)
    # "method/split" -> its run's provenance.code_version() (None: written before it existed)
    run_writers: dict[str, dict | None] = field(default_factory=dict)
    # "data", "method/split", ... -> what that source counted (logs.Tally records)
    counted: dict[str, dict] = field(default_factory=dict)
    # (method, transfer target) -> metrics on the target's scored split (the zero-shot table)
    transfers: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)

    def nonzero_counts(self) -> dict[str, dict]:
        """What the sources counted (empty documents, queries that found nothing), where any."""
        found = {}
        for source, tallies in self.counted.items():
            kept = {what: t for what, t in tallies.items() if t["count"]}
            if kept:
                found[source] = kept
        return found

    def value(
        self, column: Column, methods: tuple[str, ...], roles: dict[str, str | None]
    ) -> tuple[float | None, str]:
        """(value, "ok") or (None, the reason a cell is empty)."""
        if not methods:
            return None, NOT_IN_PIPELINE
        if column.source == "metrics":
            split = roles.get(column.role)
            if split is None:
                return None, NO_SPLIT
            found = self.metrics.get((methods[0], split), {})
            return (found[column.metric], "ok") if column.metric in found else (None, NOT_RUN)
        if column.source == "training":
            if any(m not in self.training for m in methods):
                return None, NOT_RUN
            costs = [self.training[m] for m in methods]
            if column.metric == "hours":
                return sum(c["seconds"] for c in costs) / 3600, "ok"
            return float(max(c["gpus"] for c in costs)), "ok"
        if column.source == "efficiency":
            if not method_registry.sparse_neural(methods[0]):
                return None, NO_SPLIT  # a figure of learned sparse runs only
            found = self.efficiency.get(methods[0], {})
            return (found[column.metric], "ok") if column.metric in found else (None, NOT_RUN)
        if column.source == "latency":
            found = self.latency.get(methods[0], {})
            return (found[column.metric], "ok") if column.metric in found else (None, NOT_RUN)
        key = method_registry.dense_index_of(methods[0])
        if key not in self.indexes:
            return None, NOT_RUN
        return self.indexes[key]["bytes"] / 1e9, "ok"


def load_measurements(
    metrics=(), models=None, indexes=None, latency=None, efficiency=None, manifest=(),
    transfers=None,
) -> Measurements:  # fmt: skip
    """From the evaluate rule's JSON summaries (each names its method and split), and, keyed
    as Plan.table_sources keys them, models' training.json, indexes' stats ("model/kind"),
    hybrids' latency measurements and sparse runs' efficiency; the data manifest's counts;
    transfer targets' summaries (target -> method -> file)."""
    own = [_json(path) for path in metrics]
    transferred = {t: [_json(p) for p in files.values()] for t, files in (transfers or {}).items()}
    runs = {f"{s['method']}/{s['split']}": s for s in own}
    for target, found in transferred.items():
        runs |= {f"{target}: {s['method']}/{s['split']}": s for s in found}
    efficiency = {m: _json(p) for m, p in (efficiency or {}).items()}
    counted = {"data": _json(manifest[0]).get("counted", {})} if manifest else {}
    counted |= {run: s.get("counted", {}) for run, s in runs.items()}
    counted |= {f"{m} (index, dev queries)": e.get("counted", {}) for m, e in efficiency.items()}
    return Measurements(
        metrics={(s["method"], s["split"]): s["metrics"] for s in own},
        training={m: _json(Path(d) / "training.json") for m, d in (models or {}).items()},
        indexes={tuple(key.split("/")): _json(p) for key, p in (indexes or {}).items()},
        latency={m: _json(p) for m, p in (latency or {}).items()},
        efficiency=efficiency,
        counted=counted,
        run_writers={run: s.get("run_written_by") for run, s in runs.items()},
        transfers={
            (s["method"], target): s["metrics"]
            for target, found in transferred.items()
            for s in found
        },
    )


def _json(path) -> dict:
    return json.loads(Path(path).read_text())


def build(spec: TableSpec, found: Measurements, roles: dict[str, str | None]) -> pd.DataFrame:
    """Long table: one row per (method row, column) with ours, published, delta and status."""
    records = []
    for row in spec.rows:
        for column, published in zip(spec.columns, row.published, strict=True):
            methods = spec.cell_methods(row, column)
            ours, status = found.value(column, methods, roles)
            split = roles.get(column.role) if column.source == "metrics" else None
            records.append(cell_record(spec, row, column, methods, split, ours, status, published))
    return pd.DataFrame.from_records(records)


def cell_record(spec, row, column, methods, split, ours, status, published) -> dict:
    """One cell of a table's long CSV: ours, the published number and their difference."""
    delta = ours - published if ours is not None and published is not None else None
    return {
        "table": spec.name,
        "row": row.label,
        "method": "+".join(methods) or None,
        "column": column.label,
        "source": column.source,
        "split": split,
        "metric": column.metric,
        "ours": ours,
        "published": published,
        "delta": delta,
        "status": status,
    }


def _number(value: float | None, signed: bool = False, metric: bool = True) -> str:
    """Metrics to 3 decimals as the papers print them; hours, GPUs and GB to 3 digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if not metric:
        return f"{value:+.3g}" if signed else f"{value:.3g}"
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
            metric = column.source == "metrics"
            ours = _number(cell.ours, metric=metric) if cell.status == "ok" else cell.status
            cells += [
                ours,
                _number(cell.published, metric=metric),
                _number(cell.delta, signed=True, metric=metric),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", footer, ""])


def summary(
    results: dict[tuple[str, str], dict[str, float]], metrics: list[str], normalization="none"
) -> pd.DataFrame:
    """Every evaluated (method, split) with every metric: the table for any dataset."""
    rows = [
        {
            "method": method,
            "label": _summary_label(method, normalization),
            "split": split,
            **{metric: values.get(metric) for metric in metrics},
        }
        for (method, split), values in sorted(results.items())
    ]
    return pd.DataFrame(rows, columns=["method", "label", "split", *metrics])


def _summary_label(method: str, normalization: str) -> str:
    label = method_registry.label(method)
    if method_registry.hybrid_parts(method):
        return with_normalization(label, normalization)
    return label


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
    found: Measurements,
    roles: dict[str, str | None],
    metrics: list[str],
    dataset: str,
    provenance_record: dict,
    markdown_out: str,
    csv_out: str,
    provenance_out: str,
    fusion_normalize: str = "none",
    transfer: dict | None = None,
) -> pd.DataFrame:
    """Write one table (a paper table, `summary`, or `zero_shot` of the plan's `transfer`
    description) as Markdown, CSV and provenance JSON."""
    from . import zero_shot
    from .provenance import markdown_footer

    provenance_record = {
        **provenance_record,
        "runs_written_by": found.run_writers,
        "counted": found.nonzero_counts(),
    }
    footer = markdown_footer(provenance_record)
    if name == "summary":
        frame = summary(found.metrics, metrics, fusion_normalize)
        text = summary_markdown(frame, metrics, f"Dataset `{dataset}`.", footer)
    elif name == zero_shot.ZERO_SHOT:
        spec = zero_shot.spec(transfer)
        frame = zero_shot.build(spec, found, transfer)
        text = markdown(spec, frame, zero_shot.caption(transfer), footer)
    else:
        spec = label_hybrids(get_table(name), fusion_normalize)
        frame = build(spec, found, roles)
        text = markdown(spec, frame, roles_caption(dataset, roles), footer)
    Path(markdown_out).parent.mkdir(parents=True, exist_ok=True)
    Path(markdown_out).write_text(text)
    frame.to_csv(csv_out, index=False)
    Path(provenance_out).write_text(json.dumps(provenance_record, indent=2, default=str) + "\n")
    return frame
