# Data stage: the configured source -> corpus, queries and qrels Parquet (DESIGN.md schemas).


rule prepare_dataset:
    input:
        PLAN.source_files(),
    output:
        corpus=LAYOUT.corpus(),
        queries=[LAYOUT.queries(split) for split in PLAN.splits],
        qrels=[LAYOUT.qrels(split) for split in PLAN.splits],
        manifest=LAYOUT.manifest(),
    params:
        dataset=PLAN.dataset_settings(),
        splits=PLAN.splits,
        fingerprints=PLAN.source_fingerprints(),
    log:
        LAYOUT.log("prepare_dataset"),
    benchmark:
        LAYOUT.benchmark("prepare_dataset")
    conda:
        CPU_ENV
    script:
        "../scripts/prepare_dataset.py"
