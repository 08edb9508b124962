# Data stage: the configured source -> corpus, queries and qrels Parquet (DESIGN.md schemas).


rule prepare_dataset:
    input:
        PLAN.source_files(),
    output:
        corpus=f"{R}/data/corpus.parquet",
        queries=expand(f"{R}/data/queries/{{split}}.parquet", split=PLAN.splits),
        qrels=expand(f"{R}/data/qrels/{{split}}.parquet", split=PLAN.splits),
        manifest=f"{R}/data/manifest.json",
    params:
        dataset=PLAN.spec,
        splits=PLAN.splits,
    log:
        f"{R}/logs/prepare_dataset.log",
    benchmark:
        f"{R}/benchmarks/prepare_dataset.tsv"
    conda:
        CPU_ENV
    script:
        "../scripts/prepare_dataset.py"
