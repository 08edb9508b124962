"""Rule splade_index: the corpus encoded by a SPLADE model into an inverted index, and the
dataset's queries into the term weights its retrieval jobs search with."""

from irrepro import runtime
from irrepro.logs import rule_logging
from irrepro.speed import speed_settings
from irrepro.splade.index import build_sparse_index, encode_query_splits
from irrepro.splade.model import Splade

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    settings = snakemake.params.settings
    speed = speed_settings(snakemake.config, "splade")
    model = Splade.load(snakemake.input.model).to(runtime.device())
    build_sparse_index(
        model,
        snakemake.input.corpus,
        snakemake.output[0],
        settings["passage_length"],
        speed["encode_batch_size"],
    )
    queries = dict(zip(snakemake.params.query_splits, snakemake.input.queries, strict=True))
    timing = encode_query_splits(
        model, queries, snakemake.output[0], settings["query_length"], speed["query_batch_size"]
    )
    log.info("queries encoded: %s", timing)
