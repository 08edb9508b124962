# Dense retrieval (STAR/ADORE paper, issue #3): warm-up bi-encoders, corpus encoding, faiss
# indexes and retrieval. Declared so the DAG is complete; the scripts land with issue #3.


rule train_warmup:
    input:
        corpus=f"{R}/data/corpus.parquet",
        **TRAIN,
        negatives=lambda wc: f"{R}/negatives/bm25.parquet" if wc.method == "bm25neg" else [],
    output:
        directory(f"{R}/models/{{method}}"),
    params:
        stage="warm-up dense training (In-Batch / Rand / BM25 Neg)",
        issue="issue #3",
    wildcard_constraints:
        method=M.one_of(M.WARMUP),
    log:
        f"{R}/logs/train/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{method}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule encode_corpus:
    input:
        model=f"{R}/models/{{method}}",
        corpus=f"{R}/data/corpus.parquet",
    output:
        directory(f"{R}/embeddings/{{method}}"),
    params:
        stage="corpus encoding",
        issue="issue #3",
    wildcard_constraints:
        method=M.one_of(M.BIENCODERS),
    log:
        f"{R}/logs/encode_corpus/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/encode_corpus/{{method}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule build_dense_index:
    input:
        f"{R}/embeddings/{{method}}",
    output:
        f"{R}/index/{{method}}/{{kind}}.faiss",
    params:
        stage="faiss index building (flat, PQ)",
        issue="issue #3",
    wildcard_constraints:
        method=M.one_of(M.BIENCODERS),
        kind=r"flat|pq\d+",
    log:
        f"{R}/logs/build_dense_index/{{method}}/{{kind}}.log",
    benchmark:
        f"{R}/benchmarks/build_dense_index/{{method}}/{{kind}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule dense_retrieve:
    input:
        model=f"{R}/models/{{method}}",
        index=f"{R}/index/{{method}}/flat.faiss",
        queries=f"{R}/data/queries/{{split}}.parquet",
    output:
        run=f"{R}/runs/{{method}}/{{split}}.parquet",
        trec=f"{R}/runs/{{method}}/{{split}}.trec",
    params:
        depth=run_depth,
        stage="dense retrieval",
        issue="issue #3",
    wildcard_constraints:
        method=M.one_of(M.BIENCODERS),
    log:
        f"{R}/logs/dense_retrieve/{{method}}/{{split}}.log",
    benchmark:
        f"{R}/benchmarks/dense_retrieve/{{method}}/{{split}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"
