"""Rule dense_retrieve: top-k run of a query encoder over a faiss index, Parquet and TREC."""

from irrepro import runtime
from irrepro.artefacts import QUERIES, RUN, read_table, write_trec_run
from irrepro.dense.embeddings import embedding_doc_ids
from irrepro.dense.index import read_index
from irrepro.dense.model import BiEncoder
from irrepro.dense.retrieve import dense_run
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    dense_run(
        BiEncoder.load(snakemake.input.model),
        read_index(snakemake.input.index),
        embedding_doc_ids(snakemake.input.embeddings),
        read_table(snakemake.input.queries, QUERIES),
        snakemake.output.run,
        depth=snakemake.params.depth,
        max_length=snakemake.params.max_length,
    )
    run = read_table(snakemake.output.run, RUN)
    write_trec_run(run, snakemake.output.trec, tag=f"irrepro-{snakemake.wildcards.method}")
    log.info("%d queries, %d results", run["query_id"].nunique(), len(run))
