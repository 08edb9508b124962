# Reranking BM25's top-k: by a trained ColBERT (MaxSim) or bi-encoder (its stored vectors),
# the TCT-ColBERT paper's Table 3, or by the cross-encoder (the BERT-reranker row). The
# cross-encoder is trained on BM25 triples (or a pretrained one is saved as it is) and scores
# train (query, negative) pairs for SPLADE's distillation.


rule rerank_bm25:
    input:
        unpack(lambda wc: PLAN.rerank_inputs(wc.reranker)),
        run=[LAYOUT.run("bm25", split) for split in EVAL_SPLITS],
        corpus=LAYOUT.corpus(),
        queries=[LAYOUT.queries(split) for split in EVAL_SPLITS],
    output:
        run=[LAYOUT.run("{reranker}", split) for split in EVAL_SPLITS],
        trec=[LAYOUT.run("{reranker}", split, "trec") for split in EVAL_SPLITS],
    params:
        precision=config["precision"],
        settings=lambda wc: PLAN.rerank_settings(wc.reranker),
        vector_splits=[PLAN.query_vectors_split(split) for split in EVAL_SPLITS],
    wildcard_constraints:
        reranker=methods.one_of(methods.names(run=methods.RERANK_RUN)),
    log:
        LAYOUT.log("rerank_bm25", "{reranker}", EVALUATED),
    benchmark:
        LAYOUT.benchmark("rerank_bm25", "{reranker}", EVALUATED)
    conda:
        GPU_ENV
    script:
        "../scripts/rerank.py"


use rule rerank_bm25 as rerank_bm25_split with:
    input:
        unpack(lambda wc: PLAN.rerank_inputs(wc.reranker)),
        run=[LAYOUT.run("bm25", "{split}")],
        corpus=LAYOUT.corpus(),
        queries=[LAYOUT.queries("{split}")],
    output:
        run=[LAYOUT.run("{reranker}", "{split}")],
        trec=[LAYOUT.run("{reranker}", "{split}", "trec")],
    params:
        vector_splits=lambda wc: [PLAN.query_vectors_split(wc.split)],
    wildcard_constraints:
        reranker=methods.one_of(methods.names(run=methods.RERANK_RUN)),
        split=methods.one_of(PLAN.single_run_splits()),
    log:
        LAYOUT.log("rerank_bm25", "{reranker}", "{split}"),
    benchmark:
        LAYOUT.benchmark("rerank_bm25", "{reranker}", "{split}")


use rule train_warmup as train_cross_encoder with:
    wildcard_constraints:
        method=methods.one_of(methods.trained(methods.CROSS_ENCODER)),


rule teacher_scores:
    input:
        model=LAYOUT.model("bert-reranker"),
        negatives=LAYOUT.negatives("{source}"),
        scored=lambda wc: PLAN.reusable_teacher_scores(wc.source),
        **LAYOUT.train_data(),
    output:
        LAYOUT.teacher_scores("{source}"),
    params:
        precision=config["precision"],
        depth=config["splade"]["teacher_depth"],
        settings=PLAN.rerank_settings("bert-reranker"),
    wildcard_constraints:
        source=methods.one_of(methods.negative_sources()),
    log:
        LAYOUT.log("teacher_scores", "{source}"),
    benchmark:
        LAYOUT.benchmark("teacher_scores", "{source}")
    conda:
        GPU_ENV
    script:
        "../scripts/teacher_scores.py"
