# irrepro: regenerate the results tables of STAR/ADORE, TCT-ColBERT and SPLADE++ from raw data.
# This file is the table of contents; each stage lives in workflow/rules/<stage>.smk and its
# logic in the workflow/irrepro library. README.md explains how to run it.

from snakemake.utils import min_version

min_version("8.20")


# The demo is the config when no --configfile is given. A config of your own starts from the
# documented defaults (the schema's: the papers' settings), never from the demo's values; to
# change the demo, give both: --configfile config/config.yaml mine.yaml.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


# A mistake found while the rules are read (a missing corpus, a bad split) is one line.
with failures.config_errors_exit():
    include: "workflow/rules/data.smk"
    include: "workflow/rules/bm25.smk"
    include: "workflow/rules/negatives.smk"
    include: "workflow/rules/dense.smk"
    include: "workflow/rules/star.smk"
    include: "workflow/rules/ance.smk"
    include: "workflow/rules/adore.smk"
    include: "workflow/rules/tct.smk"
    include: "workflow/rules/rerank.smk"
    include: "workflow/rules/splade.smk"
    include: "workflow/rules/fusion.smk"
    include: "workflow/rules/evaluate.smk"
    include: "workflow/rules/transfer.smk"
    include: "workflow/rules/tables.smk"
    include: "workflow/rules/report.smk"

    rule all:
        input:
            PLAN.targets(),
        default_target: True
