# Results tables: ours beside the published numbers, with provenance.


rule table:
    input:
        unpack(lambda wc: PLAN.table_inputs(wc.table)),
    output:
        markdown=report(
            f"{R}/tables/{{table}}.md",
            caption="../report/table.rst",
            category="Tables",
        ),
        csv=f"{R}/tables/{{table}}.csv",
        provenance=f"{R}/tables/{{table}}.provenance.json",
    params:
        dataset=PLAN.dataset,
        roles=PLAN.roles,
        metrics=PLAN.metrics,
        config=config,
        workflow_dir=workflow.basedir,
    log:
        f"{R}/logs/table/{{table}}.log",
    conda:
        CPU_ENV
    script:
        "../scripts/table.py"
