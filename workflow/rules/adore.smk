# ADORE: the base model's query encoder trained against its fixed document index (flat, or PQ
# for the compressed-index table), with dynamic hard negatives retrieved at every step.


rule train_adore:
    input:
        unpack(adore_inputs),
        corpus=f"{R}/data/corpus.parquet",
        **TRAIN,
    output:
        directory(f"{R}/models/{{method}}"),
    params:
        training=dense_training("adore"),
        query_length=config["dense"]["encoder"]["query_length"],
        checkpoints=lambda wc: f"{R}/checkpoints/{wc.method}",
    wildcard_constraints:
        method=M.one_of(M.ADORE),
    log:
        f"{R}/logs/train/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{method}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/train_adore.py"
