"""Rule evaluate: per-query metrics of one run and their means."""

import json

from irrepro.artefacts import QRELS, RUN, read_table, written_by
from irrepro.logs import rule_logging
from irrepro.metrics import aggregate, evaluate, unanswered

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    run = read_table(snakemake.input.run, RUN)
    qrels = read_table(snakemake.input.qrels, QRELS)
    per_query = evaluate(
        run, qrels, snakemake.params.metrics, relevance_level=snakemake.params.relevance_level
    )
    per_query.to_parquet(snakemake.output.per_query, index=False)
    summary = {
        "method": snakemake.wildcards.method,
        "split": snakemake.wildcards.split,
        "queries": len(per_query),
        "relevance_level": snakemake.params.relevance_level,
        "metrics": aggregate(per_query),
        "run_written_by": written_by(snakemake.input.run),
        "counted": unanswered(run, qrels).report(log),
    }
    with open(snakemake.output.summary, "w") as out:
        json.dump(summary, out, indent=2)
    log.info("%s", summary)
