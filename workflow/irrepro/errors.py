"""Errors that name what a user has to fix: the config key, or the file and line of bad input."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key."""


class DataError(ValueError):
    """Bad input data; the message starts with `file:line:` (or `source record N:`)."""

    def __init__(self, where: str, reason: str):
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")


class NotImplementedStage(NotImplementedError):
    """A stage declared in the DAG whose implementation has not landed yet."""
