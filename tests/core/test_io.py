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
