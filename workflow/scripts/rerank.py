"""Rule rerank_bm25: BM25's top-k reordered by ColBERT's MaxSim or by a bi-encoder."""

from irrepro import methods, runtime
from irrepro.logs import rule_logging
from irrepro.rerank import rerank_run

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    reranker = methods.get(snakemake.wildcards.reranker)
    settings = {**snakemake.params.settings, **methods.RERANK.speed(snakemake.config, reranker)}
    run = rerank_run(
        settings["scorer"],
        {**dict(snakemake.input.items()), "out": snakemake.output.run},
        settings,
        snakemake.output.trec,
        tag=f"irrepro-{snakemake.wildcards.reranker}",
    )
    log.info("%d queries, %d results", run["query_id"].nunique(), len(run))
