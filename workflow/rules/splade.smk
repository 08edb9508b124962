# SPLADE++ (its own issue): sparse expansion models, their inverted index and retrieval.
# splade-max: in-batch NLL on BM25 negatives; distilsplade: MarginMSE to cross-encoder scores of
# BM25 negatives; EnsembleDistil/SelfDistil: negatives mined by splade-max, teacher-scored.
# What each trains on is in the method registry (irrepro/methods.py).


rule train_splade:
    input:
        unpack(lambda wc: PLAN.train_inputs(wc.method)),
    output:
        directory(LAYOUT.model("{method}")),
    params:
        stage="SPLADE training",
        issue="the SPLADE++ issue",
    wildcard_constraints:
        method=methods.one_of(methods.names(family=methods.SPLADE)),
    log:
        LAYOUT.log("train", "{method}"),
    benchmark:
        LAYOUT.benchmark("train", "{method}")
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule splade_index:
    input:
        model=LAYOUT.model("{method}"),
        corpus=LAYOUT.corpus(),
    output:
        directory(LAYOUT.sparse_index("{method}")),
    params:
        stage="SPLADE inverted index",
        issue="the SPLADE++ issue",
    wildcard_constraints:
        method=methods.one_of(methods.names(family=methods.SPLADE)),
    log:
        LAYOUT.log("splade_index", "{method}"),
    benchmark:
        LAYOUT.benchmark("splade_index", "{method}")
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule splade_retrieve:
    input:
        model=LAYOUT.model("{method}"),
        index=LAYOUT.sparse_index("{method}"),
        queries=LAYOUT.queries("{split}"),
    output:
        run=LAYOUT.run("{method}", "{split}"),
        trec=LAYOUT.run("{method}", "{split}", "trec"),
    params:
        depth=lambda wc: PLAN.run_depth(wc.split),
        stage="SPLADE retrieval",
        issue="the SPLADE++ issue",
    wildcard_constraints:
        method=methods.one_of(methods.names(family=methods.SPLADE)),
    log:
        LAYOUT.log("splade_retrieve", "{method}", "{split}"),
    conda:
        CPU_ENV
    script:
        "../scripts/not_implemented.py"
