"""Logging for rule scripts: every message to the rule's log file and to the terminal."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from .failures import USER_ERRORS, clear_failure, record_failure

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
STARTUP = "start-up %.2f s (interpreter, Snakemake's script preamble, imports)"


def process_age() -> float | None:
    """Seconds since this process started (Linux /proc: 10 ms ticks), None elsewhere: a job's
    fixed cost before its script does any work."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def rule_logging(log_file: str | Path, rule: str = "") -> Iterator[logging.Logger]:
    """Send logging to `log_file` (and stderr); a failure is logged once and recorded for the
    end-of-workflow summary (irrepro.failures)."""
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    handlers = [logging.FileHandler(log_file, mode="w"), logging.StreamHandler(sys.stderr)]
    logging.basicConfig(level=logging.INFO, format=FORMAT, handlers=handlers, force=True)
    for noisy in ("bm25s", "urllib3", "filelock", "httpx", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logger = logging.getLogger(rule or "irrepro")
    if (age := process_age()) is not None:
        logger.info(STARTUP, age)
    clear_failure(log_file)
    try:
        yield logger
    except Exception as exc:  # said once: bad input as its message, a bug with its traceback
        if isinstance(exc, USER_ERRORS):  # the terminal gets it last, from report_failed_jobs
            logging.getLogger().removeHandler(handlers[1])
        logger.error("rule %s failed: %s", rule, exc, exc_info=not isinstance(exc, USER_ERRORS))
        record_failure(log_file, rule, exc)
        raise SystemExit(1) from None
    finally:
        for handler in handlers:
            handler.flush()


class Tally:
    """Records kept but worth a look (empty documents, queries that found nothing): how many,
    and the first few, for the log and for the artefact's JSON (`counted`), never dropped
    without a word."""

    EXAMPLES = 10

    def __init__(self, what: str):
        self.what = what
        self.count = 0
        self.examples: list[str] = []

    @classmethod
    def of(cls, what: str, items) -> Tally:
        tally = cls(what)
        for item in items:
            tally.add(str(item))
        return tally

    def add(self, item: str) -> None:
        self.count += 1
        if len(self.examples) < self.EXAMPLES:
            self.examples.append(item)

    def record(self) -> dict:
        """{what: {count, examples}}, for an artefact's JSON."""
        return {self.what: {"count": self.count, "examples": self.examples}}

    def report(self, logger: logging.Logger) -> dict:
        """Warn (when any) and return the record."""
        if self.count:
            logger.warning("%d %s: %s", self.count, self.what, shown(self.count, self.examples))
        return self.record()


def shown(count: int, examples: list[str]) -> str:
    """The first three examples of `count`, for a one-line warning."""
    return ", ".join(examples[:3]) + (", ..." if count > 3 else "")
