"""Rules plot_training, plot_table, plot_per_query: one figure of the HTML report."""

from pathlib import Path

from irrepro import plots, tables
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    out = snakemake.output[0]
    if snakemake.rule == "plot_training":
        logs = {m: Path(folder) / "train_log.parquet" for m, folder in snakemake.input.items()}
        log.info("training curves of %d models", plots.training_curves(logs, out))
    elif snakemake.rule == "plot_table":
        plots.table_chart(snakemake.input[0], tables.title(snakemake.wildcards.table), out)
    else:
        files = dict(snakemake.input.items())
        plots.per_query_distributions(files, snakemake.params.metric, snakemake.params.split, out)
