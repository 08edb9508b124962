"""One clear line per error: config mistakes name file, line and key; a job's error is said once."""

import logging
import os
import time
from pathlib import Path

import pytest

from irrepro import failures
from irrepro.errors import ConfigError, DataError
from irrepro.logs import rule_logging

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
DATASET = "dataset: mine\ndatasets:\n  mine: {source: local, format: msmarco, path: /data}\n"


def refusal(tmp_path, *texts: str) -> str:
    """The message check_config gives for config files with these texts, merged in order."""
    import yaml

    files, config = [], {}
    for number, text in enumerate(texts):
        path = tmp_path / f"config{number}.yaml"
        path.write_text(text)
        files.append(path)
        config = merge(config, yaml.safe_load(text))
    with pytest.raises(ConfigError) as refused:
        failures.check_config(config, SCHEMA, files)
    return str(refused.value)


def merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for key, value in update.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = merge(base[key], value) if both else value
    return out


def test_a_misspelt_top_level_key_is_one_line_with_its_file_line_and_the_right_name(tmp_path):
    message = refusal(tmp_path, DATASET + "methodz: [bm25]\n")
    assert message == (
        f"{tmp_path / 'config0.yaml'}:4: methodz: unknown key 'methodz' (did you mean 'methods'?)"
    )


def test_a_nested_bad_value_names_the_last_file_that_sets_it(tmp_path):
    message = refusal(tmp_path, DATASET + "bm25: {k1: 0.9}\n", "bm25:\n  b: 0.4\n  k1: fast\n")
    assert message == f"{tmp_path / 'config1.yaml'}:3: bm25.k1: 'fast' is not of type 'number'"


def test_a_bad_list_item_names_its_own_line(tmp_path):
    message = refusal(tmp_path, DATASET + "methods:\n  - bm25\n  - 3\n")
    assert message.startswith(f"{tmp_path / 'config0.yaml'}:6: methods.1: 3 is not of type")


def test_a_missing_key_is_named_without_a_line(tmp_path):
    assert refusal(tmp_path, "methods: [bm25]\n") == "(top level): 'dataset' is a required property"


def test_a_valid_config_passes(tmp_path):
    (tmp_path / "c.yaml").write_text(DATASET)
    config = {"dataset": "mine", "datasets": {"mine": {"source": "local", "format": "msmarco"}}}
    config["datasets"]["mine"]["path"] = "/data"
    failures.check_config(config, SCHEMA, [tmp_path / "c.yaml"])


def run_failing_rule(log_file: Path, error: Exception):
    with pytest.raises(SystemExit) as stopped, rule_logging(log_file, "prepare_dataset") as log:
        log.info("reading")
        raise error
    return stopped.value.code


def test_bad_input_is_logged_once_and_recorded_for_the_end_of_the_run(tmp_path, capfd):
    log_file = tmp_path / "logs" / "prepare_dataset.log"
    error = DataError("/data/collection.tsv:2", "duplicate doc_id 'd1'")
    assert run_failing_rule(log_file, error) == 1
    message = "prepare_dataset: /data/collection.tsv:2: duplicate doc_id 'd1'"
    assert failures.error_file(log_file).read_text() == message + "\n"
    assert "Traceback" not in log_file.read_text() and str(error) in log_file.read_text()
    assert "duplicate" not in capfd.readouterr().err  # said last, by report_failed_jobs
    failures.report_failed_jobs([tmp_path / "logs"], since=time.time() - 60)
    err = capfd.readouterr().err
    assert err.count(message) == 1 and str(log_file) in err


def test_a_bug_keeps_its_traceback_in_the_log_and_on_the_terminal(tmp_path, capfd):
    log_file = tmp_path / "train.log"
    assert run_failing_rule(log_file, RuntimeError("shapes do not match")) == 1
    assert "Traceback" in log_file.read_text()
    assert capfd.readouterr().err.count("RuntimeError: shapes do not match") == 1


def test_a_rerun_clears_the_error_and_old_errors_are_not_reported(tmp_path, capfd):
    log_file = tmp_path / "logs" / "bm25_index.log"
    run_failing_rule(log_file, DataError("/x:1", "bad"))
    old = time.time() - 3600
    os.utime(failures.error_file(log_file), (old, old))
    capfd.readouterr()
    failures.report_failed_jobs([tmp_path / "logs"], since=time.time() - 60)
    assert capfd.readouterr().err == ""
    with rule_logging(log_file, "bm25_index"):
        logging.getLogger("x").info("ok")
    assert not failures.error_file(log_file).exists()


def test_a_list_where_a_mapping_was_expected_is_still_one_line(tmp_path):
    message = refusal(tmp_path, DATASET + "bm25: [k1]\n")
    assert message == f"{tmp_path / 'config0.yaml'}:4: bm25: ['k1'] is not of type 'object'"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process age is read from /proc")
def test_a_jobs_log_starts_with_its_start_up_time(tmp_path):
    """The seconds between the process's start and the script's first line of work."""
    import re
    import subprocess
    import sys

    log_file = tmp_path / "job.log"
    script = "\n".join([
        "import time; time.sleep(0.8)",
        "from irrepro.logs import rule_logging",
        f"with rule_logging({str(log_file)!r}, 'evaluate') as log:",
        "    log.info('work')",
    ])  # fmt: skip
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    first = log_file.read_text().splitlines()[0]
    seconds = float(re.search(r"start-up ([\d.]+) s", first).group(1))
    assert 0.8 <= seconds < 10
