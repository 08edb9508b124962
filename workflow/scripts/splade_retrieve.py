"""Rules splade_retrieve(_split): exact top-k from a SPLADE inverted index for each split the
job serves, with each split's efficiency figures. The queries' term weights are those the
indexing job stored; their latency counts the time it took to encode them."""

import json
import time

from irrepro import runtime
from irrepro.artefacts import QUERIES, export_trec_run, read_table
from irrepro.logs import rule_logging
from irrepro.lookup import stored_queries_path
from irrepro.speed import speed_settings
from irrepro.splade.index import (
    SparseIndex,
    efficiency,
    empty_queries,
    query_encoding_seconds,
    read_query_weights,
    sparse_run,
)

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_numba_threads(snakemake.threads)
    index_dir = snakemake.input.index
    index = SparseIndex(index_dir)
    index.compile()
    batch_size = speed_settings(snakemake.config, "splade")["query_batch_size"]
    vocabulary = index.stats["vocabulary"]
    splits = runtime.retrieval_splits(snakemake, "efficiency")
    for (queries_path, depth, run_path, trec_path, efficiency_path), stored in zip(
        splits, snakemake.params.vector_splits, strict=True
    ):
        query_ids = read_table(queries_path, QUERIES)["query_id"]
        weights = read_query_weights(stored_queries_path(index_dir, stored), query_ids, vocabulary)
        started = time.perf_counter()
        sparse_run(index, query_ids, weights, run_path, depth=depth, batch_size=batch_size)
        seconds = time.perf_counter() - started
        seconds += query_encoding_seconds(index_dir, stored, len(query_ids))
        figures = {
            **efficiency(index, weights),
            "index_gb": index.stats["bytes"] / 1e9,
            "ms_per_query": 1e3 * seconds / max(len(query_ids), 1),
            "queries": len(query_ids),
            "counted": {
                **index.stats.get("counted", {}),
                **empty_queries(query_ids, weights).report(log),
            },
        }
        with open(efficiency_path, "w") as out:
            json.dump(figures, out, indent=2)
        run = export_trec_run(run_path, trec_path, tag=f"irrepro-{snakemake.wildcards.method}")
        log.info("%s: %d queries, %d results; %s", run_path, run["query_id"].nunique(), len(run),
                 figures)  # fmt: skip
