"""The preprocessing cache: face crops on disk, keyed by settings and source identity.

An entry is a folder ``<cache>/<name>-<key>/`` holding

* ``frames.npy``      (T, S, S, 3) uint8 RGB crops (memory-mapped when read),
* ``timestamps.npy``  (T,) float64 seconds,
* ``meta.json``       settings, source identity, counts; written last, so an entry
  without it is incomplete and is rebuilt.

``key`` hashes the settings that change the crops (detector and its options, detection
interval, box scale, smoothing, size, roi) with the source's identity (path, size,
modification time) and :data:`CACHE_VERSION`: a second run with the same settings reuses
the entry; a changed setting or a changed file builds a new one.  Every file is written
through :func:`pulsecl.io.atomic_write`, so an error or Ctrl-C leaves no partial file.
``frames.npy`` is streamed: written chunk by chunk behind a fixed-size header that is
filled in when the frame count is known.

An entry being built is one process's (:class:`pulsecl.io.FolderLock`, from
:meth:`CacheEntry.frames_writer` until :meth:`~CacheEntry.commit` or
:meth:`~CacheEntry.discard`): a second process that wants the same entry at the same time
stops with a one-line error naming the entry and the pid building it, and leaves the
entry alone.  A lock left by a killed process does not block the next build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import struct
from collections.abc import Iterator
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from pulsecl.errors import DataError
from pulsecl.io import FolderLock, atomic_write, save_npy, tidy_dir, write_json

__all__ = [
    "CACHE_VERSION",
    "CacheEntry",
    "NpyStreamWriter",
    "cache_key",
    "cache_settings",
    "check_cache_dir",
]

#: Bumped when a code change alters the crops, so old entries are not reused.
CACHE_VERSION = 1

_KEY_FIELDS = ("detector", "detector_options", "detect_every", "box_scale", "smooth", "size", "roi", "landmarker")


def cache_settings(settings: Any) -> dict[str, Any]:
    """The settings that change the crops, as a plain dict (detector settings are left
    out when ``roi = "full"``, which runs no detector, and the landmarker unless
    ``roi = "landmarks"``)."""
    data = asdict(settings) if is_dataclass(settings) else dict(settings)
    out = {k: data[k] for k in _KEY_FIELDS if k in data}
    if out.get("roi") == "full":
        for k in ("detector", "detector_options", "detect_every", "box_scale", "smooth"):
            out.pop(k, None)
    if out.get("roi") != "landmarks":
        out.pop("landmarker", None)
    return out


def cache_key(settings: Any, identity: dict[str, Any]) -> str:
    """16 hex digits of SHA-256 over the crop settings, the source identity and the
    cache version."""
    blob = json.dumps(
        {"version": CACHE_VERSION, "settings": cache_settings(settings), "source": identity},
        sort_keys=True,
        default=str,
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


_HEADER_BYTES = 128  # room for the .npy header of any (T, S, S, 3) uint8 array


class NpyStreamWriter:
    """Appends (n, *frame_shape) blocks to an open binary file laid out as a .npy file.

    The header is reserved up front (:data:`_HEADER_BYTES`) and written by
    :meth:`finish` once the count is known.
    """

    def __init__(self, fh: IO[bytes], frame_shape: tuple[int, ...], dtype: Any = np.uint8):
        self.fh = fh
        self.frame_shape = tuple(int(v) for v in frame_shape)
        self.dtype = np.dtype(dtype)
        self.count = 0
        fh.write(b"\x00" * _HEADER_BYTES)

    def append(self, block: np.ndarray) -> None:
        block = np.ascontiguousarray(block, dtype=self.dtype)
        if block.shape[1:] != self.frame_shape:
            raise ValueError(f"block of shape {block.shape} does not match frames {self.frame_shape}")
        self.fh.write(block.data)
        self.count += block.shape[0]

    def finish(self) -> None:
        header = repr(
            {"descr": self.dtype.str, "fortran_order": False, "shape": (self.count, *self.frame_shape)}
        ).encode("latin1")
        room = _HEADER_BYTES - 10  # magic (6) + version (2) + header length (2)
        if len(header) + 1 > room:
            raise ValueError("npy header does not fit")  # impossible for 4-D uint8 frames
        header = header + b" " * (room - len(header) - 1) + b"\n"
        self.fh.seek(0)
        self.fh.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", room) + header)
        self.fh.seek(0, os.SEEK_END)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:60] or "video"


class CacheEntry:
    """One cache entry (see the module docstring)."""

    def __init__(self, cache_dir: str | os.PathLike[str], name: str, key: str):
        self.root = Path(cache_dir)
        self.key = key
        self.dir = self.root / f"{_safe_name(name)}-{key}"
        self.frames_path = self.dir / "frames.npy"
        self.timestamps_path = self.dir / "timestamps.npy"
        self.meta_path = self.dir / "meta.json"
        self._lock: FolderLock | None = None  # held while this process builds the entry
        self._foreign = False  # another process was building it: discard() must leave it alone

    def load(self) -> tuple[np.ndarray, np.ndarray, dict[str, Any]] | None:
        """``(frames memmap (T, S, S, 3), timestamps (T,), meta)`` if the entry is
        complete and consistent, else None (then it is rebuilt)."""
        if not self.meta_path.is_file():
            return None
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
            frames = np.load(self.frames_path, mmap_mode="r")
            timestamps = np.load(self.timestamps_path)
        except (OSError, ValueError):
            return None
        if (
            meta.get("key") != self.key
            or frames.ndim != 4
            or frames.shape[0] != timestamps.shape[0]
            or frames.shape[0] != meta.get("n_frames")
        ):
            return None
        return frames, timestamps, meta

    @contextlib.contextmanager
    def frames_writer(self, frame_shape: tuple[int, int, int]) -> Iterator[NpyStreamWriter]:
        """Stream frames into ``frames.npy`` atomically: the file appears complete on
        leaving the block, or not at all.  Takes the entry's lock, which
        :meth:`commit` or :meth:`discard` releases (a BusyError if another process is
        building the entry)."""
        self._acquire()
        with contextlib.suppress(FileNotFoundError):
            self.meta_path.unlink()  # an entry being rebuilt is not complete
        with atomic_write(self.frames_path, "wb") as fh:
            writer = NpyStreamWriter(fh, frame_shape)
            yield writer
            writer.finish()

    def _acquire(self) -> None:
        from pulsecl.errors import BusyError

        if self._lock is None:
            self._lock = FolderLock(
                self.dir, "cache entry", hint="wait for it to finish (the entry is then reused) or give another --cache"
            )
        try:
            self._lock.acquire()
        except BusyError:
            self._foreign = True
            raise

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()

    def commit(self, timestamps: np.ndarray, meta: dict[str, Any]) -> None:
        """Write timestamps, then meta.json (which marks the entry complete); then let
        go of the entry's lock."""
        save_npy(self.timestamps_path, np.asarray(timestamps, dtype=np.float64))
        write_json(self.meta_path, {**meta, "key": self.key})
        self._release()  # on an error the caller's discard() cleans up and releases

    def discard(self) -> None:
        """Remove what a failed or interrupted build left (its folder too, when empty):
        an entry without meta.json is never used, and on a full disk the space is
        wanted back.  An entry that another process is building is left alone."""
        if self._foreign:
            return
        for p in (self.meta_path, self.timestamps_path, self.frames_path):
            with contextlib.suppress(OSError):
                p.unlink()
        self._release()
        with contextlib.suppress(OSError):
            self.dir.rmdir()

    def __repr__(self) -> str:
        return f"CacheEntry({str(self.dir)!r})"


def check_cache_dir(cache_dir: str | os.PathLike[str]) -> Path:
    """The cache folder, created if needed; DataError if it cannot be."""
    p = Path(cache_dir)
    if p.exists() and not p.is_dir():
        raise DataError(f"cache '{p}' exists and is not a folder; give a folder for the cache")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cache folder '{p}' cannot be created: {exc.strerror}") from None
    if not os.access(p, os.W_OK):
        raise DataError(f"cache folder '{p}' is not writable; give another folder (--cache)")
    tidy_dir(p, depth=1)  # temp files that a kill -9 left in the entries
    return p

