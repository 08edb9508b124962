# TCT-ColBERT: the ColBERT teacher, bi-encoder students distilled inside each training step,
# and reranking of BM25's top-k by the teacher and by each student (the paper's Table 3).


rule train_colbert:
    input:
        corpus=f"{R}/data/corpus.parquet",
        negatives=f"{R}/negatives/bm25.parquet",
        **TRAIN,
    output:
        directory(f"{R}/models/colbert"),
    params:
        tct=config["tct"],
        training=tct_training("colbert"),
        checkpoints=f"{R}/checkpoints/colbert",
    log:
        f"{R}/logs/train/colbert.log",
    benchmark:
        f"{R}/benchmarks/train/colbert.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/train_tct.py"


rule train_tct:
    input:
        teacher=f"{R}/models/colbert",  # every student starts from its transformer
        corpus=f"{R}/data/corpus.parquet",
        negatives=f"{R}/negatives/bm25.parquet",
        **TRAIN,
    output:
        directory(f"{R}/models/{{student}}"),
    params:
        tct=config["tct"],
        training=lambda wc: tct_training(wc.student),
        checkpoints=lambda wc: f"{R}/checkpoints/{wc.student}",
    wildcard_constraints:
        student=M.one_of(M.TCT_STUDENTS),
    log:
        f"{R}/logs/train/{{student}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{student}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/train_tct.py"


rule rerank_bm25:
    input:
        unpack(rerank_inputs),
        run=f"{R}/runs/bm25/{{split}}.parquet",
        corpus=f"{R}/data/corpus.parquet",
        queries=f"{R}/data/queries/{{split}}.parquet",
    output:
        run=f"{R}/runs/{{reranker}}/{{split}}.parquet",
        trec=f"{R}/runs/{{reranker}}/{{split}}.trec",
    params:
        settings=config["tct"]["rerank"],
        query_length=config["tct"]["encoder"]["query_length"],
        passage_length=config["tct"]["encoder"]["passage_length"],
    wildcard_constraints:
        reranker=M.one_of(M.RERANKERS),
    log:
        f"{R}/logs/rerank_bm25/{{reranker}}/{{split}}.log",
    benchmark:
        f"{R}/benchmarks/rerank_bm25/{{reranker}}/{{split}}.tsv"
    conda:
        GPU_ENV
    script:
        "../scripts/rerank.py"
