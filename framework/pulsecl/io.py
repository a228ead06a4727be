"""Atomic file writes: a crash or Ctrl-C never leaves a half-written file.

Everything pulsecl writes that a user keeps (caches, checkpoints, reports) goes through
:func:`atomic_write`: the data goes to a temporary file in the same folder, is flushed to
disk, then renamed over the target in one step.

A full disk (or quota, or read-only folder) is a :class:`pulsecl.errors.StorageError`
naming the file, raised after the temporary file is removed: the CLI prints it as one
line (``'<path>': no space left on device; nothing was written; free space or choose
another --cache/--out``) and exits with status 2.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "append_text", "storage_error", "write_text", "write_json", "save_npy"]

_UMASK = os.umask(0)
os.umask(_UMASK)


#: errno values that mean "the disk (or the user's share of it) is full".
_FULL = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded", errno.EFBIG: "file too large"}


def storage_error(path: str | os.PathLike[str], exc: OSError):
    """The one-line :class:`~pulsecl.errors.StorageError` for ``exc`` raised while
    writing ``path``."""
    from pulsecl.errors import StorageError

    if exc.errno in _FULL:
        return StorageError(
            f"'{path}': {_FULL[exc.errno]}; nothing was written; free space or choose another --cache/--out"
        )
    reason = exc.strerror or type(exc).__name__
    return StorageError(f"'{path}': cannot write ({reason}); nothing was written; choose another --cache/--out")


def _is_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _FULL


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success rename it to ``path``.

    On any exception (KeyboardInterrupt included) the temporary file is removed and
    ``path`` is left as it was.  A full disk raised by the caller's writes, and any
    OSError of creating, syncing or renaming the file, becomes a
    :class:`~pulsecl.errors.StorageError` naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise storage_error(path, exc) from None
    ours = False  # True while an OSError comes from our own calls, not the caller's
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
            ours = True
            fh.flush()
            os.fsync(fh.fileno())
        ours = True  # closing flushes what is buffered
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and (ours or _is_full(exc)):
            raise storage_error(path, exc) from None
        raise


def append_text(path: str | os.PathLike[str], text: str) -> None:
    """Append ``text`` to ``path`` (UTF-8), all or nothing: if the write fails (a full
    disk), the file is cut back to its old length and a
    :class:`~pulsecl.errors.StorageError` names it.  For logs that grow row by row."""
    path = Path(path)
    data = text.encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab", buffering=0) as fh:  # unbuffered: nothing is left to flush later
            start = fh.seek(0, os.SEEK_END)
            try:
                view = memoryview(data)
                while view:
                    view = view[fh.write(view) :]
            except BaseException:
                with contextlib.suppress(OSError):
                    os.truncate(path, start)
                raise
    except OSError as exc:
        raise storage_error(path, exc) from None


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_write(path, "w") as fh:
        fh.write(text)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def save_npy(path: str | os.PathLike[str], array: Any) -> None:
    """Save a numpy array to ``path`` (.npy) atomically."""
    import numpy as np

    with atomic_write(path, "wb") as fh:
        np.save(fh, np.asarray(array), allow_pickle=False)
