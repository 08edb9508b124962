"""Rule prepare_dataset: the configured source -> corpus/queries/qrels Parquet."""

from irrepro.datasets import prepare
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule):
    splits = snakemake.params.splits
    prepare(
        snakemake.params.dataset,
        corpus_out=snakemake.output.corpus,
        queries_out=dict(zip(splits, snakemake.output.queries, strict=True)),
        qrels_out=dict(zip(splits, snakemake.output.qrels, strict=True)),
        manifest_out=snakemake.output.manifest,
        fingerprints=snakemake.params.fingerprints,
    )
