"""Helpers shared by the dataset loaders: finding videos, reading numeric text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pulsecl.data import natural_key
from pulsecl.errors import DataError
from pulsecl.video.sources import VIDEO_EXTENSIONS

__all__ = ["find_videos", "visible_dirs", "read_rows"]


def visible_dirs(root: Path) -> list[Path]:
    """Sub-folders of ``root`` not starting with '.' (the cache lives in .pulsecl-cache),
    naturally sorted."""
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: natural_key(p.name))


def _walk(root: Path, depth: int) -> Iterator[Path]:
    for p in sorted(root.iterdir(), key=lambda q: natural_key(q.name)):
        if p.name.startswith("."):
            continue
        if p.is_dir():
            if depth > 0:
                yield from _walk(p, depth - 1)
        elif p.suffix.lower() in VIDEO_EXTENSIONS:
            yield p


def find_videos(root: Path, depth: int = 3) -> list[Path]:
    """Video files under ``root`` (up to ``depth`` folders down, hidden ones skipped)."""
    return list(_walk(root, depth))


def has_video(root: Path, depth: int = 2) -> bool:
    """Whether there is at least one video file under ``root`` (stops at the first)."""
    return next(_walk(root, depth), None) is not None


def read_rows(path: Path) -> list[np.ndarray]:
    """Rows of whitespace- or comma-separated numbers (blank lines skipped).

    DataError naming the file when it is missing, unreadable, empty or not numeric.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise DataError(f"ground truth '{path}' does not exist") from None
    except OSError as exc:
        raise DataError(f"ground truth '{path}' cannot be read: {exc.strerror}") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            rows.append(np.array([float(v) for v in line.replace(",", " ").split()], dtype=np.float64))
        except ValueError:
            raise DataError(f"ground truth '{path}', line {n}: not a row of numbers") from None
    if not rows:
        raise DataError(f"ground truth '{path}' is empty")
    return rows
