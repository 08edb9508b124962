"""Rule build_token_index: a faiss index over every stored ColBERT passage token vector."""

import json

from irrepro import runtime
from irrepro.dense.index import index_size_bytes, write_index
from irrepro.logs import rule_logging
from irrepro.tct.token_index import TokenStore, build_token_index

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    store = TokenStore(snakemake.input[0])
    index = build_token_index(store, snakemake.wildcards.kind)
    write_index(index, snakemake.output.index)
    size = index_size_bytes(snakemake.output.index)
    stats = {
        "kind": snakemake.wildcards.kind,
        "vectors": int(index.ntotal),
        "passages": store.count,
        "dim": store.dim,
        "bytes": size,
        "bytes_per_vector": size / max(int(index.ntotal), 1),
    }
    with open(snakemake.output.stats, "w") as out:
        json.dump(stats, out, indent=2)
    log.info("%s", stats)
