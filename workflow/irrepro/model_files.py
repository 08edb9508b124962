"""Writing a model folder: JSON files, and staging so a killed job leaves no half-written one."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_modules_json(directory: Path, package: str, modules: list[tuple[str, str]]) -> None:
    """sentence-transformers' modules.json: (folder, module type under `package`) in order."""
    write_json(
        directory / "modules.json",
        [
            {"idx": i, "name": str(i), "path": path, "type": f"{package}.{kind}"}
            for i, (path, kind) in enumerate(modules)
        ],
    )


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n")


@contextmanager
def staged_directory(path: str | Path) -> Iterator[Path]:
    """A temporary sibling of `path` to fill; it replaces `path` only when the block succeeds,
    so a killed job never leaves a half-written directory under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = path.with_name(f".{path.name}.old{os.getpid()}")
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)
