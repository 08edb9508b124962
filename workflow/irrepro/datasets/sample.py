"""A corpus sample that keeps every judged passage: a smaller collection (config/msmarco-1m.yaml)
on which every split's judgments still hold, so its numbers are comparable in kind, if easier.

The unjudged passages kept are those with the smallest seeded hash of their id: the same sample
whatever the order or the machine, found in two streaming passes (no corpus in memory).
"""

from __future__ import annotations

import hashlib
import heapq
import logging
from collections.abc import Callable, Iterable, Iterator

from ..errors import ConfigError
from .writer import TextRecord

log = logging.getLogger(__name__)


def id_hash(doc_id: str, seed: int) -> int:
    digest = hashlib.blake2b(doc_id.encode(), digest_size=8, key=str(seed).encode())
    return int.from_bytes(digest.digest(), "big")


def sampled(
    source: Callable[[], Iterable[TextRecord]], judged: set[str], passages: int, seed: int = 0
) -> Iterator[TextRecord]:
    """`passages` documents of `source()` (a fresh iterator on each call): every judged one,
    and the unjudged ones with the smallest hashes for the rest."""
    if passages < len(judged):
        raise ConfigError(
            f"sample_passages {passages:,} is fewer than the {len(judged):,} judged passages, "
            "which a sample always keeps"
        )
    wanted = passages - len(judged)
    largest_kept: list[int] = []  # a max-heap (negated) of the `wanted` smallest hashes
    for record in source():
        if record.id in judged:
            continue
        value = id_hash(record.id, seed)
        if len(largest_kept) < wanted:
            heapq.heappush(largest_kept, -value)
        elif wanted and value < -largest_kept[0]:
            heapq.heapreplace(largest_kept, -value)
    cutoff = -largest_kept[0] if largest_kept else -1
    log.info("sample: %d judged passages and %d others", len(judged), len(largest_kept))
    for record in source():
        if record.id in judged or id_hash(record.id, seed) <= cutoff:
            yield record
