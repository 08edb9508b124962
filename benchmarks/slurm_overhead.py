"""The cost of submitting the workflow to SLURM instead of running it locally, per job.

Runs the BM25 slice of the demo (data stage, BM25 index and runs, negatives, evaluation, the
summary table: 9 jobs) twice in fresh copies of the workflow: locally (`--cores 2`) and through
profiles/slurm on the one-node cluster of `.ci/slurm-cluster` (started here, as root), with
status checks every second after the first. Reports wall seconds of each and the overhead per job.

Usage: python benchmarks/slurm_overhead.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _common import REPO, OtherCPU, markdown_table, write_result

SLICE = {
    "datasets": {"demo": {"n_passages": 300, "n_train": 60, "n_dev": 20, "n_test": 6}},
    "methods": ["bm25"],
    "tables": ["summary"],
}
SLURM = ("--workflow-profile", "profiles/slurm", "--slurm-no-account",
         "--slurm-init-seconds-before-status-checks", "1")  # fmt: skip


def workflow_copy(root: Path) -> Path:
    root.mkdir()
    shutil.copy(REPO / "Snakefile", root)
    for folder in ("workflow", "config", "profiles", "envs"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "slice.yaml").write_text(yaml.safe_dump(SLICE))
    return root


def timed_run(root: Path, *flags: str) -> tuple[float, int]:
    """Wall seconds of the run and the number of jobs it ran."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *flags,
         "--configfile", "config/config.yaml", "slice.yaml"],
        cwd=root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    return seconds, (result.stdout + result.stderr).count("Finished jobid") - 1  # less `all`


def main() -> None:
    subprocess.run([str(REPO / ".ci" / "slurm-cluster"), "start"], check=True)
    other = OtherCPU().start()
    with tempfile.TemporaryDirectory() as tmp:
        local_seconds, jobs = timed_run(workflow_copy(Path(tmp) / "local"))
        slurm_seconds, slurm_jobs = timed_run(workflow_copy(Path(tmp) / "slurm"), *SLURM)
    other.stop()
    rows = [
        ["local, --cores 2", jobs, f"{local_seconds:.0f}", ""],
        ["SLURM, profiles/slurm", slurm_jobs, f"{slurm_seconds:.0f}",
         f"{(slurm_seconds - local_seconds) / slurm_jobs:.1f}"],
    ]  # fmt: skip
    sections = [
        "## The BM25 slice of the demo, locally and through SLURM",
        "A one-node SLURM 22.05 on this machine (`.ci/slurm-cluster`), the executor plugin "
        "checking job states with sacct every second after the first second. Each job is an "
        "sbatch submission whose step starts Snakemake again to run the one job.",
        markdown_table(["how", "jobs", "wall s", "overhead s per job"], rows),
    ]
    write_result("slurm_overhead", "SLURM submission overhead", sections, other)


if __name__ == "__main__":
    main()
