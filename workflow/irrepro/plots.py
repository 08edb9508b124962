"""The report's figures (`snakemake --report`): training curves, each table's numbers beside
the published ones, and per-query metric distributions. SVG, drawn with matplotlib's Agg
backend (no display needed)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, and smaller
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from . import methods  # noqa: E402

CURVES = (("loss", "loss"), ("lr", "learning rate"), ("examples_per_s", "examples / s"))


def training_curves(train_logs: dict[str, str | Path], out: str | Path) -> int:
    """One row per trained model: loss, learning rate and throughput against the step (from
    train_log.parquet; released checkpoints have empty logs and are left out). Returns the
    number of models drawn."""
    logs = {name: pd.read_parquet(path) for name, path in train_logs.items()}
    logs = {name: log for name, log in logs.items() if len(log)}
    rows = max(1, len(logs))
    figure, axes = plt.subplots(rows, len(CURVES), figsize=(12, 2.2 * rows), squeeze=False)
    for row, (name, log) in zip(axes, logs.items(), strict=False):
        for ax, (column, title) in zip(row, CURVES, strict=True):
            if column in log:
                ax.plot(log["step"], log[column], marker=".", linewidth=1)
            ax.set_title(f"{methods.label(name)}: {title}", fontsize=9)
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=7)
    if not logs:
        axes[0][0].set_title("no trained model in this config")
    _save(figure, out)
    return len(logs)


def table_chart(table_csv: str | Path, title: str, out: str | Path) -> None:
    """Per column of a paper table, each row's value (ours) beside the published one."""
    _save(table_figure(pd.read_csv(table_csv), title), out)


def table_figure(table: pd.DataFrame, title: str):
    """The chart of a table's long CSV (irrepro.tables.build): one panel per column, in each
    a pair of bars per row, ours (absent where not run) and the published number."""
    columns = list(dict.fromkeys(table["column"]))
    rows = list(dict.fromkeys(table["row"]))
    per_line = min(len(columns), 3)
    lines = math.ceil(len(columns) / per_line)
    height = 0.28 * len(rows) + 1.2
    figure, axes = plt.subplots(
        lines, per_line, figsize=(3.2 * per_line + 2.5, height * lines), squeeze=False,
        sharey=True,
    )  # fmt: skip
    positions = range(len(rows))
    names = [short_label(row) for row in rows]
    for ax, column in zip(axes.flat, columns, strict=False):
        cells = table[table["column"] == column].set_index("row").reindex(rows)
        ours = cells["ours"].where(cells["status"] == "ok")
        ax.barh([p - 0.2 for p in positions], ours, height=0.4, label="ours")
        ax.barh([p + 0.2 for p in positions], cells["published"], height=0.4,
                label="published", fill=False, hatch="///")  # fmt: skip
        ax.set_yticks(list(positions), names, fontsize=7)
        ax.set_title(column, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(columns) :]:
        ax.axis("off")
    axes[0][0].invert_yaxis()  # shared: the table's first row on top in every panel
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=7, loc="upper right")
    figure.suptitle(title, fontsize=10)
    return figure


def short_label(label: str, width: int = 32) -> str:
    """A row label without its parenthesised note, cut to `width` characters."""
    label = label.split(" (")[0]
    return label if len(label) <= width else label[: width - 1] + "…"


def per_query_distributions(
    per_query: dict[str, str | Path], metric: str, split: str, out: str | Path
) -> None:
    """The distribution over queries of one metric, one box per method (its mean marked)."""
    names = list(per_query)
    values = [pd.read_parquet(per_query[name])[metric].to_numpy() for name in names]
    figure, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1.4))
    ax.boxplot(values, orientation="horizontal", showmeans=True, widths=0.6)
    ax.set_yticks(range(1, len(names) + 1), [methods.label(n) for n in names], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric} per query ({split})", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    _save(figure, out)


def _save(figure, out: str | Path) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(out, format="svg")
    plt.close(figure)
