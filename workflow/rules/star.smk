# STAR (issue #3): static hard negatives from the warm-up model + in-batch random negatives.


rule train_star:
    input:
        init=f"{R}/models/bm25neg",
        negatives=f"{R}/negatives/bm25neg.parquet",
        corpus=f"{R}/data/corpus.parquet",
        **TRAIN,
    output:
        directory(f"{R}/models/star"),
    params:
        stage="STAR training",
        issue="issue #3",
    log:
        f"{R}/logs/train/star.log",
    benchmark:
        f"{R}/benchmarks/train/star.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"
