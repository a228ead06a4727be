"""Progress bars that suit where stderr goes: a live bar on a terminal, plain lines in a log.

Every progress bar in pulsecl comes from :func:`bar`.  On a terminal it is a tqdm bar
(redrawn in place with ``\\r``).  When stderr is not a terminal (a CI log, ``2> file``,
a pipe) there are no redraws and no cursor codes: at most one plain line every
:data:`LINE_INTERVAL_S` seconds (``epoch 3/10: 40/100 step (40%), loss=0.51``), and
nothing for a task that ends sooner.  The environment variable ``PULSECL_PROGRESS``
forces a mode: ``bar``, ``lines`` or ``off`` (default ``auto``).

The object returned supports the tqdm calls pulsecl uses: ``update``, ``set_postfix``,
``set_postfix_str``, ``close``, iteration and ``with``; print other lines through
:func:`write` (or ``tqdm.write``) so they never land inside a bar.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

__all__ = ["LINE_INTERVAL_S", "LineProgress", "bar", "mode", "write"]

#: In line mode, the least time between two progress lines.
LINE_INTERVAL_S = 30.0


def mode(file: TextIO | None = None) -> str:
    """``"bar"``, ``"lines"`` or ``"off"``: ``PULSECL_PROGRESS`` if set, else ``bar`` when
    ``file`` (default stderr) is a terminal and ``lines`` when it is not."""
    forced = os.environ.get("PULSECL_PROGRESS", "auto").strip().lower()
    if forced in ("bar", "lines", "off"):
        return forced
    stream = file if file is not None else sys.stderr
    try:
        return "bar" if stream.isatty() else "lines"
    except (AttributeError, ValueError):  # closed or not a real stream
        return "lines"


def bar(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    initial: int = 0,
    leave: bool = True,
    disable: bool = False,
    file: TextIO | None = None,
) -> Any:
    """A progress bar over ``iterable`` (or updated by hand up to ``total``), drawn on
    ``file`` (default stderr) as the module docstring says.  ``disable=True`` shows
    nothing (``--no-progress``)."""
    how = "off" if disable else mode(file)
    if how == "bar":
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, leave=leave,
                    file=file if file is not None else sys.stderr, dynamic_ncols=True)
    return LineProgress(iterable, total=total, desc=desc, unit=unit, initial=initial, file=file,
                        silent=how == "off")


def write(line: str, file: TextIO | None = None) -> None:
    """Print ``line`` (to stdout by default) without breaking a live bar."""
    if "tqdm" in sys.modules:
        from tqdm import tqdm

        tqdm.write(line, file=file)
    else:
        print(line, file=file if file is not None else sys.stdout, flush=True)


class LineProgress:
    """tqdm's interface without redraws: a plain line at most every ``interval`` seconds
    (and none when ``silent``)."""

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        initial: int = 0,
        file: TextIO | None = None,
        silent: bool = False,
        interval: float | None = None,
    ):
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total, self.desc, self.unit, self.n = total, desc, unit, int(initial)
        self.file, self.silent = file, silent
        self.interval = LINE_INTERVAL_S if interval is None else float(interval)
        self.postfix = ""
        self._last = time.monotonic()
        self.disable = silent

    def __iter__(self):
        for item in self.iterable or ():
            yield item
            self.update(1)

    def __len__(self) -> int:
        return int(self.total or 0)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: Any) -> bool:
        self.close()
        return False

    def update(self, n: int = 1) -> None:
        self.n += int(n)
        now = time.monotonic()
        if not self.silent and now - self._last >= self.interval:
            self._last = now
            self._print()

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kwargs: Any) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = str(s)

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass

    @staticmethod
    def write(s: str, file: TextIO | None = None, end: str = "\n", nolock: bool = False) -> None:
        write(s, file=file)

    def line(self) -> str:
        """The progress line as it is printed."""
        head = f"{self.desc}: " if self.desc else ""
        count = f"{self.n}/{self.total} {self.unit}" if self.total else f"{self.n} {self.unit}"
        pct = f" ({100.0 * self.n / self.total:.0f}%)" if self.total else ""
        return f"{head}{count}{pct}" + (f", {self.postfix}" if self.postfix else "")

    def _print(self) -> None:
        stream = self.file if self.file is not None else sys.stderr
        print(self.line(), file=stream, flush=True)
