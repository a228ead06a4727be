"""One family of exceptions for every error a user can cause.

The CLI prints ``str(error)`` of any :class:`PulseclError` as one line and exits with
status 2 (``--debug`` shows the traceback).  Messages name the file, key or plugin at
fault and say what to do.  Programming errors (bugs) are *not* in this family and keep
their traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "PulseclError",
    "ConfigError",
    "PluginError",
    "PluginLoadError",
    "PluginValidationError",
    "DuplicateComponentError",
    "UnknownComponentError",
    "DataError",
    "SignalError",
    "CheckpointError",
    "StorageError",
    "BusyError",
    "closest",
]


class PulseclError(Exception):
    """Base class: an error the user can fix (bad input, bad config, bad plugin)."""

    exit_code = 2


class ConfigError(PulseclError, ValueError):
    """A config file, key or value is wrong."""


class PluginError(PulseclError):
    """A plugin is broken or misuses the plugin interface."""


class PluginLoadError(PluginError):
    """One or more plugins failed to import or register.

    ``errors`` holds one line per failing plugin; ``str()`` joins them with newlines so
    that every broken plugin is reported, not just the first.
    """

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class PluginValidationError(PluginError):
    """A hook implementation does not match its specification."""


class DuplicateComponentError(PluginError):
    """Two plugins registered a component under the same name in the same table."""


class UnknownComponentError(PulseclError, LookupError):
    """A component name (or kind) that no plugin registered."""


class DataError(PulseclError):
    """A video, dataset, ground-truth file or cache cannot be used."""


class SignalError(PulseclError, ValueError):
    """A signal cannot give an answer (NaN, constant, too short, sampling rate too low)."""


class CheckpointError(PulseclError):
    """A checkpoint is missing, tampered with, or from a different model."""


class StorageError(PulseclError):
    """A file cannot be written: the disk is full, a quota is reached, or the folder is
    read-only.  Raised by :mod:`pulsecl.io` after it has removed its temporary file, so
    the target is left as it was."""


class BusyError(PulseclError):
    """A folder that one process writes at a time (a run folder, a cache entry, a
    benchmark folder) is being written by another pulsecl process
    (:class:`pulsecl.io.FolderLock`); the message names the folder and the holder's pid."""


def closest(name: str, choices: Iterable[str]) -> str | None:
    """Return the choice closest to ``name`` (for "did you mean" hints), or None."""
    choices = list(choices)
    match = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    if match:
        return match[0]
    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
    return lowered[match[0]] if match else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or an empty string."""
    best = closest(name, choices)
    return f"; did you mean '{best}'?" if best else ""
