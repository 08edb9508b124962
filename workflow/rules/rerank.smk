# Cross-encoder (issue #3 BERT-reranker row; teacher of SPLADE++): trained on train triples,
# reranks BM25 top-k and scores (query, negative) pairs for distillation.


rule train_cross_encoder:
    input:
        corpus=f"{R}/data/corpus.parquet",
        negatives=f"{R}/negatives/bm25.parquet",
        **TRAIN,
    output:
        directory(f"{R}/models/bert-reranker"),
    params:
        stage="cross-encoder training",
        issue="issue #3",
    log:
        f"{R}/logs/train/bert-reranker.log",
    benchmark:
        f"{R}/benchmarks/train/bert-reranker.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule cross_encoder_rerank:
    input:
        model=f"{R}/models/bert-reranker",
        run=f"{R}/runs/bm25/{{split}}.parquet",
        corpus=f"{R}/data/corpus.parquet",
        queries=f"{R}/data/queries/{{split}}.parquet",
    output:
        run=f"{R}/runs/bert-reranker/{{split}}.parquet",
        trec=f"{R}/runs/bert-reranker/{{split}}.trec",
    params:
        stage="cross-encoder reranking",
        issue="issue #3",
    log:
        f"{R}/logs/cross_encoder_rerank/{{split}}.log",
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule teacher_scores:
    input:
        model=f"{R}/models/bert-reranker",
        negatives=f"{R}/negatives/{{source}}.parquet",
        corpus=f"{R}/data/corpus.parquet",
        **TRAIN,
    output:
        f"{R}/teacher/cross-encoder-{{source}}.parquet",
    params:
        stage="cross-encoder teacher scores",
        issue="the SPLADE++ issue",
    wildcard_constraints:
        source=M.one_of(M.NEGATIVE_SOURCES),
    log:
        f"{R}/logs/teacher_scores/{{source}}.log",
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"
