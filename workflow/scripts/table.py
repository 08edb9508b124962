"""Rule table: one results table beside the published numbers, with provenance."""

from irrepro import provenance, tables
from irrepro.logs import rule_logging

with rule_logging(snakemake.log[0], snakemake.rule):
    tables.write(
        snakemake.wildcards.table,
        tables.load_measurements(**snakemake.params.sources),
        roles=snakemake.params.roles,
        metrics=snakemake.params.metrics,
        dataset=snakemake.params.dataset,
        # the config as a record, not a param: a setting no table reads rewrites no table
        provenance_record=provenance.collect(snakemake.config, snakemake.params.workflow_dir),
        markdown_out=snakemake.output.markdown,
        csv_out=snakemake.output.csv,
        provenance_out=snakemake.output.provenance,
        fusion_normalize=snakemake.params.fusion_normalize,
        transfer=snakemake.params.transfer,
    )
