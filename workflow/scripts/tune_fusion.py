"""Rule tune_fusion: the hybrid's alpha (Eq. 7) grid-searched on the sampled train queries."""

import json

from irrepro.artefacts import QRELS, RUN, read_table
from irrepro.fusion import alpha_grid, tune_alpha
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule):
    result = tune_alpha(
        read_table(snakemake.input.dense, RUN),
        read_table(snakemake.input.sparse, RUN),
        read_table(snakemake.input.qrels, QRELS),
        alpha_grid(snakemake.params.grid),
        snakemake.params.metric,
    )
    with open(snakemake.output[0], "w") as out:
        json.dump(result, out, indent=2)
