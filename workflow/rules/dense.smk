# Dense retrieval (STAR/ADORE paper): warm-up bi-encoders, corpus encoding, faiss indexes and
# retrieval. Settings come from the `dense` config section; GPUs and threads from profiles.


rule train_warmup:
    input:
        unpack(lambda wc: PLAN.train_inputs(wc.method)),
    output:
        directory(LAYOUT.model("{method}")),
    params:
        settings=lambda wc: PLAN.training(wc.method),
        checkpoints=lambda wc: LAYOUT.checkpoints(wc.method),
    wildcard_constraints:
        method=methods.one_of(methods.trained(methods.WARMUP)),
    log:
        LAYOUT.log("train", "{method}"),
    benchmark:
        LAYOUT.benchmark("train", "{method}")
    conda:
        GPU_ENV
    script:
        "../scripts/train.py"


rule encode_corpus:
    input:
        model=LAYOUT.model("{method}"),
        corpus=LAYOUT.corpus(),
        queries=list(PLAN.encoded_queries().values()),
    output:
        directory(LAYOUT.embeddings("{method}")),
    params:
        precision=config["precision"],
        max_length=lambda wc: PLAN.encoder_lengths(wc.method)["passage_length"],
        query_length=lambda wc: PLAN.encoder_lengths(wc.method)["query_length"],
        query_splits=list(PLAN.encoded_queries()),
        shard_size=config["dense"]["shard_size"],
        work_dir=lambda wc: LAYOUT.embeddings_work(wc.method),
    wildcard_constraints:
        method=methods.one_of(methods.biencoders()),
    log:
        LAYOUT.log("encode_corpus", "{method}"),
    benchmark:
        LAYOUT.benchmark("encode_corpus", "{method}")
    conda:
        GPU_ENV
    script:
        "../scripts/encode_corpus.py"


rule build_dense_index:
    input:
        LAYOUT.embeddings("{method}"),
    output:
        index=LAYOUT.index("{method}", "{kind}"),
        stats=LAYOUT.index_stats("{method}", "{kind}"),
    wildcard_constraints:
        method=methods.one_of(methods.biencoders()),
        kind=r"flat|pq\d+|ivf\d+-(flat|pq\d+)",
    log:
        LAYOUT.log("build_dense_index", "{method}", "{kind}"),
    benchmark:
        LAYOUT.benchmark("build_dense_index", "{method}", "{kind}")
    conda:
        GPU_ENV
    script:
        "../scripts/build_dense_index.py"


rule dense_retrieve:
    input:
        unpack(lambda wc: PLAN.dense_search_files(wc.method)),
        queries=[LAYOUT.queries(split) for split in EVAL_SPLITS],
    output:
        run=[LAYOUT.run("{method}", split) for split in EVAL_SPLITS],
        trec=[LAYOUT.run("{method}", split, "trec") for split in EVAL_SPLITS],
    params:
        precision=config["precision"],
        depth=[PLAN.run_depth(split) for split in EVAL_SPLITS],
        vector_splits=[PLAN.query_vectors_split(split) for split in EVAL_SPLITS],
        max_length=lambda wc: PLAN.encoder_lengths(wc.method)["query_length"],
    wildcard_constraints:
        method=methods.one_of(methods.names(run=methods.DENSE_RUN)),
    log:
        LAYOUT.log("dense_retrieve", "{method}", EVALUATED),
    benchmark:
        LAYOUT.benchmark("dense_retrieve", "{method}", EVALUATED)
    conda:
        GPU_ENV
    script:
        "../scripts/dense_retrieve.py"


use rule dense_retrieve as dense_retrieve_split with:
    input:
        unpack(lambda wc: PLAN.dense_search_files(wc.method)),
        queries=[LAYOUT.queries("{split}")],
    output:
        run=[LAYOUT.run("{method}", "{split}")],
        trec=[LAYOUT.run("{method}", "{split}", "trec")],
    params:
        depth=lambda wc: [PLAN.run_depth(wc.split)],
        vector_splits=lambda wc: [PLAN.query_vectors_split(wc.split)],
    wildcard_constraints:
        method=methods.one_of(methods.names(run=methods.DENSE_RUN)),
        split=methods.one_of(PLAN.single_run_splits()),
    log:
        LAYOUT.log("dense_retrieve", "{method}", "{split}"),
    benchmark:
        LAYOUT.benchmark("dense_retrieve", "{method}", "{split}")
