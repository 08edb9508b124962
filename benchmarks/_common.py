"""Helpers shared by the benchmark scripts: machine description, Markdown output, peak RSS."""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path

import psutil

from irrepro.provenance import cpu_model

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = Path(sys.executable).parent  # the venv running the benchmark

PACKAGES = (
    "bm25s",
    "numba",
    "numpy",
    "pandas",
    "pyarrow",
    "PyStemmer",
    "pytrec-eval-terrier",
    "trectools",
    "snakemake",
    "psutil",
)


def code_version() -> str:
    """The repository's commit, and how many files under workflow/ differ from it."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "workflow"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (
        f" + uncommitted changes to {len(changed)} files under workflow/" if changed else ""
    )


def machine_description(packages: Sequence[str] = PACKAGES) -> str:
    """Markdown bullet list: date, CPU, RAM, OS, Python and package versions."""
    versions = []
    for name in packages:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"- date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- CPU: {cpu_model()}, {os.cpu_count()} logical CPUs ({usable} usable)",
        f"- RAM: {psutil.virtual_memory().total / 2**30:.1f} GiB",
        f"- OS: {platform.platform()}; Python {platform.python_version()}",
        f"- packages: {', '.join(versions)}",
        f"- irrepro: {code_version()}",
    ]
    return "\n".join(lines)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub Markdown table; floats are written as given (format them before)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


class OtherCPU:
    """CPU time used by other processes while the block ran (this process tree excluded).

    System busy time minus this process's and its waited-for children's, so that a report can
    say whether the (shared) machine was quiet during the measurement.
    """

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        t = psutil.cpu_times()
        busy = t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0)
        usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        own = sum(u.ru_utime + u.ru_stime for u in usage)
        return busy, own, time.perf_counter()

    def start(self) -> OtherCPU:
        self._start = self._sample()
        return self

    def stop(self) -> None:
        end = self._sample()
        self.seconds = max(0.0, (end[0] - self._start[0]) - (end[1] - self._start[1]))
        self.wall = end[2] - self._start[2]

    def describe(self) -> str:
        return (
            f"- other processes during the run: {self.seconds:.0f} CPU-seconds in "
            f"{self.wall:.0f} s ({self.seconds / self.wall:.0%} of one core on average)"
        )


def write_result(
    name: str, title: str, sections: Sequence[str], other: OtherCPU | None = None
) -> Path:
    """Print the report and write it to benchmarks/results/<name>.md; returns the path."""
    machine = machine_description() + (f"\n{other.describe()}" if other else "")
    text = "\n\n".join([f"# {title}", *sections, "## Machine", machine]) + "\n"
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.md"
    path.write_text(text)
    print(f"written to {path}")
    return path


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB.

    On Linux this is VmHWM, the high-water mark of the process image since its exec. We do not
    use ru_maxrss there: a spawned child's ru_maxrss starts at its parent's RSS at fork time
    (Linux carries it across the exec), so a child of a 2 GiB parent reports >= 2 GiB.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 2**20 if platform.system() == "Darwin" else kib / 1024  # macOS: bytes


def in_fresh_process(function: Callable, *args, **kwargs):
    """Call `function` in a new 'spawn' process, so that its ru_maxrss is its own."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args, **kwargs).result()


class TreeRSSMonitor:
    """Polls a process and its descendants; `peak_mib` is the largest summed RSS seen."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                processes = [self.process, *self.process.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    total += process.memory_info().rss
            self.peak_mib = max(self.peak_mib, total / 2**20)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeRSSMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class Timer:
    """`with Timer() as t: ...` then `t.seconds`."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start


def venv_env() -> dict[str, str]:
    """The environment with the venv's bin first on PATH (Snakemake jobs use its python)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env.pop("PYTHONPATH", None)
    return env
