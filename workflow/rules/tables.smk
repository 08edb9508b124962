# Results tables: ours beside the published numbers, with provenance.


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
        workflow_dir=workflow.basedir,
    log:
        LAYOUT.log("table", "{table}"),
    conda:
        CPU_ENV
    script:
        "../scripts/table.py"
