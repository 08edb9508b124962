"""`irrepro-check-config FILE...`: the workflow's parse-time config checks without Snakemake.

Snakemake reads `--configfile` itself, before any workflow code runs, and reports a YAML syntax
error as "Config file is not valid JSON or YAML" with no file or line. This command names them
(`my.yaml:4:10: ...`), then runs the same schema and plan checks as the workflow on the files
merged in order, as `snakemake --configfile FILE...` would merge them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from .errors import ConfigError, DataError

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


def yaml_syntax_error(path: str | Path) -> str | None:
    """`file:line:column: problem` of a file that is not valid YAML (or JSON), else None."""
    try:
        yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"{path}:{mark.line + 1}:{mark.column + 1}: {exc.problem or exc.context}"
        if exc.context and exc.context_mark and exc.context_mark.line != mark.line:
            message += f" ({exc.context} from line {exc.context_mark.line + 1})"
        return message
    except yaml.YAMLError as exc:
        return f"{path}: {exc}"
    return None


def read_config(files: list[str]) -> dict:
    """The config `snakemake --configfile FILE...` would see, the schema's defaults filled in;
    raises ConfigError on a file that is not YAML or a value the schema refuses."""
    from snakemake.utils import update_config

    from .failures import validate_config

    for path in files:
        if error := yaml_syntax_error(path):
            raise ConfigError(error)
    config: dict = {}
    for path in files:
        update_config(config, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    validate_config(config, SCHEMA, files)
    return config


def check(files: list[str]) -> str:
    """The first problem of the config made of `files`, as the workflow would say it; raises
    ConfigError (or DataError, for a dataset the plan cannot read)."""
    from .plan import Plan

    Plan(read_config(files))
    return f"{', '.join(files)}: valid"


def main(argv: list[str] | None = None) -> int:
    files = sys.argv[1:] if argv is None else argv
    if not files:
        print("usage: irrepro-check-config CONFIG.yaml [MORE.yaml ...]", file=sys.stderr)
        return 2
    try:
        print(f"irrepro: {check(files)}")
    except (ConfigError, DataError) as exc:
        print(f"irrepro: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
