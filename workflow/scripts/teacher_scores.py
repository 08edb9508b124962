"""Rule teacher_scores: the cross-encoder's scores of train queries' positives and negatives."""

from irrepro import methods, runtime
from irrepro.artefacts import QUERIES, read_table
from irrepro.cross_encoder import CrossEncoder, teacher_scores
from irrepro.logs import rule_logging
from irrepro.train.data import Corpus

with rule_logging(snakemake.log[0], snakemake.rule):
    runtime.use_threads(snakemake.threads)
    runtime.use_precision(snakemake.params.precision)
    settings = snakemake.params.settings
    speed = methods.RERANK.speed(snakemake.config, methods.get("bert-reranker"))
    device = runtime.device()
    teacher_scores(
        CrossEncoder.load(snakemake.input.model).to(device),
        Corpus(snakemake.input.corpus),
        read_table(snakemake.input.queries, QUERIES),
        snakemake.input.qrels,
        snakemake.input.negatives,
        snakemake.output[0],
        depth=snakemake.params.depth,
        max_length=settings["max_length"],
        batch_size=speed["batch_size"],
        scored_paths=snakemake.input.scored,
    )
