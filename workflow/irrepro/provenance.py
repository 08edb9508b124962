"""What produced a table: config, package versions, git commit and hardware."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import psutil

PACKAGES = (
    "irrepro",
    "snakemake",
    "torch",
    "transformers",
    "faiss-cpu",
    "faiss-gpu",
    "bm25s",
    "PyStemmer",
    "ir_datasets",
    "pyarrow",
    "pandas",
    "numpy",
    "trectools",
)


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_commit(directory: str | Path) -> dict[str, str | bool]:
    """HEAD of the workflow's checkout and whether it had uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown (not a git checkout)", "dirty": False}


def hardware() -> dict:
    info = {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gpus": [],
    }
    try:
        import torch

        if torch.cuda.is_available():
            info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return info


def collect(config: dict, workflow_dir: str | Path) -> dict:
    return {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "git": git_commit(workflow_dir),
        "packages": package_versions(),
        "hardware": hardware(),
        "config": config,
    }


def markdown_footer(record: dict) -> str:
    git = record["git"]
    hw = record["hardware"]
    gpus = ", ".join(hw["gpus"]) or "none"
    packages = ", ".join(f"{k} {v}" for k, v in record["packages"].items())
    dirty = " (with uncommitted changes)" if git["dirty"] else ""
    return (
        "---\n"
        f"Provenance: commit `{git['commit']}`{dirty}, created {record['created']}; "
        f"{hw['cpu_count']} CPUs, {hw['memory_gb']} GB RAM, GPUs: {gpus}; {packages}. "
        "The full config is in the `.provenance.json` file beside this table."
    )
