# Evaluation: per-query metrics and their means (trec_eval semantics) for every run.


rule evaluate:
    input:
        run=f"{R}/runs/{{method}}/{{split}}.parquet",
        qrels=f"{R}/data/qrels/{{split}}.parquet",
    output:
        per_query=f"{R}/metrics/{{method}}/{{split}}.parquet",
        summary=f"{R}/metrics/{{method}}/{{split}}.json",
    params:
        metrics=PLAN.metrics,
        relevance_level=lambda wc: PLAN.relevance_level(wc.split),
    log:
        f"{R}/logs/evaluate/{{method}}/{{split}}.log",
    conda:
        CPU_ENV
    script:
        "../scripts/evaluate.py"
