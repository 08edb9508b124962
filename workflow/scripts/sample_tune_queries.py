"""Rule sample_tune_queries: the train queries on which fusion weights are tuned."""

from irrepro.artefacts import QRELS, QUERIES, read_table, write_table
from irrepro.fusion import sample_queries
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    queries, qrels = sample_queries(
        read_table(snakemake.input.queries, QUERIES),
        read_table(snakemake.input.qrels, QRELS),
        snakemake.params.sample_size,
        snakemake.params.seed,
    )
    write_table(queries, snakemake.output.queries, QUERIES)
    write_table(qrels, snakemake.output.qrels, QRELS)
    log.info("%d tuning queries, %d judgments", len(queries), len(qrels))
