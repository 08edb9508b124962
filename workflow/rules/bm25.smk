# BM25 (bm25s): index and top-k runs for every split (train runs feed negatives.smk).


rule bm25_index:
    input:
        corpus=LAYOUT.corpus(),
    output:
        directory(LAYOUT.sparse_index("bm25")),
    params:
        bm25=PLAN.bm25_index_settings(),
    log:
        LAYOUT.log("bm25_index"),
    benchmark:
        LAYOUT.benchmark("bm25_index")
    conda:
        CPU_ENV
    script:
        "../scripts/bm25_index.py"


rule bm25_retrieve:
    priority: UNBLOCKS_LONG_JOBS
    input:
        index=LAYOUT.sparse_index("bm25"),
        queries=LAYOUT.queries("{split}"),
    output:
        run=LAYOUT.run("bm25", "{split}"),
        trec=LAYOUT.run("bm25", "{split}", "trec"),
    params:
        depth=lambda wc: PLAN.run_depth(wc.split),
    wildcard_constraints:
        split=methods.one_of(PLAN.bm25_splits(threaded=False)),
    log:
        LAYOUT.log("bm25_retrieve", "{split}"),
    benchmark:
        LAYOUT.benchmark("bm25_retrieve", "{split}")
    conda:
        CPU_ENV
    script:
        "../scripts/bm25_retrieve.py"


# The train run feeds every model's negatives (MS MARCO: 502,939 queries), so the profiles give
# it their threads; the other runs get one, so that they need not wait for every core to be free
# at once (on the demo they had waited for its last minute, and the rerankers with them).
use rule bm25_retrieve as bm25_retrieve_train with:
    wildcard_constraints:
        split=methods.one_of(PLAN.bm25_splits(threaded=True)),
