"""Rule splade_retrieve: exact top-k of a split's queries from a SPLADE inverted index."""

import json
import time

import numba

from irrepro import runtime
from irrepro.artefacts import QUERIES, RUN, read_table, write_trec_run
from irrepro.logs import rule_logging
from irrepro.speed import speed_settings
from irrepro.splade.index import SparseIndex, efficiency, empty_queries, sparse_run
from irrepro.splade.model import Splade

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    numba.set_num_threads(max(1, min(snakemake.threads, numba.config.NUMBA_NUM_THREADS)))
    settings = snakemake.params.settings
    device = runtime.device()
    queries = read_table(snakemake.input.queries, QUERIES)
    index = SparseIndex(snakemake.input.index)
    index.compile()
    started = time.perf_counter()
    weights = sparse_run(
        Splade.load(snakemake.input.model).to(device),
        index,
        queries,
        snakemake.output.run,
        depth=snakemake.params.depth,
        max_length=settings["query_length"],
        batch_size=speed_settings(snakemake.config, "splade")["query_batch_size"],
    )
    seconds = time.perf_counter() - started
    figures = {
        **efficiency(index, weights),
        "index_gb": index.stats["bytes"] / 1e9,
        "ms_per_query": 1e3 * seconds / max(len(queries), 1),
        "queries": len(queries),
        "counted": {
            **index.stats.get("counted", {}),
            **empty_queries(queries["query_id"], weights).report(log),
        },
    }
    with open(snakemake.output.efficiency, "w") as out:
        json.dump(figures, out, indent=2)
    run = read_table(snakemake.output.run, RUN)
    write_trec_run(run, snakemake.output.trec, tag=f"irrepro-{snakemake.wildcards.method}")
    log.info("%d queries, %d results; %s", run["query_id"].nunique(), len(run), figures)
