# Evaluation: per-query metrics and their means (trec_eval semantics) for every run; one job
# scores a method's evaluated splits, whose runs come from one retrieval job anyway.


rule evaluate:
    input:
        run=[LAYOUT.run("{method}", split) for split in EVAL_SPLITS],
        qrels=[LAYOUT.qrels(split) for split in EVAL_SPLITS],
    output:
        per_query=[LAYOUT.metrics("{method}", split, "parquet") for split in EVAL_SPLITS],
        summary=[LAYOUT.metrics("{method}", split) for split in EVAL_SPLITS],
    params:
        metrics=PLAN.metrics,
        splits=EVAL_SPLITS,
        relevance_level=[PLAN.relevance_level(split) for split in EVAL_SPLITS],
    log:
        LAYOUT.log("evaluate", "{method}", EVALUATED),
    conda:
        CPU_ENV
    script:
        "../scripts/evaluate.py"
