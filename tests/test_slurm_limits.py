"""irrepro.slurm_limits on scontrol's own text (a one-node cluster's, as .ci/slurm-cluster sets
it up): durations, GPUs in Gres, and each request that would pend forever named by rule."""

import math
from types import SimpleNamespace

import pytest

from irrepro.errors import ConfigError
from irrepro.slurm_limits import (
    check_requests,
    gpu_count,
    minutes,
    read_partitions,
    request_problem,
)

COMMON = "AllowGroups=ALL MaxNodes=UNLIMITED MinNodes=0 Nodes=node[1-2] TotalCPUs=96"
PARTITIONS = "\n".join([
    f"PartitionName=cpu {COMMON} Default=YES MaxTime=UNLIMITED MaxCPUsPerNode=UNLIMITED "
    "State=UP DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED",
    f"PartitionName=gpu {COMMON} Default=NO MaxTime=2-00:00:00 MaxCPUsPerNode=16 State=UP "
    "MaxMemPerNode=UNLIMITED",
    f"PartitionName=short {COMMON} Default=NO MaxTime=00:30:00 State=UP MaxMemPerNode=8000",
    f"PartitionName=old {COMMON} Default=NO MaxTime=UNLIMITED State=DOWN",
])  # fmt: skip
NODES = "\n".join([
    "NodeName=node1 Arch=x86_64 CPUTot=32 Gres=gpu:a100:4(S:0-1) OS=Linux 6.1 #1 SMP "
    "RealMemory=257000 Partitions=cpu,gpu,short,old",
    "NodeName=node2 Arch=x86_64 CPUTot=64 Gres=(null) RealMemory=515000 Partitions=cpu",
])  # fmt: skip


@pytest.fixture
def partitions():
    return read_partitions(PARTITIONS, NODES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("UNLIMITED", math.inf), ("00:30:00", 30), ("2-00:00:00", 2880), ("1-12:30:00", 2190),
     ("45", 45), ("10:30", 10.5), ("3-04", 3 * 1440 + 4 * 60)],
)  # fmt: skip
def test_slurm_durations_in_minutes(text, expected):
    # sbatch's forms: minutes, minutes:seconds, hours:minutes:seconds, days-hours[:min[:sec]]
    assert minutes(text) == expected


def test_gpus_of_a_gres_field():
    assert gpu_count("gpu:a100:4(S:0-1)") == 4
    assert gpu_count("gpu:1,mps:100") == 1
    assert gpu_count("(null)") == 0


def test_each_partition_has_its_limits_and_its_largest_node(partitions):
    cpu, gpu, short = partitions["cpu"], partitions["gpu"], partitions["short"]
    assert cpu.default and (cpu.node_cpus, cpu.node_mem_mb, cpu.node_gpus) == (64, 515000, 4)
    assert (gpu.node_cpus, gpu.node_mem_mb, gpu.max_minutes, gpu.max_cpus_per_node) == (
        32, 257000, 2880, 16)  # fmt: skip
    assert (short.max_minutes, short.max_mem_mb) == (30, 8000)


@pytest.mark.parametrize(
    ("request_", "threads", "message"),
    [
        ({"slurm_partition": "gpu", "runtime": 2880, "gpu": 4, "cpus_per_task": 16}, 1, None),
        ({"runtime": 100000, "mem_mb": 500000}, 64, None),  # cpu, the default: unlimited
        ({"slurm_partition": "gpu", "runtime": 10080},
         1, "train: runtime 10,080 min is above partition 'gpu''s MaxTime (2,880 min)"),
        ({"slurm_partition": "short", "mem_mb": 16000},
         1, "train: mem_mb 16,000 MB is above partition 'short''s MaxMemPerNode (8,000 MB)"),
        ({"mem_mb": 600000}, 1, "train: mem_mb 600,000 MB is above partition 'cpu''s largest "
         "node (515,000 MB)"),
        ({"slurm_partition": "gpu", "cpus_per_task": 24},
         1, "train: cpus 24 is above partition 'gpu''s MaxCPUsPerNode (16)"),
        ({"slurm_partition": "gpu"}, 48, "train: cpus 48 is above partition 'gpu''s "
         "MaxCPUsPerNode (16)"),  # threads stand in for cpus_per_task
        ({"slurm_partition": "gpu", "gpu": 8},
         1, "train: gpus 8 is above partition 'gpu''s largest node (4 GPUs)"),
        ({"slurm_partition": "gpu", "gres": "gpu:a100:6"},
         1, "train: gpus 6 is above partition 'gpu''s largest node (4 GPUs)"),
        ({"slurm_partition": "old"}, 1, "train: partition 'old' is DOWN"),
        ({"slurm_partition": "gpus"},
         1, "train: partition 'gpus' does not exist (partitions: cpu, gpu, short, old)"),
    ],
)  # fmt: skip
def test_a_request_that_would_pend_is_named(partitions, request_, threads, message):
    assert request_problem("train", request_, threads, partitions) == message


def job(rule: str, threads: int = 1, **resources):
    return SimpleNamespace(rule=SimpleNamespace(name=rule), threads=threads,
                           resources=SimpleNamespace(items=resources.items))  # fmt: skip


def test_one_error_names_each_rule_that_would_pend_once(partitions):
    jobs = [job("bm25_index", slurm_partition="short", runtime=60),
            job("bm25_index", slurm_partition="short", runtime=60),
            job("evaluate", runtime=10),
            job("evaluate", slurm_partition="short", runtime=45),  # the rule's second job
            job("train_ance", slurm_partition="gpu", runtime=10080)]  # fmt: skip
    with pytest.raises(ConfigError) as error:
        check_requests(jobs, partitions)
    lines = str(error.value).splitlines()
    assert lines[1:] == [
        "  bm25_index: runtime 60 min is above partition 'short''s MaxTime (30 min)",
        "  evaluate: runtime 45 min is above partition 'short''s MaxTime (30 min)",
        "  train_ance: runtime 10,080 min is above partition 'gpu''s MaxTime (2,880 min)",
    ]
    check_requests(jobs[2:3], partitions)  # nothing to refuse: no error
