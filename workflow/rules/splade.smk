# SPLADE v2 / SPLADE++: sparse expansion models, their inverted index and retrieval.
# splade-max: in-batch NLL on BM25 negatives; distilsplade: MarginMSE to cross-encoder scores of
# BM25 negatives; EnsembleDistil: negatives pooled from the runs of `splade.ensemble`;
# SelfDistil: negatives mined by distilsplade; both teacher-scored (the registry says which).
# splade-released: a released checkpoint, saved as it is. Settings: the `splade` section.


use rule train_warmup as train_splade with:
    priority: FIRST_ON_LONGEST_PATH
    wildcard_constraints:
        method=methods.one_of(
            methods.trained(methods.SPLADE) + methods.trained(methods.SPLADE_RELEASED)
        ),


rule splade_index:
    priority: FIRST_ON_LONGEST_PATH
    input:
        model=LAYOUT.model("{method}"),
        corpus=LAYOUT.corpus(),
        queries=list(PLAN.encoded_queries().values()),
    output:
        directory(LAYOUT.sparse_index("{method}")),
    params:
        precision=config["precision"],
        settings=lambda wc: PLAN.sparse_settings(wc.method),
        query_splits=list(PLAN.encoded_queries()),
    wildcard_constraints:
        method=methods.one_of(methods.names(run=methods.SPLADE_RUN)),
    log:
        LAYOUT.log("splade_index", "{method}"),
    benchmark:
        LAYOUT.benchmark("splade_index", "{method}")
    conda:
        GPU_ENV
    script:
        "../scripts/splade_index.py"


rule splade_retrieve:
    input:
        index=LAYOUT.sparse_index("{method}"),
        queries=[LAYOUT.queries(split) for split in EVAL_SPLITS],
    output:
        run=[LAYOUT.run("{method}", split) for split in EVAL_SPLITS],
        trec=[LAYOUT.run("{method}", split, "trec") for split in EVAL_SPLITS],
        efficiency=[LAYOUT.efficiency("{method}", split) for split in EVAL_SPLITS],
    params:
        depth=[PLAN.run_depth(split) for split in EVAL_SPLITS],
        vector_splits=[PLAN.query_vectors_split(split) for split in EVAL_SPLITS],
    wildcard_constraints:
        method=methods.one_of(methods.names(run=methods.SPLADE_RUN)),
    log:
        LAYOUT.log("splade_retrieve", "{method}", EVALUATED),
    benchmark:
        LAYOUT.benchmark("splade_retrieve", "{method}", EVALUATED)
    conda:
        CPU_ENV
    script:
        "../scripts/splade_retrieve.py"


use rule splade_retrieve as splade_retrieve_split with:
    priority: FIRST_ON_LONGEST_PATH
    input:
        index=LAYOUT.sparse_index("{method}"),
        queries=[LAYOUT.queries("{split}")],
    output:
        run=[LAYOUT.run("{method}", "{split}")],
        trec=[LAYOUT.run("{method}", "{split}", "trec")],
        efficiency=[LAYOUT.efficiency("{method}", "{split}")],
    params:
        depth=lambda wc: [PLAN.run_depth(wc.split)],
        vector_splits=lambda wc: [PLAN.query_vectors_split(wc.split)],
    wildcard_constraints:
        method=methods.one_of(methods.names(run=methods.SPLADE_RUN)),
        split=methods.one_of(PLAN.single_run_splits()),
    log:
        LAYOUT.log("splade_retrieve", "{method}", "{split}"),
    benchmark:
        LAYOUT.benchmark("splade_retrieve", "{method}", "{split}")
