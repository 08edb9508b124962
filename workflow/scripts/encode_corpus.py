"""Rule encode_corpus: every passage through the model's encoder, float16 shards, resumable."""

from irrepro import runtime
from irrepro.dense.encode import encode_corpus
from irrepro.dense.model import BiEncoder
from irrepro.logs import rule_logging
from irrepro.speed import speed_settings

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    meta = encode_corpus(
        BiEncoder.load(snakemake.input.model),
        snakemake.input.corpus,
        out_dir=snakemake.output[0],
        work_dir=snakemake.params.work_dir,
        max_length=snakemake.params.max_length,
        batch_size=speed_settings(snakemake.config, "dense")["encode_batch_size"],
        shard_size=snakemake.params.shard_size,
    )
    log.info("%s", meta)
