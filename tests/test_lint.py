"""The workflow stays `snakemake --lint` clean and the code `ruff check` clean."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/msmarco-passage.yaml"])
def test_snakemake_lint_is_clean(configfile):
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--configfile", configfile],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Congratulations, your workflow is in a good condition!" in out.stdout + out.stderr


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    out = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def rules_by_environment() -> tuple[set[str], set[str]]:
    """Every rule, and those whose jobs run in the GPU environment (`use rule` copies too)."""
    rules, gpu, copies = set(), set(), {}
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        text = smk.read_text()
        for block in re.split(r"\n(?=rule |use rule )", text):
            if block.startswith("rule "):
                rules.add(block.split()[1].rstrip(":"))
                if "GPU_ENV" in block:
                    gpu.add(block.split()[1].rstrip(":"))
            if block.startswith("use rule "):
                _, _, source, _, name, *_ = block.split()
                copies[name] = source
    return rules | set(copies), gpu | {name for name, source in copies.items() if source in gpu}


@pytest.mark.parametrize("profile", ["workstation", "slurm"])
def test_profiles_give_every_gpu_rule_a_gpu_and_name_only_rules_that_exist(profile):
    config = yaml.safe_load((ROOT / "profiles" / profile / "config.yaml").read_text())
    asked = {rule for rule, request in config["set-resources"].items() if request.get("gpu")}
    rules, gpu = rules_by_environment()
    assert {"train_ance", "colbert_retrieve", "train_warmup"} <= gpu
    assert gpu - asked == set()  # a GPU rule the profile forgot would run without its GPU
    assert set(config["set-resources"]) - rules == set()  # no request for a rule that is gone
