# Dense-sparse hybrid (TCT-ColBERT Eq. 7, issue #4): alpha tuned on train queries, then fused.


rule tune_fusion:
    input:
        dense=f"{R}/runs/{{dense}}/train.parquet",
        sparse=f"{R}/runs/{{sparse}}/train.parquet",
        qrels=TRAIN["qrels"],
    output:
        f"{R}/fusion/{{dense}}-{{sparse}}/alpha.json",
    params:
        stage="fusion weight tuning",
        issue="issue #4",
    wildcard_constraints:
        dense=M.one_of(M.BIENCODERS),
        sparse=M.one_of(["bm25", *M.SPLADE]),
    log:
        f"{R}/logs/tune_fusion/{{dense}}-{{sparse}}.log",
    conda:
        CPU_ENV
    script:
        "../scripts/not_implemented.py"


rule fuse:
    input:
        dense=f"{R}/runs/{{dense}}/{{split}}.parquet",
        sparse=f"{R}/runs/{{sparse}}/{{split}}.parquet",
        alpha=f"{R}/fusion/{{dense}}-{{sparse}}/alpha.json",
    output:
        run=f"{R}/runs/hybrid-{{dense}}-{{sparse}}/{{split}}.parquet",
        trec=f"{R}/runs/hybrid-{{dense}}-{{sparse}}/{{split}}.trec",
    params:
        stage="hybrid fusion",
        issue="issue #4",
    wildcard_constraints:
        dense=M.one_of(M.BIENCODERS),
        sparse=M.one_of(["bm25", *M.SPLADE]),
    log:
        f"{R}/logs/fuse/{{dense}}-{{sparse}}/{{split}}.log",
    conda:
        CPU_ENV
    script:
        "../scripts/not_implemented.py"
