"""Rule ensemble_negatives: the negatives of several runs pooled (SPLADE++ EnsembleDistil)."""

from irrepro.artefacts import NEGATIVES, read_table, write_table
from irrepro.logs import rule_logging
from irrepro.negatives import ensemble_negatives

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    negatives = ensemble_negatives(
        [read_table(path, NEGATIVES) for path in snakemake.input], snakemake.params.depth
    )
    write_table(negatives, snakemake.output[0], NEGATIVES)
    log.info("%d negatives from %d sources", len(negatives), len(snakemake.input))
