"""Requests no SLURM partition can meet, refused before anything is submitted.

Under SLURM's default EnforcePartLimits=NO, sbatch accepts a job whose runtime or memory is
above its partition's limit, or that names a partition that is down, and the job pends forever
(Reason=PartitionTimeLimit, ...): the executor plugin sees a pending job and waits. A request
above every node of the partition (CPUs, memory, GPUs) pends the same way on some setups. So
when the workflow runs with the SLURM executor, its onstart hook reads the partitions and nodes
(`scontrol show ... --oneliner`) and names every rule whose request cannot run, in one error.
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass

from .errors import ConfigError

FIELD = re.compile(r"(\w+)=(\S*)")
UNLIMITED = {"UNLIMITED", "INFINITE", "NONE", ""}
RUNNABLE_STATES = {"UP"}


def fields(line: str) -> dict[str, str]:
    """key=value pairs of one `scontrol show ... --oneliner` line."""
    return dict(FIELD.findall(line))


def minutes(text: str) -> float:
    """A SLURM duration in minutes: minutes, minutes:seconds, hours:minutes:seconds, or
    days-hours, days-hours:minutes, days-hours:minutes:seconds."""
    if text.upper() in UNLIMITED:
        return math.inf
    days, dash, clock = text.rpartition("-")
    parts = [int(part) for part in clock.split(":")]
    if dash:  # after days- the clock starts at hours
        hours, mins, seconds = (parts + [0, 0])[:3]
    elif len(parts) == 3:
        hours, mins, seconds = parts
    else:
        hours, (mins, seconds) = 0, (parts + [0])[:2]
    return (int(days or 0) * 24 + hours) * 60 + mins + seconds / 60


def limit(text: str | None) -> float:
    return math.inf if text is None or text.upper() in UNLIMITED else float(text)


def gpu_count(gres: str) -> int:
    """GPUs in a node's Gres field: gpu:2, gpu:a100:4(S:0-1), gpu:1,mps:100."""
    count = 0
    for entry in gres.split(","):
        name, *rest = re.sub(r"\(.*?\)", "", entry).split(":")
        if name == "gpu" and rest and rest[-1].isdigit():
            count += int(rest[-1])
    return count


@dataclass
class Partition:
    name: str
    state: str
    max_minutes: float
    max_mem_mb: float
    max_cpus_per_node: float
    default: bool = False
    node_cpus: int = 0  # of its largest node, and so on
    node_mem_mb: int = 0
    node_gpus: int = 0


def read_partitions(partition_lines: str, node_lines: str) -> dict[str, Partition]:
    """Each partition's limits and the largest of its nodes, from scontrol's --oneliner text."""
    partitions = {}
    for line in partition_lines.splitlines():
        values = fields(line)
        if "PartitionName" not in values:
            continue
        partitions[values["PartitionName"]] = Partition(
            name=values["PartitionName"],
            state=values.get("State", "UP"),
            max_minutes=minutes(values.get("MaxTime", "UNLIMITED")),
            max_mem_mb=limit(values.get("MaxMemPerNode")),
            max_cpus_per_node=limit(values.get("MaxCPUsPerNode")),
            default=values.get("Default") == "YES",
        )
    for line in node_lines.splitlines():
        values = fields(line)
        for name in values.get("Partitions", "").split(","):
            if name in partitions:
                partition = partitions[name]
                partition.node_cpus = max(partition.node_cpus, int(values.get("CPUTot", 0)))
                partition.node_mem_mb = max(partition.node_mem_mb, int(values.get("RealMemory", 0)))
                partition.node_gpus = max(partition.node_gpus, gpu_count(values.get("Gres", "")))
    return partitions


def query_partitions() -> dict[str, Partition]:
    def scontrol(kind: str) -> str:
        return subprocess.run(["scontrol", "show", kind, "--oneliner"], capture_output=True,
                              text=True, check=True, timeout=60).stdout  # fmt: skip

    try:
        return read_partitions(scontrol("partition"), scontrol("node"))
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"SLURM executor, but `scontrol show partition` failed: {exc}") from exc


def request_problem(rule: str, request: dict, threads: int, partitions: dict[str, Partition]):
    """Why `rule`'s request (its resources: slurm_partition, runtime in minutes, mem_mb,
    cpus_per_task, gpu) would never run, or None."""
    name = request.get("slurm_partition") or next(
        (p.name for p in partitions.values() if p.default), None
    )
    if name is None:
        return None  # sbatch picks; nothing to compare with
    partition = partitions.get(name)
    if partition is None:
        return f"{rule}: partition {name!r} does not exist (partitions: {', '.join(partitions)})"
    if partition.state not in RUNNABLE_STATES:
        return f"{rule}: partition {name!r} is {partition.state}"
    cpus = int(request.get("cpus_per_task") or threads or 1)
    gpus = int(request.get("gpu") or 0) or gpu_count(str(request.get("gres") or ""))
    mem = float(request.get("mem_mb") or 0)
    checks = [  # (what, requested, unit, allowed, which limit: {} is the allowed value)
        ("runtime", float(request.get("runtime") or 0), " min", partition.max_minutes,
         "MaxTime ({} min)"),
        ("mem_mb", mem, " MB", partition.max_mem_mb, "MaxMemPerNode ({} MB)"),
        ("mem_mb", mem, " MB", partition.node_mem_mb or math.inf, "largest node ({} MB)"),
        ("cpus", cpus, "", partition.max_cpus_per_node, "MaxCPUsPerNode ({})"),
        ("cpus", cpus, "", partition.node_cpus or math.inf, "largest node ({} CPUs)"),
        ("gpus", gpus, "", partition.node_gpus if gpus else math.inf, "largest node ({} GPUs)"),
    ]  # fmt: skip
    for key, wanted, unit, allowed, which in checks:
        if wanted > allowed:
            limit_text = which.format(f"{allowed:,.0f}")
            return f"{rule}: {key} {wanted:,.0f}{unit} is above partition {name!r}'s {limit_text}"
    return None


def check_before_submitting(workflow) -> None:
    """The onstart hook: with the SLURM executor, refuse the jobs to run that would pend."""
    plugin = workflow.executor_plugin
    if plugin is None or plugin.cli_prefix != "slurm":
        return
    jobs = [job for job in workflow.dag.needrun_jobs() if not job.is_local]
    check_requests(jobs, query_partitions())


def check_requests(jobs, partitions: dict[str, Partition]) -> None:
    """Raise one ConfigError naming each rule (once) that asks for what no node can give."""
    problems: dict[str, str] = {}  # a rule's first job that would pend
    for job in jobs:
        rule = job.rule.name
        if rule not in problems:
            problem = request_problem(rule, dict(job.resources.items()), job.threads, partitions)
            if problem:
                problems[rule] = problem
    found = list(problems.values())
    if found:
        raise ConfigError(
            "these jobs would pend forever on this cluster (change the profile's "
            "set-resources or the partition):\n  " + "\n  ".join(found)
        )
