"""Placeholder script of a stage declared in the DAG whose implementation has not landed.

It writes no output: it fails with a message naming the stage and the issue that builds it.
"""

from irrepro.errors import NotImplementedStage
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule):
    raise NotImplementedStage(
        f"rule {snakemake.rule} ({snakemake.params.stage}) is not implemented yet; "
        f"see {snakemake.params.issue}. Remove its methods from `methods:` to run the rest."
    )
