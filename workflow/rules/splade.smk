# SPLADE++ (its own issue): sparse expansion models, their inverted index and retrieval.
# splade-max: in-batch NLL on BM25 negatives; distilsplade: MarginMSE to cross-encoder scores of
# BM25 negatives; EnsembleDistil/SelfDistil: negatives mined by splade-max, teacher-scored.

SPLADE_INPUTS = {
    "splade-max": {"negatives": f"{R}/negatives/bm25.parquet"},
    "distilsplade": {"teacher": f"{R}/teacher/cross-encoder-bm25.parquet"},
    "splade-ensembledistil": {"teacher": f"{R}/teacher/cross-encoder-splade-max.parquet"},
    "splade-selfdistil": {"teacher": f"{R}/teacher/cross-encoder-splade-max.parquet"},
}


rule train_splade:
    input:
        unpack(lambda wc: SPLADE_INPUTS[wc.method]),
        corpus=f"{R}/data/corpus.parquet",
        **TRAIN,
    output:
        directory(f"{R}/models/{{method}}"),
    params:
        stage="SPLADE training",
        issue="the SPLADE++ issue",
    wildcard_constraints:
        method=M.one_of(M.SPLADE),
    log:
        f"{R}/logs/train/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{method}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule splade_index:
    input:
        model=f"{R}/models/{{method}}",
        corpus=f"{R}/data/corpus.parquet",
    output:
        directory(f"{R}/index/{{method}}"),
    params:
        stage="SPLADE inverted index",
        issue="the SPLADE++ issue",
    wildcard_constraints:
        method=M.one_of(M.SPLADE),
    log:
        f"{R}/logs/splade_index/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/splade_index/{{method}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule splade_retrieve:
    input:
        model=f"{R}/models/{{method}}",
        index=f"{R}/index/{{method}}",
        queries=f"{R}/data/queries/{{split}}.parquet",
    output:
        run=f"{R}/runs/{{method}}/{{split}}.parquet",
        trec=f"{R}/runs/{{method}}/{{split}}.trec",
    params:
        depth=run_depth,
        stage="SPLADE retrieval",
        issue="the SPLADE++ issue",
    wildcard_constraints:
        method=M.one_of(M.SPLADE),
    log:
        f"{R}/logs/splade_retrieve/{{method}}/{{split}}.log",
    conda:
        CPU_ENV
    script:
        "../scripts/not_implemented.py"
