"""Rules dense_retrieve(_split): top-k runs of query vectors over a faiss index, one per split
the job serves, Parquet and TREC. The vectors are those the encoding job stored beside the
passages, or, for a query encoder searching another model's passages (ADORE), those its
training job stored in its model folder (`query_vectors`); a job given the encoder itself
(`model`: ADORE on a transfer target's queries) encodes them."""

from irrepro import runtime
from irrepro.artefacts import QUERIES, export_trec_run, read_table
from irrepro.dense.embeddings import embedding_doc_ids
from irrepro.dense.index import on_device, read_index
from irrepro.dense.retrieve import dense_run, encoded_queries, stored_queries
from irrepro.logs import rule_logging
from irrepro.lookup import stored_queries_path

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    encoder = None
    if model := snakemake.input.get("model"):  # torch and transformers only where needed (3-4 s)
        from irrepro.dense.model import BiEncoder

        runtime.use_precision(snakemake.params.precision)
        encoder = BiEncoder.load(model)
    index = on_device(read_index(snakemake.input.index))  # once for every split
    doc_ids = embedding_doc_ids(snakemake.input.embeddings)
    splits = zip(runtime.retrieval_splits(snakemake), snakemake.params.vector_splits, strict=True)
    for (queries_path, depth, run_path, trec_path), vector_split in splits:
        queries = read_table(queries_path, QUERIES)
        if encoder is None:
            folder = snakemake.input.get("query_vectors", snakemake.input.embeddings)
            stored = stored_queries_path(folder, vector_split)
            batches = stored_queries(stored, queries["query_id"])
        else:
            batches = encoded_queries(encoder, queries, snakemake.params.max_length)
        dense_run(index, doc_ids, batches, run_path, depth=depth, total=len(queries))
        run = export_trec_run(run_path, trec_path, tag=f"irrepro-{snakemake.wildcards.method}")
        log.info("%s: %d queries, %d results", run_path, run["query_id"].nunique(), len(run))
