"""Wall time and peak memory of the whole demo DAG (`snakemake --cores 2`, default config).

The repository's tracked files are copied to a temp dir and Snakemake runs there, so that
the checkout's results/ is untouched. The summed RSS of Snakemake and every process below it is
polled every 0.2 s; per-job times come from the benchmark TSVs Snakemake writes under
results/demo/benchmarks/ and from the start/end times in .snakemake/metadata.

    python benchmarks/demo_dag.py
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
from _common import (
    REPO,
    RESULTS_DIR,
    VENV_BIN,
    OtherCPU,
    Timer,
    TreeRSSMonitor,
    markdown_table,
    venv_env,
    write_result,
)

STARTUP = re.compile(r"start-up ([\d.]+) s \(")


def copy_working_tree(target: Path) -> int:
    """Copy tracked files and untracked ones git does not ignore (the tree as it would be
    committed), without results/, .snakemake/ or anything else ignored."""
    listing = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
        text=True,
    )
    names = [name for name in listing.stdout.split("\0") if (REPO / name).is_file()]
    for name in names:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target / name)
    return len(names)


def job_times(workdir: Path) -> pd.DataFrame:
    """One row per job: rule, its first output, start and end (from .snakemake/metadata)."""
    records = {}
    for file in (workdir / ".snakemake" / "metadata").iterdir():
        meta = json.loads(file.read_text())
        if not meta.get("starttime") or not meta.get("endtime"):
            continue
        output = base64.b64decode(file.name).decode()
        key = (meta["rule"], meta["job_hash"])  # one record per output file; a job per hash
        start, end, first = records.get(key, (meta["starttime"], meta["endtime"], output))
        records[key] = (
            min(start, meta["starttime"]),
            max(end, meta["endtime"]),
            min(first, output),
        )
    frame = pd.DataFrame(
        [(rule, first, end - start, start) for (rule, _), (start, end, first) in records.items()],
        columns=["rule", "output", "seconds", "start"],
    )
    return frame.sort_values("start").reset_index(drop=True)


def attach_benchmarks(jobs: pd.DataFrame, bench_dir: Path) -> pd.DataFrame:
    """Add each job's benchmark TSV (s, max_rss, cpu_time) where the rule has one."""
    columns = {"bench_s": "s", "max_rss": "max_rss", "cpu_time": "cpu_time"}
    jobs = jobs.assign(**{name: float("nan") for name in columns})
    for tsv in sorted(bench_dir.rglob("*.tsv")):
        parts = tsv.relative_to(bench_dir).with_suffix("").parts
        rule, wildcard = parts[0], "/".join(parts[1:])
        match = jobs["rule"].eq(rule)
        if wildcard:
            match &= jobs["output"].map(lambda out, w=wildcard: Path(out).stem == Path(w).name)
        if match.sum() != 1:
            continue
        row = pd.read_csv(tsv, sep="\t").iloc[-1]
        jobs.loc[match, list(columns)] = [row[column] for column in columns.values()]
    return jobs


def start_up_seconds(results: Path) -> pd.DataFrame:
    """Each job log's start-up line (irrepro.logs: process start to the script's first work):
    one row per log, with the log's stage folder (`logs/<stage>/...`)."""
    rows = []
    for log in sorted(results.rglob("logs/**/*.log")):
        found = STARTUP.search(log.read_text(errors="replace"))
        if found:
            stage = log.parts[log.parts.index("logs") + 1].removesuffix(".log")
            rows.append((stage, float(found.group(1))))
    return pd.DataFrame(rows, columns=["stage", "seconds"])


