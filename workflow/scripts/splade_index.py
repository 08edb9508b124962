"""Rule splade_index: the corpus encoded by a SPLADE model into an inverted index."""

from irrepro import runtime
from irrepro.logs import rule_logging
from irrepro.speed import speed_settings
from irrepro.splade.index import build_sparse_index
from irrepro.splade.model import Splade

with rule_logging(snakemake.log[0], snakemake.rule):
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    settings = snakemake.params.settings
    device = runtime.device()
    build_sparse_index(
        Splade.load(snakemake.input.model).to(device),
        snakemake.input.corpus,
        snakemake.output[0],
        settings["passage_length"],
        speed_settings(snakemake.config, "splade")["encode_batch_size"],
    )
