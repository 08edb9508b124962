"""Content fingerprints (SHA-256) of a local dataset's files.

They are the data stage's params and go into its manifest, so that a file replaced by another
whose mtime is older (tar, rsync -a, cp -p: Snakemake's mtime check misses it) still reruns the
stage, and the manifest says which bytes the artefacts came from. A file whose size, mtime and
inode are unchanged is not read again: the digests are cached in `.snakemake/`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

CACHE = Path(".snakemake") / "irrepro-fingerprints.json"
CHUNK = 1 << 22


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stat_key(path: str) -> list[int]:
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


def fingerprints(files: list[str], cache_file: str | Path = CACHE) -> dict[str, str]:
    """{file: SHA-256} of the files that exist (a missing one is Snakemake's to report)."""
    cache_file = Path(cache_file)
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    digests, changed = {}, False
    for path in files:
        try:
            key = _stat_key(path)
        except OSError:
            continue
        hit = cache.get(path)
        if not hit or hit["stat"] != key:
            hit, changed = {"stat": key, "sha256": sha256(path)}, True
            cache[path] = hit
        digests[path] = hit["sha256"]
    if changed:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.tmp{os.getpid()}")
        tmp.write_text(json.dumps(cache))
        tmp.replace(cache_file)
    return digests
