"""Rule bm25_index: tokenise the corpus and save a bm25s index."""

from irrepro.bm25 import BM25Params, build_index
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule):
    build_index(
        snakemake.input.corpus, snakemake.output[0], BM25Params.from_config(snakemake.params.bm25)
    )
