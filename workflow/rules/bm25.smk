# BM25 (bm25s): index and top-k runs for every split (train runs feed negatives.smk).


rule bm25_index:
    input:
        corpus=f"{R}/data/corpus.parquet",
    output:
        directory(f"{R}/index/bm25"),
    params:
        bm25=config["bm25"],
    log:
        f"{R}/logs/bm25_index.log",
    benchmark:
        f"{R}/benchmarks/bm25_index.tsv"
    conda:
        CPU_ENV
    script:
        "../scripts/bm25_index.py"


rule bm25_retrieve:
    input:
        index=f"{R}/index/bm25",
        queries=f"{R}/data/queries/{{split}}.parquet",
    output:
        run=f"{R}/runs/bm25/{{split}}.parquet",
        trec=f"{R}/runs/bm25/{{split}}.trec",
    params:
        depth=run_depth,
        batch_size=config["bm25"]["query_batch_size"],
    log:
        f"{R}/logs/bm25_retrieve/{{split}}.log",
    benchmark:
        f"{R}/benchmarks/bm25_retrieve/{{split}}.tsv"
    conda:
        CPU_ENV
    script:
        "../scripts/bm25_retrieve.py"

