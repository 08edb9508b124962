"""Rule colbert_retrieve: ColBERT end to end, candidates from the token index, exact MaxSim."""

import json

from irrepro import runtime
from irrepro.artefacts import QUERIES, RUN, read_table, write_trec_run
from irrepro.dense.embeddings import embedding_doc_ids
from irrepro.dense.index import read_index
from irrepro.logs import rule_logging
from irrepro.speed import speed_settings
from irrepro.tct.colbert import ColBERT
from irrepro.tct.token_index import TokenStore, end_to_end_run

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    timing = end_to_end_run(
        ColBERT.load(snakemake.input.model).to(runtime.device()),
        TokenStore(snakemake.input.tokens),
        read_index(snakemake.input.index),
        embedding_doc_ids(snakemake.input.tokens),
        read_table(snakemake.input.queries, QUERIES),
        snakemake.output.run,
        depth=snakemake.params.depth,
        **snakemake.params.settings,
        **speed_settings(snakemake.config, "tct.end_to_end"),
    )
    run = read_table(snakemake.output.run, RUN)
    write_trec_run(run, snakemake.output.trec, tag="irrepro-colbert")
    with open(snakemake.output.timing, "w") as out:
        json.dump(timing, out, indent=2)
    log.info("%d queries, %d results; %s", run["query_id"].nunique(), len(run), timing)
