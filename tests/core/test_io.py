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
