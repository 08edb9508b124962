"""Rules colbert_retrieve(_split): ColBERT end to end, candidates from the token index, exact
MaxSim, for each split the job serves."""

import json

from irrepro import runtime
from irrepro.artefacts import QUERIES, export_trec_run, read_table
from irrepro.dense.embeddings import embedding_doc_ids
from irrepro.dense.index import on_device, read_index
from irrepro.logs import rule_logging
from irrepro.speed import speed_settings
from irrepro.tct.colbert import ColBERT
from irrepro.tct.token_index import TokenStore, end_to_end_run

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    model = ColBERT.load(snakemake.input.model).to(runtime.device())
    store = TokenStore(snakemake.input.tokens)
    index = on_device(read_index(snakemake.input.index))
    doc_ids = embedding_doc_ids(snakemake.input.tokens)
    splits = runtime.retrieval_splits(snakemake, "timing")
    for queries, depth, run_path, trec_path, timing_path in splits:
        timing = end_to_end_run(
            model,
            store,
            index,
            doc_ids,
            read_table(queries, QUERIES),
            run_path,
            depth=depth,
            **snakemake.params.settings,
            **speed_settings(snakemake.config, "tct.end_to_end"),
        )
        run = export_trec_run(run_path, trec_path, tag="irrepro-colbert")
        with open(timing_path, "w") as out:
            json.dump(timing, out, indent=2)
        log.info("%s: %d queries, %d results; %s", run_path, run["query_id"].nunique(), len(run),
                 timing)  # fmt: skip
