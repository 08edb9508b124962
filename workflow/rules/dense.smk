# Dense retrieval (STAR/ADORE paper): warm-up bi-encoders, corpus encoding, faiss indexes and
# retrieval. Settings come from the `dense` config section; GPUs and threads from profiles.


rule train_warmup:
    input:
        corpus=f"{R}/data/corpus.parquet",
        **TRAIN,
        negatives=lambda wc: f"{R}/negatives/bm25.parquet" if wc.method == "bm25neg" else [],
    output:
        directory(f"{R}/models/{{method}}"),
    params:
        encoder=config["dense"]["encoder"],
        training=lambda wc: dense_training(wc.method),
        checkpoints=lambda wc: f"{R}/checkpoints/{wc.method}",
    wildcard_constraints:
        method=M.one_of(M.WARMUP),
    log:
        f"{R}/logs/train/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{method}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/train_biencoder.py"


rule encode_corpus:
    input:
        model=f"{R}/models/{{method}}",
        corpus=f"{R}/data/corpus.parquet",
    output:
        directory(f"{R}/embeddings/{{method}}"),
    params:
        max_length=lambda wc: encoder_config(wc.method)["passage_length"],
        batch_size=config["dense"]["encode_batch_size"],
        shard_size=config["dense"]["shard_size"],
        work_dir=lambda wc: f"{R}/work/embeddings/{wc.method}",
    wildcard_constraints:
        method=M.one_of(M.BIENCODERS),
    log:
        f"{R}/logs/encode_corpus/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/encode_corpus/{{method}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/encode_corpus.py"


rule build_dense_index:
    input:
        f"{R}/embeddings/{{method}}",
    output:
        index=f"{R}/index/{{method}}/{{kind}}.faiss",
        stats=f"{R}/index/{{method}}/{{kind}}.json",
    wildcard_constraints:
        method=M.one_of(M.BIENCODERS),
        kind=r"flat|pq\d+|ivf\d+-(flat|pq\d+)",
    log:
        f"{R}/logs/build_dense_index/{{method}}/{{kind}}.log",
    benchmark:
        f"{R}/benchmarks/build_dense_index/{{method}}/{{kind}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/build_dense_index.py"


rule dense_retrieve:
    input:
        unpack(dense_retrieval_inputs),
        queries=f"{R}/data/queries/{{split}}.parquet",
    output:
        run=f"{R}/runs/{{method}}/{{split}}.parquet",
        trec=f"{R}/runs/{{method}}/{{split}}.trec",
    params:
        depth=run_depth,
        max_length=lambda wc: encoder_config(wc.method)["query_length"],
    wildcard_constraints:
        method=M.one_of(M.DENSE_RUNS),
    log:
        f"{R}/logs/dense_retrieve/{{method}}/{{split}}.log",
    benchmark:
        f"{R}/benchmarks/dense_retrieve/{{method}}/{{split}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/dense_retrieve.py"
