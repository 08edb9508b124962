# The HTML report's figures: `snakemake --report results/report.html` gathers them with the
# tables and the DAG. Drawing is irrepro.plots; what each figure reads is the plan's.


rule plot_training:
    input:
        **PLAN.trained_models(),
    output:
        report(
            LAYOUT.plot("training"),
            caption="../report/training.rst",
            category="Training curves",
        ),
    log:
        LAYOUT.log("plot", "training"),
    conda:
        CPU_ENV
    script:
        "../scripts/plot.py"


rule plot_table:
    input:
        LAYOUT.table("{table}", "csv"),
    output:
        report(
            LAYOUT.plot("table-{table}"),
            caption="../report/chart.rst",
            category="Ours vs published",
        ),
    wildcard_constraints:
        table=methods.one_of(PLAN.charted_tables()),
    log:
        LAYOUT.log("plot", "table-{table}"),
    conda:
        CPU_ENV
    script:
        "../scripts/plot.py"


rule plot_per_query:
    input:
        unpack(lambda wc: PLAN.per_query_sources(wc.table)[0]),
    output:
        report(
            LAYOUT.plot("per-query-{table}"),
            caption="../report/per_query.rst",
            category="Per-query metrics",
        ),
    params:
        metric=lambda wc: PLAN.per_query_sources(wc.table)[1],
        split=lambda wc: PLAN.per_query_sources(wc.table)[2],
    wildcard_constraints:
        table=methods.one_of(PLAN.charted_tables()),
    log:
        LAYOUT.log("plot", "per-query-{table}"),
    conda:
        CPU_ENV
    script:
        "../scripts/plot.py"
