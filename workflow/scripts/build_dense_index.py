"""Rule build_dense_index: a faiss index (flat, PQ, IVF) over a model's passage embeddings."""

import json

from irrepro import runtime
from irrepro.dense.embeddings import load_embeddings
from irrepro.dense.index import build_index, index_size_bytes, write_index
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    embeddings = load_embeddings(snakemake.input[0])
    index = build_index(embeddings, snakemake.wildcards.kind)
    write_index(index, snakemake.output.index)
    stats = {
        "kind": snakemake.wildcards.kind,
        "vectors": int(index.ntotal),
        "dim": int(embeddings.shape[1]),
        "bytes": index_size_bytes(snakemake.output.index),
    }
    with open(snakemake.output.stats, "w") as out:
        json.dump(stats, out, indent=2)
    log.info("%s", stats)
