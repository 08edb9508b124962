"""Every training rule: train one method of the registry, on one or several GPUs (torchrun)."""

from irrepro import methods, runtime
from irrepro.logs import rule_logging
from irrepro.speed import speed_settings
from irrepro.train import distributed
from irrepro.train.job import train_method

method = snakemake.wildcards.method
with rule_logging(snakemake.log[0], snakemake.rule):
    settings = methods.with_checkpointing(snakemake.params.settings, snakemake.config, method)
    runtime.use_threads(snakemake.threads)
    distributed.run(
        train_method,
        {
            "method": method,
            "inputs": dict(snakemake.input.items()),
            "settings": settings,
            "out_dir": snakemake.output[0],
            "checkpoint_dir": snakemake.params.checkpoints,
            "speed": speed_settings(snakemake.config, methods.get(method).family.section),
        },
        processes=runtime.training_processes(snakemake.resources),
        threads=snakemake.threads,
    )
