# Negatives for training: the top of a run on train queries, minus the judged positives.
# BM25 negatives come from the BM25 run; static hard negatives from the warm-up model's run.


rule mine_negatives:
    input:
        run=f"{R}/runs/{{source}}/train.parquet",
        qrels=TRAIN["qrels"],
    output:
        f"{R}/negatives/{{source}}.parquet",
    params:
        depth=config["negatives"]["depth"],
    wildcard_constraints:
        source=M.one_of(M.NEGATIVE_SOURCES),
    log:
        f"{R}/logs/mine_negatives/{{source}}.log",
    conda:
        CPU_ENV
    script:
        "../scripts/mine_negatives.py"
