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

Four more guards for the files a command writes:

* :class:`FolderLock` makes a folder (a run folder, a preprocessing cache entry, a
  benchmark folder) one process's at a time: a second writer gets a one-line
  :class:`~pulsecl.errors.BusyError` naming the folder and the holder's pid, and a lock
  left by a killed process never blocks the next run.
* :func:`write_json` writes strict JSON: NaN and infinities become ``null``
  (:func:`finite_json`), which every JSON parser reads.
* :func:`output_flags` tells :func:`storage_error` which command-line flag chose an
  output, so a write error says which flag to change (``--json``, ``--out``, ``--cache``).
* :func:`check_output` and :func:`check_room` find an output that cannot be written
  before the work starts, not after it.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import json
import math
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "LOCK_NAME",
    "STALE_AFTER_S",
    "FolderLock",
    "atomic_write",
    "atomic_write_all",
    "append_text",
    "check_output",
    "check_room",
    "finite_json",
    "json_text",
    "output_flags",
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


#: The flags that chose the outputs being written now: ((absolute path, flag), ...).
_FLAGS: contextvars.ContextVar[tuple[tuple[Path, str], ...]] = contextvars.ContextVar("pulsecl_output_flags", default=())

#: What a write error suggests when no :func:`output_flags` names the output.
DEFAULT_FLAG = "--cache/--out"


@contextlib.contextmanager
def output_flags(flags: dict[str | os.PathLike[str] | None, str]) -> Iterator[None]:
    """Inside the block, a write error under one of ``flags``' paths (a file, or a
    folder and what is in it) names that flag: ``{"s.json": "--json"}`` makes a full disk
    say "choose another --json" rather than :data:`DEFAULT_FLAG`.  None keys are
    skipped (an option not given)."""
    given = tuple((Path(os.path.abspath(p)), flag) for p, flag in flags.items() if p is not None)
    token = _FLAGS.set(_FLAGS.get() + given)
    try:
        yield
    finally:
        _FLAGS.reset(token)


def _flag_for(path: str | os.PathLike[str]) -> str:
    """The flag of the innermost :func:`output_flags` path holding ``path``."""
    target = Path(os.path.abspath(path))
    best: tuple[int, str] | None = None
    for root, flag in _FLAGS.get():
        if target == root or root in target.parents:
            if best is None or len(root.parts) >= best[0]:
                best = (len(root.parts), flag)
    return best[1] if best else DEFAULT_FLAG


def _temp_beside(path: Path) -> tuple[int, str]:
    """``(fd, name)`` of a new temporary file in ``path``'s folder (made if missing), named
    after ``path`` (:func:`temp_prefix`); a StorageError naming ``path`` if it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise storage_error(path, exc) from None


def storage_error(path: str | os.PathLike[str], exc: OSError):
    """The one-line :class:`~pulsecl.errors.StorageError` for ``exc`` raised while
    writing ``path`` (naming the flag that chose it, see :func:`output_flags`)."""
    from pulsecl.errors import StorageError

    flag = _flag_for(path)
    if exc.errno in _FULL:
        return StorageError(
            f"'{path}': {_FULL[exc.errno]}; nothing was written; free space or choose another {flag}"
        )
    reason = exc.strerror or type(exc).__name__
    return StorageError(f"'{path}': cannot write ({reason}); nothing was written; choose another {flag}")


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
    fd, tmp = _temp_beside(path)
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


def finite_json(value: Any) -> Any:
    """``value`` with every NaN and infinity (Python or numpy floats, in nested dicts,
    lists and tuples) replaced by None, and numpy scalars and arrays made plain: JSON has
    no NaN, and strict parsers reject the ``NaN`` that Python's json writes."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    if type(value).__module__ == "numpy":  # numpy scalars and arrays, without importing numpy
        if hasattr(value, "tolist"):
            return finite_json(value.tolist())
    return value