def keep_tables(tables: Path, out: Path) -> None:
    """The demo's results tables (Markdown), committed beside the timing for comparison."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for table in sorted(tables.glob("*.md")):
        shutil.copy(table, out / table.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--name", default="demo_dag", help="results/<name>.md")
    parser.add_argument(
        "--keep-results", type=Path, help="copy the run's results/ (logs included) here"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="demo-dag-") as name:
        workdir = Path(name)
        files = copy_working_tree(workdir)
        other = OtherCPU().start()
        command = [str(VENV_BIN / "snakemake"), "--cores", str(args.cores)]
        log = workdir / "snakemake.out"
        with open(log, "w") as out, Timer() as timer:
            process = subprocess.Popen(
                command, cwd=workdir, env=venv_env(), stdout=out, stderr=subprocess.STDOUT
            )
            with TreeRSSMonitor(process.pid, interval=0.2) as monitor:
                returncode = process.wait()
        other.stop()
        if returncode:
            raise SystemExit(f"snakemake failed:\n{log.read_text()[-4000:]}")
        jobs = attach_benchmarks(job_times(workdir), workdir / "results/demo/benchmarks")
        keep_tables(workdir / "results/demo/tables", RESULTS_DIR / "demo_tables")
        startup = start_up_seconds(workdir / "results")
        if args.keep_results:
            shutil.copytree(workdir / "results", args.keep_results, dirs_exist_ok=True)

    first_start = jobs["start"].min()
    rows = [
        [
            job.rule,
            f"`{job.output}`",
            f"{job.start - first_start:.0f}",
            f"{job.seconds:.1f}",
            "" if pd.isna(job.bench_s) else f"{job.bench_s:.2f}",
            "" if pd.isna(job.max_rss) else f"{job.max_rss:,.0f}",
            "" if pd.isna(job.cpu_time) else f"{job.cpu_time:.2f}",
        ]
        for job in jobs.itertuples()
    ]
    totals = jobs.groupby("rule", sort=False)["seconds"].agg(["count", "sum"])
    rule_rows = [[rule, int(row["count"]), f"{row['sum']:.1f}"] for rule, row in totals.iterrows()]
    summary = markdown_table(
        ["command", "jobs", "wall s", "peak RSS of the process tree MiB"],
        [
            [
                f"`snakemake --cores {args.cores}` (default config, demo)",
                len(jobs),
                f"{timer.seconds:.1f}",
                f"{monitor.peak_mib:,.0f}",
            ]
        ],
    )
    per_job = markdown_table(
        ["rule", "first output", "starts at s", "job s (metadata)", "benchmark s", "max_rss MiB",
         "cpu_time s"],
        rows,
    )  # fmt: skip
    per_rule = markdown_table(["rule", "jobs", "job s summed"], rule_rows)
    job_seconds = jobs["seconds"].sum()
    stages = startup.groupby("stage")["seconds"].agg(["count", "mean", "sum"])
    stages = stages.sort_values("sum", ascending=False)
    fixed = "\n\n".join([
        f"{startup['seconds'].sum():,.0f} s of the {job_seconds:,.0f} job-seconds "
        f"({startup['seconds'].sum() / job_seconds:.1%}) pass before a job's script starts its "
        f"work ({len(startup)} job logs): the interpreter, Snakemake's script preamble and the "
        "script's imports, from each log's first line (irrepro.logs). Model and index loading "
        "come after and are not counted here.",
        markdown_table(
            ["log folder", "jobs", "mean start-up s", "summed s"],
            [[stage, int(row["count"]), f"{row['mean']:.2f}", f"{row['sum']:.1f}"]
             for stage, row in stages.iterrows()],
        ),
    ])  # fmt: skip
    notes = "\n".join(
        [
            f"- Run in a temp copy of the checkout's working tree ({files} files: tracked and "
            "untracked-but-not-ignored, so results/ and .snakemake/ stay behind); the default "
            "workflow profile (profiles/default) applies, so BM25 rules ask for 4 threads and "
            f"get {args.cores}.",
            "- Wall time includes Snakemake's start-up and DAG construction. Peak RSS is the "
            "largest sum of the RSS of Snakemake and all its descendants, polled every 0.2 s "
            "(shared pages are counted once per process).",
            "- *starts at s*: the job's start after the first job's (jobs are listed in that "
            "order). *job s (metadata)*: end minus start time Snakemake records in "
            ".snakemake/metadata "
            "for each job (includes the job's Python start-up and imports). *benchmark s*, "
            "*max_rss*, *cpu_time*: the rule's `benchmark:` TSV (rules without one are blank).",
            f"- {job_seconds:,.0f} job-seconds in all: {job_seconds / timer.seconds:.2f} jobs "
            "running on average over the wall time.",
            "- The first BM25 and SPLADE retrieval of a fresh copy compiles irrepro.postings' "
            "numba kernel (about 4 s for BM25's float32 signature, 3.5 s for SPLADE's "
            "float64); numba caches it beside the source and later jobs load it.",
        ]
    )
    sections = [summary, "## Per job", per_job, "## Per rule", per_rule]
    sections += ["## Fixed cost per job", fixed, notes]
    write_result(
        args.name,
        "Demo DAG: wall time and peak memory",
        sections,
        other,
    )


if __name__ == "__main__":
    main()
