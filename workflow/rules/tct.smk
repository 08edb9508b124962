# TCT-ColBERT (issue #4): ColBERT teacher, bi-encoder students distilled inside each training
# step, reranking of BM25 top-k by the teacher and by each student.


rule train_colbert:
    input:
        corpus=f"{R}/data/corpus.parquet",
        negatives=f"{R}/negatives/bm25.parquet",
        **TRAIN,
    output:
        directory(f"{R}/models/colbert"),
    params:
        stage="ColBERT teacher training",
        issue="issue #4",
    log:
        f"{R}/logs/train/colbert.log",
    benchmark:
        f"{R}/benchmarks/train/colbert.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule train_tct:
    input:
        teacher=lambda wc: [] if wc.student == "poolavg" else f"{R}/models/colbert",
        corpus=f"{R}/data/corpus.parquet",
        negatives=f"{R}/negatives/bm25.parquet",
        **TRAIN,
    output:
        directory(f"{R}/models/{{student}}"),
    params:
        stage="TCT-ColBERT student training",
        issue="issue #4",
    wildcard_constraints:
        student=M.one_of(M.TCT_STUDENTS),
    log:
        f"{R}/logs/train/{{student}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{student}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule rerank_bm25:
    input:
        model=lambda wc: f"{R}/models/{wc.reranker.removesuffix('-rerank')}",
        run=f"{R}/runs/bm25/{{split}}.parquet",
        corpus=f"{R}/data/corpus.parquet",
        queries=f"{R}/data/queries/{{split}}.parquet",
    output:
        run=f"{R}/runs/{{reranker}}/{{split}}.parquet",
        trec=f"{R}/runs/{{reranker}}/{{split}}.trec",
    params:
        stage="reranking BM25 top-k (ColBERT MaxSim or bi-encoder)",
        issue="issue #4",
    wildcard_constraints:
        reranker=M.one_of(["colbert", *(f"{s}-rerank" for s in M.TCT_STUDENTS)]),
    log:
        f"{R}/logs/rerank_bm25/{{reranker}}/{{split}}.log",
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"
