# TCT-ColBERT: the ColBERT teacher, and bi-encoder students started from it and distilled from
# it inside each training step. Their reranking of BM25 (Table 3) is in rerank.smk.


use rule train_warmup as train_colbert with:
    wildcard_constraints:
        method=methods.one_of(methods.trained(methods.COLBERT)),


use rule train_warmup as train_tct with:
    wildcard_constraints:
        method=methods.one_of(methods.trained(methods.TCT_STUDENTS)),


# ColBERT end to end: the trained teacher's passage token vectors, a faiss index over them
# (tct.end_to_end.index), and retrieval by the query tokens' nearest passage tokens plus exact
# MaxSim over those candidates.


rule encode_colbert_tokens:
    input:
        model=LAYOUT.model("colbert"),
        corpus=LAYOUT.corpus(),
    output:
        directory(LAYOUT.token_vectors("colbert")),
    params:
        precision=config["precision"],
        passage_length=config["tct"]["encoder"]["passage_length"],
        shard_size=config["tct"]["end_to_end"]["shard_size"],
        work_dir=LAYOUT.token_vectors_work("colbert"),
    log:
        LAYOUT.log("encode_colbert_tokens", "colbert"),
    benchmark:
        LAYOUT.benchmark("encode_colbert_tokens", "colbert")
    conda:
        GPU_ENV
    script:
        "../scripts/encode_colbert_tokens.py"


rule build_token_index:
    input:
        LAYOUT.token_vectors("colbert"),
    output:
        index=LAYOUT.token_index("colbert", "{kind}"),
        stats=LAYOUT.token_index("colbert", "{kind}", "json"),
    wildcard_constraints:
        kind=r"flat|pq\d+|ivf\d+-(flat|pq\d+)",
    log:
        LAYOUT.log("build_token_index", "colbert", "{kind}"),
    benchmark:
        LAYOUT.benchmark("build_token_index", "colbert", "{kind}")
    conda:
        GPU_ENV
    script:
        "../scripts/build_token_index.py"


rule colbert_retrieve:
    input:
        model=LAYOUT.model("colbert"),
        tokens=LAYOUT.token_vectors("colbert"),
        index=LAYOUT.token_index("colbert", config["tct"]["end_to_end"]["index"]),
        queries=[LAYOUT.queries(split) for split in EVAL_SPLITS],
    output:
        run=[LAYOUT.run("colbert", split) for split in EVAL_SPLITS],
        trec=[LAYOUT.run("colbert", split, "trec") for split in EVAL_SPLITS],
        timing=[LAYOUT.retrieval_timing("colbert", split) for split in EVAL_SPLITS],
    params:
        precision=config["precision"],
        depth=[PLAN.run_depth(split) for split in EVAL_SPLITS],
        settings=PLAN.colbert_search_settings(),
    log:
        LAYOUT.log("colbert_retrieve", "colbert", EVALUATED),
    benchmark:
        LAYOUT.benchmark("colbert_retrieve", "colbert", EVALUATED)
    conda:
        GPU_ENV
    script:
        "../scripts/colbert_retrieve.py"


use rule colbert_retrieve as colbert_retrieve_split with:
    input:
        model=LAYOUT.model("colbert"),
        tokens=LAYOUT.token_vectors("colbert"),
        index=LAYOUT.token_index("colbert", config["tct"]["end_to_end"]["index"]),
        queries=[LAYOUT.queries("{split}")],
    output:
        run=[LAYOUT.run("colbert", "{split}")],
        trec=[LAYOUT.run("colbert", "{split}", "trec")],
        timing=[LAYOUT.retrieval_timing("colbert", "{split}")],
    params:
        depth=lambda wc: [PLAN.run_depth(wc.split)],
    wildcard_constraints:
        split=methods.one_of(PLAN.single_run_splits()),
    log:
        LAYOUT.log("colbert_retrieve", "colbert", "{split}"),
    benchmark:
        LAYOUT.benchmark("colbert_retrieve", "colbert", "{split}")
