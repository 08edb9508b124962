# Dense-sparse hybrids (TCT-ColBERT Eq. 7) for any pair `hybrid-<dense>-<sparse>` in `methods`:
# alpha tuned on sampled train queries (a split of its own), then the fused runs, and the
# per-query latency of the hybrid's stages (the paper's Table 2).


rule sample_tune_queries:
    input:
        **TRAIN,
    output:
        queries=f"{R}/data/queries/{PLAN.tune_split}.parquet",
        qrels=f"{R}/data/qrels/{PLAN.tune_split}.parquet",
    params:
        sample_size=config["fusion"]["tune_queries"],
        seed=config["fusion"]["seed"],
    log:
        f"{R}/logs/sample_tune_queries.log",
    conda:
        CPU_ENV
    script:
        "../scripts/sample_tune_queries.py"


rule tune_fusion:
    input:
        dense=f"{R}/runs/{{dense}}/{PLAN.tune_split}.parquet",
        sparse=f"{R}/runs/{{sparse}}/{PLAN.tune_split}.parquet",
        qrels=f"{R}/data/qrels/{PLAN.tune_split}.parquet",
    output:
        f"{R}/fusion/{{dense}}-{{sparse}}/alpha.json",
    params:
        grid=config["fusion"]["alpha"],
        metric=config["fusion"]["metric"],
    wildcard_constraints:
        dense=M.one_of(M.DENSE_RUNS),
        sparse=M.one_of(M.SPARSE_RUNS),
    log:
        f"{R}/logs/tune_fusion/{{dense}}-{{sparse}}.log",
    conda:
        CPU_ENV
    script:
        "../scripts/tune_fusion.py"


rule fuse:
    input:
        dense=f"{R}/runs/{{dense}}/{{split}}.parquet",
        sparse=f"{R}/runs/{{sparse}}/{{split}}.parquet",
        alpha=f"{R}/fusion/{{dense}}-{{sparse}}/alpha.json",
    output:
        run=f"{R}/runs/hybrid-{{dense}}-{{sparse}}/{{split}}.parquet",
        trec=f"{R}/runs/hybrid-{{dense}}-{{sparse}}/{{split}}.trec",
    params:
        depth=config["retrieval"]["depth"],
    wildcard_constraints:
        dense=M.one_of(M.DENSE_RUNS),
        sparse=M.one_of(M.SPARSE_RUNS),
    log:
        f"{R}/logs/fuse/{{dense}}-{{sparse}}/{{split}}.log",
    conda:
        CPU_ENV
    script:
        "../scripts/fuse.py"


rule measure_latency:
    input:
        unpack(latency_inputs),
        alpha=f"{R}/fusion/{{dense}}-{{sparse}}/alpha.json",
    output:
        f"{R}/latency/hybrid-{{dense}}-{{sparse}}.json",
    params:
        depth=config["retrieval"]["depth"],
        query_length=lambda wc: encoder_config(wc.dense)["query_length"],
        sample_size=config["fusion"]["latency_queries"],
    wildcard_constraints:
        dense=M.one_of(M.DENSE_RUNS),
        sparse=M.one_of(M.SPARSE_RUNS),
    log:
        f"{R}/logs/measure_latency/{{dense}}-{{sparse}}.log",
    conda:
        GPU_ENV
    script:
        "../scripts/measure_latency.py"
