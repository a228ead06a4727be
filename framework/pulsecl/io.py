"""Atomic file writes: a crash or Ctrl-C never leaves a half-written file.

Everything pulsecl writes that a user keeps (caches, checkpoints, reports) goes through
:func:`atomic_write`: the data goes to a temporary file in the same folder, is flushed to
disk, then renamed over the target in one step.

A full disk (or quota, or read-only folder) is a :class:`pulsecl.errors.StorageError`
naming the file, raised after the temporary file is removed: the CLI prints it as one
line (``'<path>': no space left on device; nothing was written; free space or choose
another --cache/--out``) and exits with status 2.

Temporary files are named ``.<name>.pulsecl.<pid>@<host>.<random>.tmp``.  A process
killed with ``kill -9`` (or a power cut) cannot remove its own, so the next run calls
:func:`remove_stale_temp_files` on the folders it writes (the preprocessing cache, run
folders, benchmark folders): it removes the temporary files whose writer process no
longer exists on this host, and those untouched for :data:`STALE_AFTER_S` (from another
host, or from pulsecl versions before the pid was in the name); never a live process's.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "STALE_AFTER_S",
    "atomic_write",
    "atomic_write_all",
    "append_text",
    "remove_stale_temp_files",
    "storage_error",
    "temp_prefix",
    "tidy_dir",
    "write_text",
    "write_json",
    "save_npy",
]

_UMASK = os.umask(0)
os.umask(_UMASK)


#: A temporary file untouched this long is stale even when its writer cannot be checked
#: (another host, or a name without a pid); a live writer touches its file as it writes.
STALE_AFTER_S = 24 * 3600.0

_HOST = re.sub(r"[^A-Za-z0-9_-]+", "_", socket.gethostname() or "host")[:32] or "host"
# .<name>.pulsecl.<pid>@<host>.<8 random characters from mkstemp>.tmp
_OURS = re.compile(r"^\..+\.pulsecl\.(?P<pid>\d+)@(?P<host>[A-Za-z0-9_-]+)\.[a-z0-9_]{8}\.tmp$")
# what atomic_write named them before the pid was in the name: .<name>.<8 random>.tmp
_LEGACY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def temp_prefix(path: str | os.PathLike[str]) -> str:
    """The name prefix of :func:`atomic_write`'s temporary file for ``path``: it carries
    this process's pid and host, so a later run can tell whether its writer is alive."""
    return f".{Path(path).name}.pulsecl.{os.getpid()}@{_HOST}."


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or cannot tell: keep its file
    return True


def _stale(entry: os.DirEntry, now: float, max_age_s: float) -> bool:
    m = _OURS.match(entry.name)
    if m is not None and m.group("host") == _HOST:
        return not _alive(int(m.group("pid")))  # a live writer's file is never removed
    if m is None and not _LEGACY.match(entry.name):
        return False  # not a pulsecl temporary file
    try:
        return now - entry.stat(follow_symlinks=False).st_mtime > max_age_s
    except OSError:
        return False


def remove_stale_temp_files(
    folder: str | os.PathLike[str], depth: int = 1, max_age_s: float = STALE_AFTER_S
) -> list[tuple[Path, int]]:
    """Remove the temporary files that killed pulsecl processes left in ``folder`` and
    its subfolders down to ``depth`` levels (see the module docstring); returns
    ``[(path, bytes)]`` of what was removed.  Errors (a file gone meanwhile, no
    permission) are skipped: this only ever tidies up."""
    removed: list[tuple[Path, int]] = []
    now = time.time()

    def scan(d: Path, level: int) -> None:
        try:
            entries = list(os.scandir(d))
        except OSError:
            return
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    if level < depth:
                        scan(Path(e.path), level + 1)
                elif e.name.endswith(".tmp") and e.is_file(follow_symlinks=False) and _stale(e, now, max_age_s):
                    size = e.stat(follow_symlinks=False).st_size
                    os.unlink(e.path)
                    removed.append((Path(e.path), int(size)))
            except OSError:
                continue

    scan(Path(folder), 0)
    return removed


_TIDIED: set[str] = set()


def tidy_dir(folder: str | os.PathLike[str], depth: int = 0) -> list[tuple[Path, int]]:
    """:func:`remove_stale_temp_files` once per process per folder, with one warning
    line (:func:`pulsecl.warn.warn`) saying what was freed."""
    key = f"{Path(folder).resolve()}:{depth}"
    if key in _TIDIED or not Path(folder).is_dir():
        return []
    _TIDIED.add(key)
    removed = remove_stale_temp_files(folder, depth=depth)
    if removed:
        from pulsecl.warn import warn

        warn(
            f"'{folder}': removed {len(removed)} temporary file(s) ({_size(sum(n for _, n in removed))}) "
            "left by an interrupted pulsecl run"
        )
    return removed


def _size(n: float) -> str:
    if n < 1024:
        return f"{int(n)} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        n /= 1024
        if n < 1024 or unit == "TB":
            break
    return f"{n:.1f} {unit}"


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
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
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


def atomic_write_all(files: dict[str | os.PathLike[str], bytes | str]) -> None:
    """Write several files all or none: every file goes to its temporary file first, and
    only when all are written are they renamed into place.  A failing write (a full
    disk: :class:`~pulsecl.errors.StorageError`) or Ctrl-C leaves none of them."""
    with contextlib.ExitStack() as stack:
        for path, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            fh = stack.enter_context(atomic_write(path, "wb"))
            fh.write(data)
        # leaving the stack renames each file into place (none was renamed before)


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
