"""Rule fuse: a dense and a sparse run combined by Eq. 7 with the tuned alpha."""

import json

from irrepro.artefacts import RUN, read_table, write_table, write_trec_run
from irrepro.fusion import fuse
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    method = f"hybrid-{snakemake.wildcards.dense}-{snakemake.wildcards.sparse}"
    with open(snakemake.input.alpha) as handle:
        alpha = json.load(handle)["alpha"]
    run = fuse(
        read_table(snakemake.input.dense, RUN),
        read_table(snakemake.input.sparse, RUN),
        alpha,
        snakemake.params.depth,
    )
    write_table(run, snakemake.output.run, RUN)
    write_trec_run(run, snakemake.output.trec, tag=f"irrepro-{method}")
    log.info("alpha %g: %d queries, %d results", alpha, run["query_id"].nunique(), len(run))
