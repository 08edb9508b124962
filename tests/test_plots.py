"""The report's figures draw what their inputs say: bar lengths are the table's numbers, the
curves the train log's, the boxes the per-query values."""

import math
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from irrepro import plots

TABLE = pd.DataFrame(
    [
        ("BM25", "bm25", "dev MRR@10", 0.288, 0.187, "ok"),
        ("STAR", "star", "dev MRR@10", 0.527, 0.340, "ok"),
        ("ANCE", "ance", "dev MRR@10", None, 0.338, "not run"),
        ("BM25", "bm25", "test nDCG@10", 0.61, 0.506, "ok"),
        ("STAR", "star", "test nDCG@10", 0.70, 0.642, "ok"),
        ("ANCE", "ance", "test nDCG@10", None, 0.654, "not run"),
    ],
    columns=["row", "method", "column", "ours", "published", "status"],
)


def bar_widths(ax) -> list[float]:
    return [patch.get_width() for patch in ax.patches]


def test_table_chart_bars_are_ours_then_published_per_row():
    figure = plots.table_figure(TABLE, "Table 2")
    dev, test = figure.axes[:2]
    assert dev.get_title() == "dev MRR@10" and test.get_title() == "test nDCG@10"
    widths = bar_widths(dev)
    assert widths[:2] == [0.288, 0.527] and math.isnan(widths[2])  # not run: no bar
    assert widths[3:] == [0.187, 0.340, 0.338]
    assert [t.get_text() for t in dev.get_yticklabels()] == ["BM25", "STAR", "ANCE"]
    assert bar_widths(test)[:2] == [0.61, 0.70]


def test_chart_labels_drop_their_notes():
    assert plots.short_label("STAR, released checkpoint (dense.released.star; paper)") == (
        "STAR, released checkpoint"
    )
    assert plots.short_label("x" * 40, width=10) == "x" * 9 + "…"


def svg_texts(path) -> str:
    return " ".join(e.text or "" for e in ET.parse(path).iter() if e.tag.endswith("text"))


def test_training_curves_draw_each_trained_model_and_skip_released_ones(tmp_path):
    log = pd.DataFrame({"step": [1, 2, 3], "loss": [0.9, 0.5, 0.4], "lr": [1e-4] * 3,
                        "examples_per_s": [10.0, 11.0, 12.0]})  # fmt: skip
    log.to_parquet(tmp_path / "star.parquet")
    pd.DataFrame(columns=["step", "loss", "seconds"]).to_parquet(tmp_path / "released.parquet")
    drawn = plots.training_curves(
        {"star": tmp_path / "star.parquet", "star-released": tmp_path / "released.parquet"},
        tmp_path / "training.svg",
    )
    assert drawn == 1
    texts = svg_texts(tmp_path / "training.svg")
    assert "STAR: loss" in texts and "released" not in texts


def test_per_query_boxes_are_the_per_query_values(tmp_path, monkeypatch):
    values = {"bm25": [0.0, 0.5, 1.0, 1.0], "star": [0.25, 0.5, 0.5, 1.0]}
    for name, column in values.items():
        pd.DataFrame({"query_id": list("abcd"), "MRR@10": column}).to_parquet(
            tmp_path / f"{name}.parquet"
        )
    drawn = {}
    boxplot = plots.plt.Axes.boxplot

    def spy(ax, data, *args, **kwargs):
        drawn["data"] = data
        return boxplot(ax, data, *args, **kwargs)

    monkeypatch.setattr(plots.plt.Axes, "boxplot", spy)
    files = {name: tmp_path / f"{name}.parquet" for name in values}
    plots.per_query_distributions(files, "MRR@10", "dev", tmp_path / "box.svg")
    for got, expected in zip(drawn["data"], values.values(), strict=True):
        np.testing.assert_array_equal(got, expected)
    texts = svg_texts(tmp_path / "box.svg")
    assert "MRR@10 per query (dev)" in texts and "STAR" in texts


@pytest.mark.parametrize("columns", [1, 4])
def test_table_chart_writes_an_svg_for_any_number_of_columns(tmp_path, columns):
    table = pd.concat(
        [TABLE[TABLE["column"] == "dev MRR@10"].assign(column=f"c{i}") for i in range(columns)]
    )
    table.to_csv(tmp_path / "t.csv", index=False)
    plots.table_chart(tmp_path / "t.csv", "T", tmp_path / "t.svg")
    assert "c0" in svg_texts(tmp_path / "t.svg")
