# Negatives for training: the top of a run on train queries, minus the judged positives.
# BM25 negatives come from the BM25 run; static hard negatives from the warm-up model's run;
# SPLADE++ EnsembleDistil's from several runs at once (`splade.ensemble`).


rule mine_negatives:
    input:
        run=LAYOUT.run("{source}", "train"),
        qrels=LAYOUT.qrels("train"),
    output:
        LAYOUT.negatives("{source}"),
    params:
        depth=config["negatives"]["depth"],
    wildcard_constraints:
        source=methods.one_of(PLAN.mined_sources()),
    log:
        LAYOUT.log("mine_negatives", "{source}"),
    conda:
        CPU_ENV
    script:
        "../scripts/mine_negatives.py"


rule ensemble_negatives:
    input:
        PLAN.ensemble_negatives(),
    output:
        LAYOUT.negatives(methods.ENSEMBLE),
    params:
        depth=config["negatives"]["depth"],
    log:
        LAYOUT.log("ensemble_negatives"),
    conda:
        CPU_ENV
    script:
        "../scripts/ensemble_negatives.py"
