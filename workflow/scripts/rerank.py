"""Rule rerank_bm25: BM25's top-k reordered by ColBERT's MaxSim or by a bi-encoder."""

import torch

from irrepro import runtime
from irrepro.artefacts import QUERIES, RUN, read_table, write_trec_run
from irrepro.dense.encode import EmbeddingStore, embedding_doc_ids
from irrepro.dense.model import BiEncoder
from irrepro.logs import rule_logging
from irrepro.tct.colbert import ColBERT
from irrepro.tct.rerank import Candidates, rerank_biencoder, rerank_colbert
from irrepro.train.data import Corpus, row_lookup

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    queries = read_table(snakemake.input.queries, QUERIES)
    settings = snakemake.params.settings
    if snakemake.wildcards.reranker == "colbert":
        corpus = Corpus(snakemake.input.corpus)
        candidates = Candidates(snakemake.input.run, queries, corpus.rows, settings["depth"])
        rerank_colbert(
            ColBERT.load(snakemake.input.model).to(device),
            corpus,
            candidates,
            snakemake.output.run,
            snakemake.params.query_length,
            snakemake.params.passage_length,
            batch_size=settings["batch_size"],
            doc_budget=settings["doc_budget"],
        )
    else:
        store = EmbeddingStore(snakemake.input.embeddings)
        doc_ids = embedding_doc_ids(snakemake.input.embeddings)
        row_of = row_lookup(doc_ids)
        candidates = Candidates(snakemake.input.run, queries, row_of, settings["depth"])
        rerank_biencoder(
            BiEncoder.load(snakemake.input.model).to(device),
            store,
            doc_ids,
            candidates,
            snakemake.output.run,
            snakemake.params.query_length,
        )
    run = read_table(snakemake.output.run, RUN)
    write_trec_run(run, snakemake.output.trec, tag=f"irrepro-{snakemake.wildcards.reranker}")
    log.info("%d queries, %d results", run["query_id"].nunique(), len(run))
