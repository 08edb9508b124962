"""The workflow submitted to a real one-node SLURM cluster through profiles/slurm.

`.ci/slurm-cluster` starts the cluster (munge, MariaDB, slurmdbd, slurmctld, slurmd); CI installs
it with `.ci/slurm-cluster install`. Without SLURM, root or the executor plugin these tests skip
and say which is missing.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from test_workflow import ROOT, snakemake, workflow_copy, write_config  # noqa: F401

CLUSTER = ROOT / ".ci" / "slurm-cluster"
SLICE = {
    "datasets": {"demo": {"n_passages": 300, "n_train": 60, "n_dev": 20, "n_test": 6}},
    "methods": ["bm25", "bm25neg"],  # the data stage, BM25, one training rule on the gpu partition
    "tables": ["summary", "star_adore"],
    "dense": {
        "encoder": {"backbone": "tiny", "query_length": 12, "passage_length": 24},
        "train": {"steps": 2, "batch_size": 8, "checkpoint_every": 0, "log_every": 1},
    },
}
# Both runs give each rule the same threads, so that training sums in the same order.
THREADS = ("--set-threads", "train_warmup=2", "encode_corpus=2", "bm25_index=2", "bm25_retrieve=2")
SLURM_FLAGS = (
    "--workflow-profile", "profiles/slurm", "--slurm-no-account",
    "--slurm-init-seconds-before-status-checks", "1", *THREADS,
)  # fmt: skip


def missing() -> str | None:
    if shutil.which("sbatch") is None or shutil.which("slurmctld") is None:
        return "SLURM is not installed (.ci/slurm-cluster install, as root)"
    if os.geteuid() != 0:
        return "starting a SLURM cluster needs root"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[slurm]')"
    return None


@pytest.fixture(scope="module")
def cluster():
    reason = missing()
    if reason:
        pytest.skip(reason)
    started = subprocess.run([str(CLUSTER), "start"], capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stdout + started.stderr
    yield


CLOCK = ("seconds", "examples_per_s")  # what a training log and training.json time


def outputs(results: Path) -> dict[str, bytes]:
    """Every artefact's bytes, less what records the clock: a table's provenance line, the
    seconds and throughput of a training log and of training.json."""
    files = {}
    for path in sorted(results.rglob("*")):
        if path.is_dir() or path.suffix not in (".parquet", ".json", ".md", ".csv", ".trec"):
            continue
        if path.name.endswith("provenance.json") or "logs" in path.parts:
            continue
        data = path.read_bytes()
        if path.suffix == ".md":
            data = b"\n".join(x for x in data.split(b"\n") if not x.startswith(b"Provenance:"))
        elif path.name == "train_log.parquet":
            data = pd.read_parquet(path).drop(columns=list(CLOCK)).to_csv().encode()
        elif path.name == "training.json":
            record = {k: v for k, v in json.loads(data).items() if k not in CLOCK}
            data = json.dumps(record, sort_keys=True).encode()
        files[str(path.relative_to(results))] = data
    return files


def copy_of(workflow: Path, target: Path) -> Path:
    shutil.copytree(workflow, target, ignore=shutil.ignore_patterns("results", ".snakemake"))
    return target


@pytest.mark.slow
def test_a_slice_submitted_to_slurm_equals_a_local_run(cluster, workflow_copy, tmp_path):  # noqa: F811
    local = copy_of(workflow_copy, tmp_path / "local")
    config = write_config(local, "s.yaml", SLICE)
    snakemake(local, "--configfile", "config/config.yaml", config, *THREADS)
    cluster_copy = copy_of(workflow_copy, tmp_path / "slurm")
    config = write_config(cluster_copy, "s.yaml", SLICE)
    submitted = snakemake(cluster_copy, "--configfile", "config/config.yaml", config, *SLURM_FLAGS)
    assert "has been submitted with SLURM jobid" in submitted.stdout + submitted.stderr
    ours, theirs = outputs(local / "results" / "demo"), outputs(cluster_copy / "results" / "demo")
    assert "models/bm25neg/training.json" in ours and "tables/star_adore.md" in ours
    assert set(ours) == set(theirs)
    assert sorted(name for name in ours if ours[name] != theirs[name]) == []


@pytest.mark.slow
def test_a_request_no_node_can_meet_fails_at_once_with_slurms_message(cluster, workflow_copy):  # noqa: F811
    work = workflow_copy
    config = write_config(work, "bm25.yaml", {**SLICE, "methods": ["bm25"], "tables": []})
    started = time.monotonic()
    result = snakemake(
        work, "--configfile", "config/config.yaml", config, *SLURM_FLAGS,
        "--set-resources", "prepare_dataset:mem_mb=100000000", check=False,
    )  # fmt: skip
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Requested node configuration is not available" in text, text[-3000:]
    assert time.monotonic() - started < 120
