"""Rule mine_negatives: the top of a train run minus each query's judged positives."""

from irrepro.artefacts import NEGATIVES, QRELS, RUN, read_table, write_table
from irrepro.logs import rule_logging
from irrepro.negatives import negatives_from_run

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    negatives = negatives_from_run(
        read_table(snakemake.input.run, RUN),
        read_table(snakemake.input.qrels, QRELS),
        depth=snakemake.params.depth,
    )
    write_table(negatives, snakemake.output[0], NEGATIVES)
    log.info("%d negatives for %d queries", len(negatives), negatives["query_id"].nunique())
