# Dense-sparse hybrids (TCT-ColBERT Eq. 7) for any pair `hybrid-<dense>-<sparse>` in `methods`:
# alpha tuned on sampled train queries (a split of its own), then the fused runs, and the
# per-query latency of the hybrid's stages (the paper's Table 2).

HYBRID = methods.hybrid_name("{dense}", "{sparse}")


wildcard_constraints:
    dense=methods.one_of(methods.names(run=methods.DENSE_RUN)),
    sparse=methods.one_of(methods.names(run=methods.SPARSE_KINDS)),


rule sample_tune_queries:
    input:
        queries=LAYOUT.queries("train"),
        qrels=LAYOUT.qrels("train"),
    output:
        queries=LAYOUT.queries(PLAN.tune_split),
        qrels=LAYOUT.qrels(PLAN.tune_split),
    params:
        sample_size=config["fusion"]["tune_queries"],
        seed=config["fusion"]["seed"],
    log:
        LAYOUT.log("sample_tune_queries"),
    conda:
        CPU_ENV
    script:
        "../scripts/sample_tune_queries.py"


rule tune_fusion:
    input:
        dense=LAYOUT.run("{dense}", PLAN.tune_split),
        sparse=LAYOUT.run("{sparse}", PLAN.tune_split),
        qrels=LAYOUT.qrels(PLAN.tune_split),
    output:
        LAYOUT.alpha("{dense}", "{sparse}"),
    params:
        grid=config["fusion"]["alpha"],
        metric=config["fusion"]["metric"],
        normalize=config["fusion"]["normalize"],
    log:
        LAYOUT.log("tune_fusion", "{dense}-{sparse}"),
    conda:
        CPU_ENV
    script:
        "../scripts/tune_fusion.py"


rule fuse:
    input:
        dense=LAYOUT.run("{dense}", "{split}"),
        sparse=LAYOUT.run("{sparse}", "{split}"),
        alpha=LAYOUT.alpha("{dense}", "{sparse}"),
    output:
        run=LAYOUT.run(HYBRID, "{split}"),
        trec=LAYOUT.run(HYBRID, "{split}", "trec"),
    params:
        depth=config["retrieval"]["depth"],
    log:
        LAYOUT.log("fuse", "{dense}-{sparse}", "{split}"),
    conda:
        CPU_ENV
    script:
        "../scripts/fuse.py"


rule measure_latency:
    input:
        unpack(lambda wc: PLAN.latency_inputs(wc.dense, wc.sparse)),
    output:
        LAYOUT.latency(HYBRID),
    params:
        precision=config["precision"],
        depth=config["retrieval"]["depth"],
        query_length=lambda wc: PLAN.encoder_lengths(wc.dense)["query_length"],
        sample_size=config["fusion"]["latency_queries"],
    log:
        LAYOUT.log("measure_latency", "{dense}-{sparse}"),
    conda:
        GPU_ENV
    script:
        "../scripts/measure_latency.py"
