"""Rule tune_fusion: the hybrid's alpha (Eq. 7) grid-searched on the sampled train queries."""

import json

from irrepro.artefacts import QRELS, RUN, read_table
from irrepro.fusion import alpha_grid, tune_alpha
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    grid = snakemake.params.grid
    result = tune_alpha(
        read_table(snakemake.input.dense, RUN),
        read_table(snakemake.input.sparse, RUN),
        read_table(snakemake.input.qrels, QRELS),
        alpha_grid(grid),
        snakemake.params.metric,
        normalize=snakemake.params.normalize,
        extend=grid["extend"],
        max_alpha=grid["max"],
    )
    for side, scale in result["score_scale"].items():
        log.info("%s top-1000 scores: mean %.4g, std %.4g, range [%.4g, %.4g]", side,
                 scale["mean"], scale["std"], scale["min"], scale["max"])  # fmt: skip
    with open(snakemake.output[0], "w") as out:
        json.dump(result, out, indent=2)
