"""Rules evaluate and transfer_evaluate: per-query metrics of each run the job scores (one per
split) and their means."""

import json

from irrepro.artefacts import QRELS, RUN, read_table, written_by
from irrepro.logs import rule_logging
from irrepro.metrics import aggregate, evaluate, unanswered

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    params = snakemake.params
    splits = zip(
        params.splits,
        params.relevance_level,
        snakemake.input.run,
        snakemake.input.qrels,
        snakemake.output.per_query,
        snakemake.output.summary,
        strict=True,
    )
    for split, relevance_level, run_path, qrels_path, per_query_path, summary_path in splits:
        run = read_table(run_path, RUN)
        qrels = read_table(qrels_path, QRELS)
        per_query = evaluate(run, qrels, params.metrics, relevance_level=relevance_level)
        per_query.to_parquet(per_query_path, index=False)
        summary = {
            "method": snakemake.wildcards.method,
            "split": split,
            "queries": len(per_query),
            "relevance_level": relevance_level,
            "metrics": aggregate(per_query),
            "run_written_by": written_by(run_path),
            "counted": unanswered(run, qrels).report(log),
        }
        with open(summary_path, "w") as out:
            json.dump(summary, out, indent=2)
        log.info("%s", summary)
