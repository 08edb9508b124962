# Reranking BM25's top-k: by a trained ColBERT (MaxSim) or bi-encoder (its stored vectors),
# the TCT-ColBERT paper's Table 3; and the cross-encoder (the BERT-reranker row, teacher of
# SPLADE++: declared, not implemented yet), which also scores (query, negative) pairs.


rule rerank_bm25:
    input:
        unpack(lambda wc: PLAN.rerank_inputs(wc.reranker)),
        run=LAYOUT.run("bm25", "{split}"),
        corpus=LAYOUT.corpus(),
        queries=LAYOUT.queries("{split}"),
    output:
        run=LAYOUT.run("{reranker}", "{split}"),
        trec=LAYOUT.run("{reranker}", "{split}", "trec"),
    params:
        settings=lambda wc: PLAN.rerank_settings(wc.reranker),
    wildcard_constraints:
        reranker=methods.one_of(methods.names(run=methods.RERANK_RUN)),
    log:
        LAYOUT.log("rerank_bm25", "{reranker}", "{split}"),
    benchmark:
        LAYOUT.benchmark("rerank_bm25", "{reranker}", "{split}")
    conda:
        GPU_ENV
    script:
        "../scripts/rerank.py"


rule train_cross_encoder:
    input:
        unpack(lambda wc: PLAN.train_inputs("bert-reranker")),
    output:
        directory(LAYOUT.model("bert-reranker")),
    params:
        stage="cross-encoder training",
        issue="issue #3",
    log:
        LAYOUT.log("train", "bert-reranker"),
    benchmark:
        LAYOUT.benchmark("train", "bert-reranker")
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule cross_encoder_rerank:
    input:
        model=LAYOUT.model("bert-reranker"),
        run=LAYOUT.run("bm25", "{split}"),
        corpus=LAYOUT.corpus(),
        queries=LAYOUT.queries("{split}"),
    output:
        run=LAYOUT.run("bert-reranker", "{split}"),
        trec=LAYOUT.run("bert-reranker", "{split}", "trec"),
    params:
        stage="cross-encoder reranking",
        issue="issue #3",
    log:
        LAYOUT.log("cross_encoder_rerank", "{split}"),
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule teacher_scores:
    input:
        model=LAYOUT.model("bert-reranker"),
        negatives=LAYOUT.negatives("{source}"),
        **LAYOUT.train_data(),
    output:
        LAYOUT.teacher_scores("{source}"),
    params:
        stage="cross-encoder teacher scores",
        issue="the SPLADE++ issue",
    wildcard_constraints:
        source=methods.one_of(methods.negative_sources()),
    log:
        LAYOUT.log("teacher_scores", "{source}"),
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"
