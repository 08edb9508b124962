"""Rule train_adore: a query encoder trained against a fixed index with dynamic hard negatives."""

from irrepro import runtime
from irrepro.logs import rule_logging
from irrepro.train import distributed

with rule_logging(snakemake.log[0], snakemake.rule):
    runtime.use_threads(snakemake.threads)
    distributed.run(
        "irrepro.dense.adore:train_adore",
        {
            "doc_encoder_dir": snakemake.input.doc_encoder,
            "embeddings_dir": snakemake.input.embeddings,
            "index_path": snakemake.input.index,
            "corpus_path": snakemake.input.corpus,
            "queries_path": snakemake.input.queries,
            "qrels_path": snakemake.input.qrels,
            "out_dir": snakemake.output[0],
            "checkpoint_dir": snakemake.params.checkpoints,
            "training": snakemake.params.training,
            "query_length": snakemake.params.query_length,
        },
        processes=runtime.gpus(snakemake.resources),
    )
