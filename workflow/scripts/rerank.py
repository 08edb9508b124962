"""Rules rerank_bm25(_split): BM25's top-k reordered by ColBERT's MaxSim, a bi-encoder (its
stored passage and query vectors: no model loaded) or the cross-encoder, for each split the job
serves."""

from irrepro import methods, runtime
from irrepro.candidates import RerankSplit, rerank_runs
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    reranker = methods.get(snakemake.wildcards.reranker)
    settings = {**snakemake.params.settings, **methods.RERANK.speed(snakemake.config, reranker)}
    files = zip(
        snakemake.input.run,
        snakemake.input.queries,
        snakemake.output.run,
        snakemake.output.trec,
        snakemake.params.vector_splits,
        strict=True,
    )
    splits = [RerankSplit(*paths) for paths in files]
    runs = rerank_runs(
        settings["scorer"],
        dict(snakemake.input.items()),
        splits,
        settings,
        tag=f"irrepro-{snakemake.wildcards.reranker}",
        precision=snakemake.params.precision,
    )
    for split, run in zip(splits, runs, strict=True):
        log.info("%s: %d queries, %d results", split.out, run["query_id"].nunique(), len(run))
