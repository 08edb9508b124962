"""Rules train_warmup and train_star: train a bi-encoder, on one or several GPUs (torchrun)."""

from irrepro import runtime
from irrepro.logs import rule_logging
from irrepro.train import distributed

with rule_logging(snakemake.log[0], snakemake.rule):
    runtime.use_threads(snakemake.threads)
    method = snakemake.wildcards.get("method", "star")
    distributed.run(
        "irrepro.dense.training:train_biencoder",
        {
            "method": method,
            "corpus_path": snakemake.input.corpus,
            "queries_path": snakemake.input.queries,
            "qrels_path": snakemake.input.qrels,
            "negatives_path": snakemake.input.get("negatives") or None,
            "init_dir": snakemake.input.get("init") or None,
            "out_dir": snakemake.output[0],
            "checkpoint_dir": snakemake.params.checkpoints,
            "encoder": snakemake.params.encoder,
            "training": snakemake.params.training,
        },
        processes=runtime.gpus(snakemake.resources),
    )
