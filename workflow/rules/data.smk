# Data stage: each dataset's source -> corpus, queries and qrels Parquet (DESIGN.md schemas):
# rule prepare_dataset for the dataset the models train on, one rule per zero-shot transfer
# target after it (their splits differ, so their outputs cannot share one rule). Both take
# everything from an irrepro.dataset_plan.DatasetPlan; the first is kept as it was written
# before the targets existed, since Snakemake reruns a rule whose text moved.


rule prepare_dataset:
    input:
        PLAN.data.source_files(),
    output:
        corpus=LAYOUT.corpus(),
        queries=[LAYOUT.queries(split) for split in PLAN.splits],
        qrels=[LAYOUT.qrels(split) for split in PLAN.splits],
        manifest=LAYOUT.manifest(),
    params:
        dataset=PLAN.data.settings(),
        splits=PLAN.splits,
        fingerprints=PLAN.data.source_fingerprints(),
    log:
        LAYOUT.log("prepare_dataset"),
    benchmark:
        LAYOUT.benchmark("prepare_dataset")
    conda:
        CPU_ENV
    script:
        "../scripts/prepare_dataset.py"


for TARGET_DATA in PLAN.transfer.targets.values():

    rule:
        name:
            TARGET_DATA.data_rule()
        input:
            TARGET_DATA.source_files(),
        output:
            corpus=TARGET_DATA.layout.corpus(),
            queries=[TARGET_DATA.layout.queries(split) for split in TARGET_DATA.splits],
            qrels=[TARGET_DATA.layout.qrels(split) for split in TARGET_DATA.splits],
            manifest=TARGET_DATA.layout.manifest(),
        params:
            dataset=TARGET_DATA.settings(),
            splits=TARGET_DATA.splits,
            fingerprints=TARGET_DATA.source_fingerprints(),
        log:
            TARGET_DATA.layout.log("prepare_dataset"),
        benchmark:
            TARGET_DATA.layout.benchmark("prepare_dataset")
        conda:
            CPU_ENV
        script:
            "../scripts/prepare_dataset.py"
