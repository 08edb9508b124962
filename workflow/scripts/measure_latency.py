"""Rule measure_latency: per-query time of a hybrid's stages (TCT-ColBERT's Table 2)."""

import json

from irrepro import methods, runtime
from irrepro.artefacts import QUERIES, RUN, read_table
from irrepro.dense.embeddings import embedding_doc_ids
from irrepro.dense.index import read_index
from irrepro.dense.model import BiEncoder
from irrepro.fusion import read_tuned
from irrepro.latency import measure_hybrid_latency
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    alpha, normalize = read_tuned(snakemake.input.alpha)
    result = measure_hybrid_latency(
        BiEncoder.load(snakemake.input.model),
        read_index(snakemake.input.index),
        embedding_doc_ids(snakemake.input.embeddings),
        read_table(snakemake.input.queries, QUERIES),
        read_table(snakemake.input.sparse, RUN),
        alpha,
        snakemake.params.depth,
        snakemake.params.query_length,
        snakemake.params.sample_size,
        normalize=normalize,
    )
    result["method"] = methods.hybrid_name(snakemake.wildcards.dense, snakemake.wildcards.sparse)
    with open(snakemake.output[0], "w") as out:
        json.dump(result, out, indent=2)
    log.info("%s", result)
