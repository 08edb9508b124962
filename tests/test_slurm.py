"""The workflow submitted to a real one-node SLURM cluster through profiles/slurm.

`.ci/slurm-cluster` starts the cluster (munge, MariaDB, slurmdbd, slurmctld, slurmd); CI installs
it with `.ci/slurm-cluster install`. Without SLURM, root or the executor plugin these tests skip
and say which is missing.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from test_workflow import ROOT, snakemake, workflow_copy, write_config  # noqa: F401

CLUSTER = ROOT / ".ci" / "slurm-cluster"
SLICE = {
    "datasets": {"demo": {"n_passages": 300, "n_train": 60, "n_dev": 20, "n_test": 6}},
    "methods": ["bm25", "bm25neg"],  # the data stage, BM25, one training rule on the gpu partition
    "tables": ["summary", "star_adore"],
    "transfer": {"targets": []},  # the demo's zero-shot transfer is not part of the slice
    "dense": {
        "encoder": {"backbone": "tiny", "query_length": 12, "passage_length": 24},
        # SGD: a two-process run's weights then differ from one process's by float rounding
        # only (tests/test_data_parallel.py says why Adam's would not)
        "train": {"steps": 2, "batch_size": 8, "checkpoint_every": 0, "log_every": 1,
                  "optimizer": "sgd", "lr": 0.1},
    },
}  # fmt: skip
# Both runs give each rule the same threads, so that training sums in the same order.
THREADS = (
    "--set-threads", "train_warmup=2", "encode_corpus=2", "bm25_index=2", "bm25_retrieve=2",
    "bm25_retrieve_train=2",
)  # fmt: skip
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


@pytest.fixture(scope="module")
def local_slice(cluster, workflow_copy, tmp_path_factory) -> Path:  # noqa: F811
    """The slice run locally: its results folder."""
    local = copy_of(workflow_copy, tmp_path_factory.mktemp("slice") / "local")
    config = write_config(local, "s.yaml", SLICE)
    snakemake(local, "--configfile", "config/config.yaml", config, *THREADS)
    return local / "results" / "demo"


def submitted(workflow: Path, target: Path, *args: str) -> Path:  # noqa: F811
    """The slice (or `args`' targets of it) submitted through profiles/slurm: its results."""
    cluster_copy = copy_of(workflow, target)
    config = write_config(cluster_copy, "s.yaml", SLICE)
    result = snakemake(cluster_copy, *args, "--configfile", "config/config.yaml", config,
                       *SLURM_FLAGS)  # fmt: skip
    assert "has been submitted with SLURM jobid" in result.stdout + result.stderr
    return cluster_copy / "results" / "demo"


@pytest.mark.slow
def test_a_slice_submitted_to_slurm_equals_a_local_run(local_slice, workflow_copy, tmp_path):  # noqa: F811
    ours, theirs = outputs(local_slice), outputs(submitted(workflow_copy, tmp_path / "slurm"))
    assert "models/bm25neg/training.json" in ours and "tables/star_adore.md" in ours
    assert set(ours) == set(theirs)
    assert sorted(name for name in ours if ours[name] != theirs[name]) == []


@pytest.mark.slow
def test_training_in_two_processes_of_a_slurm_job_equals_one_local_process(
    local_slice,
    workflow_copy,  # noqa: F811
    tmp_path,
):
    """`processes: 2` (CPU workers; `gpu: 2` on GPUs) runs the rule under torchrun inside its
    SLURM job, each worker with one of the job's 2 threads."""
    model = "results/demo/models/bm25neg"
    theirs = submitted(workflow_copy, tmp_path / "slurm", model,
                       "--set-resources", "train_warmup:processes=2")  # fmt: skip
    log = (theirs / "logs" / "train" / "bm25neg.log").read_text()
    assert "[rank 1]" in log  # the second worker's lines reach the rule's log
    ours, two = local_slice / "models" / "bm25neg", theirs / "models" / "bm25neg"
    for column in ("loss", "grad_norm"):
        np.testing.assert_allclose(pd.read_parquet(two / "train_log.parquet")[column],
                                   pd.read_parquet(ours / "train_log.parquet")[column],
                                   rtol=1e-4, err_msg=column)  # fmt: skip
    expected, got = load_file(ours / "model.safetensors"), load_file(two / "model.safetensors")
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_a_request_no_node_can_meet_fails_at_once(cluster, workflow_copy):  # noqa: F811
    work = workflow_copy
    config = write_config(work, "bm25.yaml", {**SLICE, "methods": ["bm25"], "tables": []})
    started = time.monotonic()
    result = snakemake(
        work, "--configfile", "config/config.yaml", config, *SLURM_FLAGS,
        "--set-resources", "prepare_dataset:mem_mb=100000000", check=False,
    )  # fmt: skip
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert ("prepare_dataset: mem_mb 100,000,000 MB is above partition 'cpu''s largest node "
            "(262,144 MB)") in text, text[-3000:]  # fmt: skip
    assert "submitted with SLURM jobid" not in text
    assert time.monotonic() - started < 120


@pytest.mark.slow
def test_a_request_above_a_partitions_limits_is_refused_before_submitting(cluster, workflow_copy):  # noqa: F811
    """EnforcePartLimits=NO, SLURM's default, would queue these jobs for ever: the workflow
    names them and submits nothing. `short`: 30 minutes, 8,000 MB (.ci/slurm-cluster)."""
    work = workflow_copy
    config = write_config(work, "bm25.yaml", {**SLICE, "methods": ["bm25"], "tables": []})
    result = snakemake(
        work, "--configfile", "config/config.yaml", config, *SLURM_FLAGS, "--set-resources",
        "prepare_dataset:slurm_partition=short", "prepare_dataset:runtime=60",
        "bm25_index:slurm_partition=short", "bm25_index:runtime=10", check=False,
    )  # fmt: skip
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "prepare_dataset: runtime 60 min is above partition 'short''s MaxTime (30 min)" in text
    assert re.search(r"bm25_index: mem_mb [\d,]+ MB is above partition 'short''s "
                     r"MaxMemPerNode \(8,000 MB\)", text), text[-3000:]  # fmt: skip
    assert "submitted with SLURM jobid" not in text
