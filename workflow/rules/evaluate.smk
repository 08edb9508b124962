# Evaluation: per-query metrics and their means (trec_eval semantics) for every run.


rule evaluate:
    input:
        run=LAYOUT.run("{method}", "{split}"),
        qrels=LAYOUT.qrels("{split}"),
    output:
        per_query=LAYOUT.metrics("{method}", "{split}", "parquet"),
        summary=LAYOUT.metrics("{method}", "{split}"),
    params:
        metrics=PLAN.metrics,
        relevance_level=lambda wc: PLAN.relevance_level(wc.split),
    log:
        LAYOUT.log("evaluate", "{method}", "{split}"),
    conda:
        CPU_ENV
    script:
        "../scripts/evaluate.py"
