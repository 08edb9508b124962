"""Rule fuse: a dense and a sparse run combined by Eq. 7 with the tuned alpha."""

from irrepro import methods
from irrepro.artefacts import RUN, read_table, write_table, write_trec_run
from irrepro.fusion import fuse, read_tuned
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    method = methods.hybrid_name(snakemake.wildcards.dense, snakemake.wildcards.sparse)
    alpha, normalize = read_tuned(snakemake.input.alpha)
    run = fuse(
        read_table(snakemake.input.dense, RUN),
        read_table(snakemake.input.sparse, RUN),
        alpha,
        snakemake.params.depth,
        normalize,
    )
    write_table(run, snakemake.output.run, RUN)
    write_trec_run(run, snakemake.output.trec, tag=f"irrepro-{method}")
    log.info(
        "alpha %g (normalisation %s): %d queries, %d results",
        alpha, normalize, run["query_id"].nunique(), len(run),
    )  # fmt: skip
