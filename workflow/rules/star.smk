# STAR: one static hard negative per query (the warm-up model's top-200 minus positives) and
# the batch's positives as random negatives, initialised from the warm-up (BM25 Neg) model.


rule train_star:
    input:
        init=f"{R}/models/bm25neg",
        negatives=f"{R}/negatives/bm25neg.parquet",
        corpus=f"{R}/data/corpus.parquet",
        **TRAIN,
    output:
        directory(f"{R}/models/star"),
    params:
        encoder=config["dense"]["encoder"],
        training=dense_training("star"),
        checkpoints=f"{R}/checkpoints/star",
    log:
        f"{R}/logs/train/star.log",
    benchmark:
        f"{R}/benchmarks/train/star.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/train_biencoder.py"
