# ADORE (issue #3): query encoder trained against a fixed document index (flat or PQ), with
# dynamic hard negatives retrieved at every step.


rule train_adore:
    input:
        doc_encoder=f"{R}/models/{{base}}",
        index=lambda wc: f"{R}/index/{wc.base}/{wc.kind}.faiss",
        **TRAIN,
    output:
        directory(f"{R}/models/adore-{{base}}-{{kind}}"),
    params:
        stage="ADORE training",
        issue="issue #3",
    wildcard_constraints:
        base=M.one_of(M.ADORE_BASES),
        kind=r"flat|pq\d+",
    log:
        f"{R}/logs/train/adore-{{base}}-{{kind}}.log",
    benchmark:
        f"{R}/benchmarks/train/adore-{{base}}-{{kind}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule adore_retrieve:
    input:
        query_encoder=f"{R}/models/adore-{{base}}-flat",
        index=f"{R}/index/{{base}}/flat.faiss",
        queries=f"{R}/data/queries/{{split}}.parquet",
    output:
        run=f"{R}/runs/adore-{{base}}/{{split}}.parquet",
        trec=f"{R}/runs/adore-{{base}}/{{split}}.trec",
    params:
        depth=run_depth,
        stage="ADORE retrieval",
        issue="issue #3",
    wildcard_constraints:
        base=M.one_of(M.ADORE_BASES),
    log:
        f"{R}/logs/adore_retrieve/{{base}}/{{split}}.log",
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"


rule adore_pq_retrieve:
    input:
        query_encoder=f"{R}/models/adore-{{base}}-pq{{m}}",
        index=f"{R}/index/{{base}}/pq{{m}}.faiss",
        queries=f"{R}/data/queries/{{split}}.parquet",
    output:
        run=f"{R}/runs/adore-{{base}}-pq{{m}}/{{split}}.parquet",
        trec=f"{R}/runs/adore-{{base}}-pq{{m}}/{{split}}.trec",
    params:
        depth=run_depth,
        stage="ADORE retrieval on a PQ index",
        issue="issue #3",
    wildcard_constraints:
        base=M.one_of(M.ADORE_BASES),
        m=r"\d+",
    log:
        f"{R}/logs/adore_retrieve/{{base}}-pq{{m}}/{{split}}.log",
    conda:
        GPU_ENV
    script:
        "../scripts/not_implemented.py"
