# Zero-shot transfer (the SPLADE papers' BEIR column): the models trained on this dataset,
# evaluated untrained on each `transfer.targets` dataset. Each rule is this dataset's own rule
# with its files moved under results/<target>/transfer/<source>/ (irrepro.transfer); models are
# read from this dataset's folder, the target's data from its own data stage (data.smk).

TRANSFER = PLAN.transfer
ON_TARGET = TRANSFER.pattern
SOURCE_MODEL = LAYOUT.model("{method}")
TRANSFER_DEPTH = config["retrieval"]["depth"]


use rule bm25_index as transfer_bm25_index with:
    input:
        corpus=ON_TARGET.corpus(),
    output:
        directory(ON_TARGET.sparse_index("bm25")),
    params:
        bm25=TRANSFER.bm25_index_settings(PLAN.bm25_index_settings()),
    wildcard_constraints:
        **TRANSFER.wildcards(),
    log:
        ON_TARGET.log("bm25_index"),
    benchmark:
        ON_TARGET.benchmark("bm25_index")


use rule bm25_retrieve as transfer_bm25_retrieve with:
    input:
        index=ON_TARGET.sparse_index("bm25"),
        queries=ON_TARGET.queries("{split}"),
    output:
        run=ON_TARGET.run("bm25", "{split}"),
        trec=ON_TARGET.run("bm25", "{split}", "trec"),
    params:
        depth=TRANSFER_DEPTH,
    wildcard_constraints:
        **TRANSFER.wildcards(),
    log:
        ON_TARGET.log("bm25_retrieve", "{split}"),
    benchmark:
        ON_TARGET.benchmark("bm25_retrieve", "{split}")


use rule encode_corpus as transfer_encode_corpus with:
    input:
        model=SOURCE_MODEL,
        corpus=ON_TARGET.corpus(),
        queries=lambda wc: list(TRANSFER.encoded_queries(wc.target).values()),
    output:
        directory(ON_TARGET.embeddings("{method}")),
    params:
        work_dir=lambda wc: TRANSFER.layout(wc.target).embeddings_work(wc.method),
        query_splits=lambda wc: list(TRANSFER.encoded_queries(wc.target)),
    wildcard_constraints:
        **TRANSFER.wildcards(method=TRANSFER.document_models()),
    log:
        ON_TARGET.log("encode_corpus", "{method}"),
    benchmark:
        ON_TARGET.benchmark("encode_corpus", "{method}")


use rule build_dense_index as transfer_build_dense_index with:
    input:
        ON_TARGET.embeddings("{method}"),
    output:
        index=ON_TARGET.index("{method}", "{kind}"),
        stats=ON_TARGET.index_stats("{method}", "{kind}"),
    wildcard_constraints:
        **TRANSFER.wildcards(method=TRANSFER.document_models(), kind=TRANSFER.index_kinds()),
    log:
        ON_TARGET.log("build_dense_index", "{method}", "{kind}"),
    benchmark:
        ON_TARGET.benchmark("build_dense_index", "{method}", "{kind}")


use rule dense_retrieve as transfer_dense_retrieve with:
    input:
        unpack(lambda wc: TRANSFER.dense_search_files(wc.method, wc.target)),
        queries=[ON_TARGET.queries("{split}")],
    output:
        run=[ON_TARGET.run("{method}", "{split}")],
        trec=[ON_TARGET.run("{method}", "{split}", "trec")],
    params:
        depth=[TRANSFER_DEPTH],
        vector_splits=lambda wc: [wc.split],
    wildcard_constraints:
        **TRANSFER.wildcards(method=TRANSFER.of_run(methods.DENSE_RUN)),
    log:
        ON_TARGET.log("dense_retrieve", "{method}", "{split}"),
    benchmark:
        ON_TARGET.benchmark("dense_retrieve", "{method}", "{split}")


use rule splade_index as transfer_splade_index with:
    priority: 0  # not on the demo's longest path (common.smk)
    input:
        model=SOURCE_MODEL,
        corpus=ON_TARGET.corpus(),
        queries=lambda wc: list(TRANSFER.encoded_queries(wc.target).values()),
    output:
        directory(ON_TARGET.sparse_index("{method}")),
    params:
        query_splits=lambda wc: list(TRANSFER.encoded_queries(wc.target)),
    wildcard_constraints:
        **TRANSFER.wildcards(method=TRANSFER.of_run(methods.SPLADE_RUN)),
    log:
        ON_TARGET.log("splade_index", "{method}"),
    benchmark:
        ON_TARGET.benchmark("splade_index", "{method}")


use rule splade_retrieve as transfer_splade_retrieve with:
    input:
        index=ON_TARGET.sparse_index("{method}"),
        queries=[ON_TARGET.queries("{split}")],
    output:
        run=[ON_TARGET.run("{method}", "{split}")],
        trec=[ON_TARGET.run("{method}", "{split}", "trec")],
        efficiency=[ON_TARGET.efficiency("{method}", "{split}")],
    params:
        depth=[TRANSFER_DEPTH],
        vector_splits=lambda wc: [wc.split],
    wildcard_constraints:
        **TRANSFER.wildcards(method=TRANSFER.of_run(methods.SPLADE_RUN)),
    log:
        ON_TARGET.log("splade_retrieve", "{method}", "{split}"),
    benchmark:
        ON_TARGET.benchmark("splade_retrieve", "{method}", "{split}")


use rule evaluate as transfer_evaluate with:
    input:
        run=[ON_TARGET.run("{method}", "{split}")],
        qrels=[ON_TARGET.qrels("{split}")],
    output:
        per_query=[ON_TARGET.metrics("{method}", "{split}", "parquet")],
        summary=[ON_TARGET.metrics("{method}", "{split}")],
    params:
        splits=lambda wc: [wc.split],
        relevance_level=lambda wc: [TRANSFER.relevance_level(wc.target, wc.split)],
    wildcard_constraints:
        **TRANSFER.wildcards(method=TRANSFER.methods),
    log:
        ON_TARGET.log("evaluate", "{method}", "{split}"),
