"""Logging for rule scripts: every message to the rule's log file and to the terminal."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextlib.contextmanager
def rule_logging(log_file: str | Path, rule: str = "") -> Iterator[logging.Logger]:
    """Send logging to `log_file` (and stderr); a failure's traceback lands in the log too."""
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    handlers = [logging.FileHandler(log_file, mode="w"), logging.StreamHandler(sys.stderr)]
    logging.basicConfig(level=logging.INFO, format=FORMAT, handlers=handlers, force=True)
    for noisy in ("bm25s", "urllib3", "filelock", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logger = logging.getLogger(rule or "irrepro")
    try:
        yield logger
    except Exception:
        logger.exception("rule %s failed", rule)
        raise
    finally:
        for handler in handlers:
            handler.flush()
