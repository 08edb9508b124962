"""Rules splade_retrieve(_split): exact top-k from a SPLADE inverted index for each split the
job serves, with each split's efficiency figures."""

import json
import time

import numba

from irrepro import runtime
from irrepro.artefacts import QUERIES, export_trec_run, read_table
from irrepro.logs import rule_logging
from irrepro.speed import speed_settings
from irrepro.splade.index import SparseIndex, efficiency, empty_queries, sparse_run
from irrepro.splade.model import Splade

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    numba.set_num_threads(max(1, min(snakemake.threads, numba.config.NUMBA_NUM_THREADS)))
    settings = snakemake.params.settings
    model = Splade.load(snakemake.input.model).to(runtime.device())
    index = SparseIndex(snakemake.input.index)
    index.compile()
    batch_size = speed_settings(snakemake.config, "splade")["query_batch_size"]
    splits = runtime.retrieval_splits(snakemake, "efficiency")
    for queries_path, depth, run_path, trec_path, efficiency_path in splits:
        queries = read_table(queries_path, QUERIES)
        started = time.perf_counter()
        weights = sparse_run(
            model,
            index,
            queries,
            run_path,
            depth=depth,
            max_length=settings["query_length"],
            batch_size=batch_size,
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
        with open(efficiency_path, "w") as out:
            json.dump(figures, out, indent=2)
        run = export_trec_run(run_path, trec_path, tag=f"irrepro-{snakemake.wildcards.method}")
        log.info("%s: %d queries, %d results; %s", run_path, run["query_id"].nunique(), len(run),
                 figures)  # fmt: skip
