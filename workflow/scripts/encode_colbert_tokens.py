"""Rule encode_colbert_tokens: every passage token MaxSim reads, float16 shards, resumable."""

from irrepro import runtime
from irrepro.logs import rule_logging
from irrepro.speed import speed_settings
from irrepro.tct.colbert import ColBERT
from irrepro.tct.token_index import encode_token_vectors

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    meta = encode_token_vectors(
        ColBERT.load(snakemake.input.model).to(runtime.device()),
        snakemake.input.corpus,
        out_dir=snakemake.output[0],
        work_dir=snakemake.params.work_dir,
        passage_length=snakemake.params.passage_length,
        batch_size=speed_settings(snakemake.config, "tct.end_to_end")["batch_size"],
        shard_size=snakemake.params.shard_size,
    )
    log.info("%s", meta)
