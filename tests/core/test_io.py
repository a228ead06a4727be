"""Atomic writes: the target is either the old file or the complete new one."""

import json

import numpy as np
import pytest

from pulsecl.io import atomic_write, save_npy, write_json, write_text


def test_complete_writes(tmp_path):
    write_text(tmp_path / "a" / "b.txt", "hello")
    write_json(tmp_path / "c.json", {"x": 1})
    save_npy(tmp_path / "d.npy", np.arange(3))
    assert (tmp_path / "a" / "b.txt").read_text() == "hello"
    assert json.loads((tmp_path / "c.json").read_text()) == {"x": 1}
    assert np.load(tmp_path / "d.npy").tolist() == [0, 1, 2]


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_interrupted_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, exc):
    target = tmp_path / "report.md"
    target.write_text("old report")
    with pytest.raises(exc):
        with atomic_write(target, "w") as fh:
            fh.write("half of the new rep")
            raise exc
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    write_text(tmp_path / "r.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "r.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def _no_temp_files(folder):
    return [p.name for p in folder.rglob("*.tmp")] == []


def test_a_full_disk_is_a_one_line_storage_error_and_keeps_the_old_file(tmp_path, disk_full):
    from pulsecl.errors import PulseclError, StorageError

    target = tmp_path / "cache" / "frames.npy"
    target.parent.mkdir()
    target.write_bytes(b"old")
    state = disk_full(1000)
    with pytest.raises(StorageError) as err:
        save_npy(target, np.zeros(10_000, np.uint8))
    assert isinstance(err.value, PulseclError) and state["failures"] == 1
    assert str(err.value) == (
        f"'{target}': no space left on device; nothing was written; free space or choose another --cache/--out"
    )
    assert target.read_bytes() == b"old" and _no_temp_files(tmp_path)


@pytest.mark.parametrize("code, text", [(28, "no space left on device"), (122, "disk quota exceeded")])
def test_a_full_disk_raised_by_the_callers_write_is_reported_too(tmp_path, code, text):
    import errno

    from pulsecl.errors import StorageError

    assert (errno.ENOSPC, errno.EDQUOT) == (28, 122)
    with pytest.raises(StorageError, match=f"^'{tmp_path / 'r.md'}': {text}; nothing was written"):
        with atomic_write(tmp_path / "r.md", "w") as fh:
            fh.write("x")
            raise OSError(code, "full")
    assert list(tmp_path.iterdir()) == []


def test_other_errors_of_the_callers_code_pass_through(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_write(tmp_path / "r.md", "w"):
            open(tmp_path / "missing-input.txt")
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_folder_is_a_storage_error(tmp_path, monkeypatch):
    import errno
    import tempfile

    from pulsecl.errors import StorageError

    def refuse(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(StorageError) as err:
        write_json(tmp_path / "x.json", {})
    assert str(err.value) == (
        f"'{tmp_path / 'x.json'}': cannot write (Read-only file system); nothing was written; "
        "choose another --cache/--out"
    )


def test_append_text_is_all_or_nothing(tmp_path, monkeypatch):
    import builtins
    import errno

    import pulsecl.io as io_mod
    from pulsecl.errors import StorageError
    from pulsecl.io import append_text

    log = tmp_path / "log.csv"
    append_text(log, "step,loss\r\n1,0.5\r\n")

    class Filling:  # the disk fills after 3 bytes of the new rows
        def __init__(self, fh):
            self.fh = fh

        def write(self, data):
            self.fh.write(bytes(memoryview(data)[:3]))
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(io_mod, "open", lambda *a, **k: Filling(builtins.open(*a, **k)), raising=False)
    with pytest.raises(StorageError) as err:
        append_text(log, "2,0.4\r\n3,0.3\r\n")
    assert str(err.value) == f"'{log}': no space left on device; nothing was written; free space or choose another --cache/--out"
    monkeypatch.undo()
    assert log.read_bytes() == b"step,loss\r\n1,0.5\r\n"


def _dead_pid():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # exited and reaped: no process has this pid now


def test_temp_files_carry_the_writers_pid(tmp_path):
    import os

    from pulsecl.io import temp_prefix

    seen = []
    with atomic_write(tmp_path / "frames.npy") as fh:
        seen = [p.name for p in tmp_path.iterdir()]
        fh.write(b"x")
    assert len(seen) == 1 and seen[0].startswith(temp_prefix(tmp_path / "frames.npy"))
    assert f".pulsecl.{os.getpid()}@" in seen[0] and seen[0].endswith(".tmp")


def test_stale_temp_files_are_removed_and_live_or_foreign_ones_kept(tmp_path):
    import os
    import subprocess
    import sys
    import time

    import pulsecl.io as io_mod
    from pulsecl.io import STALE_AFTER_S, remove_stale_temp_files

    host = io_mod._HOST
    entry = tmp_path / "subject1-vid-0123456789abcdef"
    entry.mkdir()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        old = time.time() - STALE_AFTER_S - 60
        files = {
            "dead": entry / f".frames.npy.pulsecl.{_dead_pid()}@{host}.abcd1234.tmp",
            "live": entry / f".frames.npy.pulsecl.{live.pid}@{host}.abcd1234.tmp",
            "mine": entry / f".meta.json.pulsecl.{os.getpid()}@{host}.abcd1234.tmp",
            "live_but_old": entry / f".timestamps.npy.pulsecl.{live.pid}@{host}.zzzz9999.tmp",
            "foreign_new": entry / ".frames.npy.pulsecl.77@otherhost.abcd1234.tmp",
            "foreign_old": entry / ".frames.npy.pulsecl.78@otherhost.abcd1234.tmp",
            "legacy_new": entry / ".frames.npy.k2j4h6g8.tmp",
            "legacy_old": entry / ".frames.npy.a1b2c3d4.tmp",
            "not_ours": entry / "notes.tmp",
            "not_ours_old": entry / ".cache.tmp",
            "deep_dead": tmp_path / "a" / "b" / f".x.pulsecl.{_dead_pid()}@{host}.abcd1234.tmp",
        }
        for p in files.values():
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"0123456789")
        for name in ("live_but_old", "foreign_old", "legacy_old", "not_ours_old"):
            os.utime(files[name], (old, old))
        removed = remove_stale_temp_files(tmp_path, depth=1)
        assert sorted(p.name for p, _ in removed) == sorted(files[k].name for k in ("dead", "foreign_old", "legacy_old"))
        assert all(n == 10 for _, n in removed)
        kept = {k for k, p in files.items() if p.exists()}
        assert kept == {"live", "mine", "live_but_old", "foreign_new", "legacy_new", "not_ours", "not_ours_old", "deep_dead"}
        assert remove_stale_temp_files(tmp_path, depth=2) == [(files["deep_dead"], 10)]
    finally:
        live.kill()
        live.wait()


# -- issue 30: folder locks, strict JSON, the flag a write error names, outputs checked first --


def test_a_folder_lock_names_the_holder_and_a_killed_holder_does_not_block(tmp_path, hold_lock):
    import os

    from pulsecl.errors import BusyError
    from pulsecl.io import LOCK_NAME, FolderLock

    run = tmp_path / "run"
    holder = hold_lock(run)
    with pytest.raises(BusyError) as err:
        FolderLock(run, "run folder", hint="wait for it to finish or choose another --out").acquire()
    assert str(err.value) == (
        f"run folder '{run}' is in use by another pulsecl process (pid {holder.pid}); "
        "wait for it to finish or choose another --out"
    )
    holder.kill()  # kill -9: its lock file stays behind, stale
    holder.wait()
    assert (run / LOCK_NAME).is_file()
    with FolderLock(run) as lock:
        assert lock.held and (run / LOCK_NAME).read_text().split("@")[0] == str(os.getpid())
    assert list(run.iterdir()) == []  # released: no lock file left


def test_one_process_cannot_take_a_folder_twice_and_an_unused_folder_is_removed(tmp_path):
    from pulsecl.errors import BusyError
    from pulsecl.io import FolderLock

    folder = tmp_path / "new" / "entry"
    with FolderLock(folder, "cache entry"):
        with pytest.raises(BusyError, match="cache entry '.*entry' is in use by another pulsecl process"):
            FolderLock(folder, "cache entry").acquire()
    assert not folder.exists()  # the lock made it and nothing was written there
    with FolderLock(folder):
        (folder / "kept.txt").write_text("x")
    assert [p.name for p in folder.iterdir()] == ["kept.txt"]


def _strict(text):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_write_json_writes_strict_json_with_null_for_nan_and_infinity(tmp_path):
    write_json(tmp_path / "m.json", {"pearson": float("nan"), "r": [np.float32("inf"), 1.5], "n": np.int64(2),
                                     "a": np.array([np.nan, 2.0])})
    assert _strict((tmp_path / "m.json").read_text()) == {"pearson": None, "r": [None, 1.5], "n": 2, "a": [None, 2.0]}


def test_a_write_error_names_the_flag_that_chose_the_output(tmp_path, disk_full):
    from pulsecl.errors import StorageError
    from pulsecl.io import output_flags

    disk_full(10)
    with output_flags({tmp_path / "out": "--out", tmp_path / "out" / "s.json": "--json", None: "--cache"}):
        with pytest.raises(StorageError, match=r"free space or choose another --json$"):
            write_json(tmp_path / "out" / "s.json", {"x": "y" * 100})
        with pytest.raises(StorageError, match=r"free space or choose another --out$"):
            write_text(tmp_path / "out" / "hr.csv", "z" * 100)
    with pytest.raises(StorageError, match=r"free space or choose another --cache/--out$"):
        write_text(tmp_path / "elsewhere.txt", "z" * 100)


def test_check_output_finds_an_output_that_cannot_be_made_before_any_work(tmp_path):
    from pulsecl.errors import DataError
    from pulsecl.io import check_output

    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match=r"^--out '.*file' exists and is not a folder; give a folder$"):
        check_output(tmp_path / "file", "--out", folder=True)
    with pytest.raises(DataError, match=r"^--json '.*' is a folder; give a file name$"):
        check_output(tmp_path, "--json", folder=False)
    with pytest.raises(DataError, match=r"'.*file' is a file, not a folder; choose another --json$"):
        check_output(tmp_path / "file" / "deeper" / "s.json", "--json", folder=False)
    assert check_output(tmp_path / "a" / "b", "--out", folder=True) == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists()  # nothing is created


def test_check_room_finds_a_full_disk_and_leaves_nothing(tmp_path, disk_full):
    from pulsecl.errors import StorageError
    from pulsecl.io import check_room

    check_room(tmp_path / "last.pt", 50_000)
    disk_full(20_000)
    with pytest.raises(StorageError, match=r"last.pt': no space left on device"):
        check_room(tmp_path / "last.pt", 50_000)
    assert list(tmp_path.iterdir()) == []
