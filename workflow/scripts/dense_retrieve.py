"""Rules dense_retrieve(_split): top-k runs of a query encoder over a faiss index, one per split
the job serves, Parquet and TREC."""

from irrepro import runtime
from irrepro.artefacts import QUERIES, export_trec_run, read_table
from irrepro.dense.embeddings import embedding_doc_ids
from irrepro.dense.index import on_device, read_index
from irrepro.dense.model import BiEncoder
from irrepro.dense.retrieve import dense_run
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    encoder = BiEncoder.load(snakemake.input.model)
    index = on_device(read_index(snakemake.input.index))
    doc_ids = embedding_doc_ids(snakemake.input.embeddings)
    for queries, depth, run_path, trec_path in runtime.retrieval_splits(snakemake):
        dense_run(
            encoder,
            index,
            doc_ids,
            read_table(queries, QUERIES),
            run_path,
            depth=depth,
            max_length=snakemake.params.max_length,
        )
        run = export_trec_run(run_path, trec_path, tag=f"irrepro-{snakemake.wildcards.method}")
        log.info("%s: %d queries, %d results", run_path, run["query_id"].nunique(), len(run))
