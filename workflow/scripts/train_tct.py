"""Rules train_colbert and train_tct: TCT-ColBERT's teacher, or a student distilled from it."""

from irrepro import runtime
from irrepro.logs import rule_logging
from irrepro.train import distributed

with rule_logging(snakemake.log[0], snakemake.rule):
    runtime.use_threads(snakemake.threads)
    distributed.run(
        "irrepro.tct.training:train_tct",
        {
            "method": snakemake.wildcards.get("student", "colbert"),
            "corpus_path": snakemake.input.corpus,
            "queries_path": snakemake.input.queries,
            "qrels_path": snakemake.input.qrels,
            "negatives_path": snakemake.input.negatives,
            "teacher_dir": snakemake.input.get("teacher") or None,
            "out_dir": snakemake.output[0],
            "checkpoint_dir": snakemake.params.checkpoints,
            "tct": snakemake.params.tct,
            "training": snakemake.params.training,
        },
        processes=runtime.gpus(snakemake.resources),
    )
