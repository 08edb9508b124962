"""Rule encode_corpus: every passage through the model's encoder, float16 shards, resumable;
then the dataset's queries, which its retrieval jobs search with."""

from irrepro import runtime
from irrepro.dense.encode import encode_corpus, encode_queries
from irrepro.dense.model import BiEncoder
from irrepro.logs import rule_logging
from irrepro.speed import speed_settings

with rule_logging(snakemake.log[0], snakemake.rule) as log:
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    model = BiEncoder.load(snakemake.input.model)
    batch_size = speed_settings(snakemake.config, "dense")["encode_batch_size"]
    meta = encode_corpus(
        model,
        snakemake.input.corpus,
        out_dir=snakemake.output[0],
        work_dir=snakemake.params.work_dir,
        max_length=snakemake.params.max_length,
        batch_size=batch_size,
        shard_size=snakemake.params.shard_size,
    )
    log.info("%s", meta)
    queries = dict(zip(snakemake.params.query_splits, snakemake.input.queries, strict=True))
    counts = encode_queries(
        model, queries, snakemake.output[0], snakemake.params.query_length, batch_size
    )
    log.info("queries encoded: %s", counts)
