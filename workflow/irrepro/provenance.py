"""What produced a table: config, package versions, git commit and hardware."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

import psutil

from .logs import shown

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


LIBRARY_DIR = Path(__file__).resolve().parent


def library_digest(directory: Path = LIBRARY_DIR) -> str:
    """SHA-256 (16 hex digits) of the library's source files: changes with any edit to them,
    committed or not, where the commit alone would not."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.suffix in {".py", ".yaml"} and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo, else platform's): training on the CPU gives
    other weights on another CPU kind (its math library takes other kernels; NOTES.md)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """What wrote an artefact: library version, source digest, the checkout's commit, and the
    CPU it ran on."""
    try:
        version = metadata.version("irrepro")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"irrepro": version, "library": library_digest(), **git_commit(LIBRARY_DIR),
            "cpu": cpu_model()}  # fmt: skip


def hardware() -> dict:
    info = {
        "machine": platform.machine(),
        "processor": cpu_model(),
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
        f"{hw['cpu_count']} CPUs ({hw['processor']}), {hw['memory_gb']} GB RAM, GPUs: {gpus}; "
        f"{packages}. "
        "The full config is in the `.provenance.json` file beside this table."
        + mixed_code_note(record.get("runs_written_by", {}))
        + mixed_cpu_note(record.get("runs_written_by", {}))
        + counted_note(record.get("counted", {}))
    )


def counted_note(counted: dict[str, dict]) -> str:
    """What the table's sources kept but counted: empty documents, queries that found nothing."""
    if not counted:
        return ""
    lines = ["", "", "Counted, not dropped:"]
    for source, tallies in counted.items():
        for what, tally in tallies.items():
            examples = shown(tally["count"], tally["examples"])
            lines.append(f"- {source}: {tally['count']} {what} ({examples})")
    return "\n".join(lines)


def _short_commit(commit: str) -> str:
    return f"commit {commit[:12]}" if re.fullmatch(r"[0-9a-f]{40}", commit) else "no git commit"


def runs_by(writers: dict[str, dict | None], key) -> tuple[int, str] | None:
    """How many groups the table's runs make by key(writer) (None: left out), and
    `key: run, run; key: run`; None when they make fewer than two."""
    groups: dict[str, list[str]] = {}
    for run, writer in sorted(writers.items()):
        if (name := key(writer)) is not None:
            groups.setdefault(name, []).append(run)
    if len(groups) < 2:
        return None
    return len(groups), "; ".join(f"{name}: {', '.join(runs)}" for name, runs in groups.items())


def mixed_cpu_note(writers: dict[str, dict | None]) -> str:
    """A warning when the table's runs were computed on different kinds of CPU."""
    grouped = runs_by(writers, lambda writer: writer.get("cpu") if writer else None)
    if grouped is None:
        return ""
    count, parts = grouped
    return (
        f"\n\n**The rows were computed on {count} kinds of CPU**: {parts}. Models "
        "trained on the CPU differ between CPU kinds (by up to .03 MRR@10 on the demo)."
    )


def mixed_code_note(writers: dict[str, dict | None]) -> str:
    """A warning when the table's runs were written by different library sources."""

    def version(writer: dict | None) -> str:
        if not writer:
            return "unrecorded"
        return f"`{writer['library']}` ({_short_commit(writer['commit'])})"

    grouped = runs_by(writers, version)
    if grouped is None:
        return ""
    count, parts = grouped
    return (
        f"\n\n**The rows come from {count} versions of the library** (its source digest): "
        f"{parts}. Rerun with `-R` on the older ones to compare like with like."
    )
