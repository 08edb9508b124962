"""Rule bm25_retrieve: top-k BM25 run for one split, Parquet and TREC."""

from irrepro.artefacts import QUERIES, export_trec_run, read_table
from irrepro.bm25 import BM25Index, retrieve_run
from irrepro.logs import rule_logging
from irrepro.speed import speed_settings

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    index = BM25Index(snakemake.input.index)
    queries = read_table(snakemake.input.queries, QUERIES)
    retrieve_run(
        index,
        queries,
        snakemake.output.run,
        depth=snakemake.params.depth,
        threads=snakemake.threads,
        batch_size=speed_settings(snakemake.config, "bm25")["query_batch_size"],
    )
    run = export_trec_run(snakemake.output.run, snakemake.output.trec, tag="irrepro-bm25")
    log.info("%d queries, %d results", run["query_id"].nunique(), len(run))
