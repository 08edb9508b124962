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
    log:
        LAYOUT.log("bm25_retrieve", "{split}"),
    benchmark:
        LAYOUT.benchmark("bm25_retrieve", "{split}")
    conda:
        CPU_ENV
    script:
        "../scripts/bm25_retrieve.py"
