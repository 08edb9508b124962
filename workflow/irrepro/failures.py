"""One clear line per error: what a user must fix, said once, where they look.

A bad config stops the workflow before any job with one line naming the config file, line and
key (not Snakemake's dump of the schema and traceback). A rule script that fails on bad input
writes its message to `<log>.error` beside its log (the traceback stays in the log); when the
workflow stops, `report_failed_jobs` prints those lines last.
"""

from __future__ import annotations

import contextlib
import difflib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from .errors import ConfigError, DataError

USER_ERRORS = (ConfigError, DataError)
ERROR_SUFFIX = ".error"


def error_file(log_file: str | Path) -> Path:
    return Path(log_file).with_suffix(ERROR_SUFFIX)


@contextlib.contextmanager
def config_errors_exit() -> Iterator[None]:
    """Parse time: a ConfigError or DataError becomes its message alone and exit status 1."""
    try:
        yield
    except USER_ERRORS as exc:
        sys.exit(f"irrepro: {exc}")


def validate_config(config: dict, schema_file: str | Path, config_files: list) -> None:
    """Snakemake's validation, which fills in the schema's defaults; where it refuses the
    config, a ConfigError naming `file:line: key` instead of its schema dump."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(schema_file))
    except WorkflowError:
        check_config(config, schema_file, config_files)
        raise  # the two validators disagree: Snakemake's message is all there is


def check_config(config: dict, schema_file: str | Path, config_files: list) -> None:
    """Raise ConfigError naming `file:line: key` of the first value the schema refuses."""
    import jsonschema  # only at parse time, not in every job

    schema = yaml.safe_load(Path(schema_file).read_text(encoding="utf-8"))
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(config)
    )
    if error is None:
        return
    path, reason = list(error.absolute_path), error.message
    unknown = unknown_keys(error)
    if unknown:
        path.append(unknown[0])
        reason = f"unknown key {unknown[0]!r}" + did_you_mean(unknown[0], error.schema)
    key = ".".join(str(part) for part in path) or "(top level)"
    raise ConfigError(f"{where(path, config_files)}{key}: {reason}")


def unknown_keys(error) -> list[str]:
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    known = error.schema.get("properties", {})
    return [key for key in error.instance if key not in known]


def did_you_mean(key: str, schema: dict) -> str:
    close = difflib.get_close_matches(key, list(schema.get("properties", {})), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def where(path: list, config_files: list) -> str:
    """`file:line: ` of the value at `path` in the last config file that sets it, else ''."""
    for config_file in reversed([Path(f) for f in config_files]):
        line = yaml_line(config_file, path)
        if line is not None:
            return f"{config_file}:{line}: "
    return ""


def yaml_line(config_file: Path, path: list) -> int | None:
    """1-based line of the key (or list item) at `path` in a YAML file, or None."""
    try:
        node = yaml.compose(config_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == str(part)]
            if not match:
                return None
            key, node = match[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and part in range(len(node.value)):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return None
    return line


def record_failure(log_file: str | Path, rule: str, exc: BaseException) -> None:
    error_file(log_file).write_text(f"{rule}: {exc}\n", encoding="utf-8")


def clear_failure(log_file: str | Path) -> None:
    error_file(log_file).unlink(missing_ok=True)


def report_failed_jobs(logs_dirs: list[str | Path], since: float) -> None:
    """Print each job's error line written since `since` (the workflow's start), last."""
    found = sorted(
        (mtime, path)
        for logs_dir in logs_dirs
        for path in Path(logs_dir).rglob(f"*{ERROR_SUFFIX}")
        if (mtime := path.stat().st_mtime) >= since
    )
    if not found:
        return
    lines = [f"irrepro: {len(found)} job(s) failed:"]
    for _, path in found:
        message = path.read_text(encoding="utf-8").strip()
        lines.append(f"  {message}\n    (log: {path.with_suffix('.log')})")
    print("\n".join(lines), file=sys.stderr)


def workflow_start() -> float:
    """The time from which an error file belongs to this run (a second's slack for clocks)."""
    return time.time() - 1.0
