# Results tables: ours beside the published numbers, with provenance.

from irrepro.zero_shot import ZERO_SHOT


rule table:
    input:
        unpack(lambda wc: PLAN.table_inputs(wc.table)),
    output:
        markdown=report(
            LAYOUT.table("{table}", "md"),
            caption="../report/table.rst",
            category="Tables",
        ),
        csv=LAYOUT.table("{table}", "csv"),
        provenance=LAYOUT.table("{table}", "provenance.json"),
    params:
        sources=lambda wc: PLAN.table_sources(wc.table),
        dataset=PLAN.dataset,
        roles=PLAN.roles,
        metrics=PLAN.metrics,
        fusion_normalize=config["fusion"]["normalize"],
        transfer=lambda wc: PLAN.transfer.describe() if wc.table == ZERO_SHOT else {},
        workflow_dir=workflow.basedir,
    log:
        LAYOUT.log("table", "{table}"),
    conda:
        CPU_ENV
    script:
        "../scripts/table.py"
