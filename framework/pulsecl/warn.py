"""Warnings a user should see: one line each, ``pulsecl: warning: ...`` on the CLI.

Library code calls :func:`warn` with one line that names the file and says what
happened (``'x.avi': read 180 of 360 frames; the file may be truncated``).  It goes to
the standard :mod:`logging` logger ``pulsecl`` at level WARNING, so a program that uses
pulsecl as a library sees it through its own logging set-up (without one, Python prints
the bare line to stderr) and can silence it with
``logging.getLogger("pulsecl").setLevel(logging.ERROR)``.

The CLI calls :func:`install_cli_handler` once per command: each distinct message is
then printed once, as ``pulsecl: warning: <message>``, to stderr (above any progress
bar), however often the code path that raises it runs.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["LOGGER", "warn", "install_cli_handler"]

#: The logger every pulsecl warning goes through.
LOGGER = logging.getLogger("pulsecl")


def warn(message: str) -> None:
    """Emit one warning line (see the module docstring)."""
    LOGGER.warning(message)


class _CliHandler(logging.Handler):
    """Prints each distinct warning once as ``pulsecl: warning: ...`` to sys.stderr
    (looked up when printing, so redirections made later are followed)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.seen: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if message in self.seen:
                return
            self.seen.add(message)
            line = f"pulsecl: warning: {message}"
            if "tqdm" in sys.modules:  # print above a progress bar, not through it
                from tqdm import tqdm

                tqdm.write(line, file=sys.stderr)
            else:
                print(line, file=sys.stderr, flush=True)
        except Exception:  # noqa: BLE001 - a warning must never break the command
            self.handleError(record)


def install_cli_handler() -> logging.Handler:
    """Route pulsecl warnings to stderr as one line each, each message once; returns
    the handler (installed once per process; its memory of printed messages is reset
    on every call, i.e. per command)."""
    for h in LOGGER.handlers:
        if isinstance(h, _CliHandler):
            h.seen.clear()
            return h
    handler = _CliHandler()
    LOGGER.addHandler(handler)
    if LOGGER.level == logging.NOTSET:
        LOGGER.setLevel(logging.WARNING)
    return handler