def json_text(obj: Any, indent: int | None = 2) -> str:
    """``obj`` as strict JSON text (what :func:`write_json` writes): non-finite numbers
    are ``null`` (:func:`finite_json`), other objects (paths) their ``str``."""
    return json.dumps(finite_json(obj), indent=indent, sort_keys=False, default=str, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented, strict JSON (:func:`json_text`) to ``path`` atomically."""
    write_text(path, json_text(obj))


def check_output(path: str | os.PathLike[str], flag: str, *, folder: bool) -> Path:
    """Check, before any work, that an output can be made at ``path`` (a folder when
    ``folder``, else a file): it is not a file where a folder is wanted (or the other way
    round), and the nearest folder that exists above it is a writable folder.  Nothing
    is created.  A :class:`~pulsecl.errors.DataError` names ``flag`` and the path."""
    from pulsecl.errors import DataError, StorageError

    p = Path(path)
    if folder and p.exists() and not p.is_dir():
        raise DataError(f"{flag} '{p}' exists and is not a folder; give a folder")
    if not folder and p.is_dir():
        raise DataError(f"{flag} '{p}' is a folder; give a file name")
    here = p if (folder and p.is_dir()) else p.parent
    here = Path(os.path.abspath(here))
    while not here.exists() and here != here.parent:
        here = here.parent
    if not here.is_dir():
        raise DataError(f"{flag} '{p}': '{here}' is a file, not a folder; choose another {flag}")
    if not os.access(here, os.W_OK | os.X_OK):
        raise StorageError(f"{flag} '{p}': the folder '{here}' is not writable; choose another {flag}")
    return p


def check_room(path: str | os.PathLike[str], nbytes: int) -> None:
    """Check that ``nbytes`` can be written beside ``path`` now, by writing that many
    bytes to a temporary file there and removing it (``path`` itself is not touched).
    For a long job whose first output comes late (a training's first checkpoint): a
    full disk or quota is then a :class:`~pulsecl.errors.StorageError` naming ``path``
    before the work, not after it."""
    path = Path(path)
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            block = bytes(min(int(nbytes), 1 << 20))
            left = int(nbytes)
            while left > 0:
                fh.write(block[: min(left, len(block))])
                left -= len(block)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise storage_error(path, exc) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


# ----------------------------------------------------------------------------------------
# Folder locks
# ----------------------------------------------------------------------------------------

#: The lock file :class:`FolderLock` keeps in a folder while a process writes it.
LOCK_NAME = ".pulsecl.lock"

try:  # POSIX: the kernel drops an flock when its holder dies, however it dies
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - Windows: O_EXCL and a pid check instead
    _fcntl = None


class FolderLock:
    """One process at a time writes ``folder``: a lock file ``folder/.pulsecl.lock``
    holding the writer's ``pid@host``.

    On POSIX the file is locked with ``fcntl.flock``, which the kernel releases when the
    holder exits, however it exits (``kill -9`` included): a lock file left behind by a
    killed run is simply taken over, and a reused pid cannot fake a live holder.
    Elsewhere the file is created with ``O_CREAT | O_EXCL`` and one whose pid no longer
    runs on this host is stale and replaced.  A second writer gets a one-line
    :class:`~pulsecl.errors.BusyError`: ``run folder 'r' is in use by another pulsecl
    process (pid 1234); wait for it to finish or choose another --out``.

    ``what`` names the folder in that message ("run folder", "cache entry"), ``hint`` is
    what to do instead.  The folder is created if needed, and removed again on
    :meth:`release` when this lock created it and nothing was written in it.  Use as a
    context manager, or :meth:`acquire` and :meth:`release`.
    """

    def __init__(self, folder: str | os.PathLike[str], what: str = "folder", hint: str = "wait for it to finish"):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.what = what
        self.hint = hint
        self._fd: int | None = None
        self._made_folder = False

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "FolderLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def _busy(self, holder: str):
        from pulsecl.errors import BusyError

        pid, _, host = holder.strip().partition("@")
        who = f"pid {pid}" if pid.isdigit() else "pid unknown"
        if host and host != _HOST:
            who += f" on {host}"
        return BusyError(
            f"{self.what} '{self.folder}' is in use by another pulsecl process ({who}); {self.hint}"
        )

    def acquire(self) -> None:
        """Take the lock, or raise :class:`~pulsecl.errors.BusyError` at once."""
        if self._fd is not None:
            return
        try:
            if not self.folder.is_dir():
                self.folder.mkdir(parents=True)
                self._made_folder = True
        except FileExistsError:
            pass  # made meanwhile by another process: fine, the lock decides
        except OSError as exc:
            raise storage_error(self.folder, exc) from None
        for _ in range(20):  # a holder releasing meanwhile: look again
            try:
                got = self._try_flock() if _fcntl is not None else self._try_exclusive()
            except OSError as exc:
                raise storage_error(self.path, exc) from None
            if got:
                return
        raise self._busy(_read_holder(self.path))  # pragma: no cover - a lock changing hands 20 times

    def _try_flock(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
        try:
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EACCES, errno.EAGAIN):
                raise self._busy(_read_holder(self.path)) from None
            raise
        # The holder before us may have removed the file after we opened it: then we
        # hold a lock on a file nobody else can see, and must take the new one.
        try:
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}@{_HOST}\n".encode())
        self._fd = fd
        return True

    def _try_exclusive(self) -> bool:  # pragma: no cover - exercised where fcntl is missing
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666 & ~_UMASK)
        except FileExistsError:
            holder = _read_holder(self.path)
            pid, _, host = holder.strip().partition("@")
            if host == _HOST and pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)  # stale: its process is gone
                return False
            raise self._busy(holder) from None
        os.write(fd, f"{os.getpid()}@{_HOST}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Remove the lock file and let go (nothing if not held); the folder too when
        this lock created it and it is empty."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # while still held: no one can be between our unlink and close
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = None
        if self._made_folder:
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only succeeds when nothing was written in it
            self._made_folder = False


def _read_holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def save_npy(path: str | os.PathLike[str], array: Any) -> None:
    """Save a numpy array to ``path`` (.npy) atomically."""
    import numpy as np

    with atomic_write(path, "wb") as fh:
        np.save(fh, np.asarray(array), allow_pickle=False)
