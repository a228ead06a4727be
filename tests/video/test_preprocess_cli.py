"""`pulsecl preprocess`: a video, a dataset, flags mapped to config keys, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pulsecl.cli import main
from pulsecl.synthetic import generate


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    generate(root, n=2, seed=7, duration=1.0, fps=15, width=160, height=120)
    return root


def test_dataset_then_reuse_then_changed_setting(dataset, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert main(["preprocess", str(dataset), "--cache", str(cache), "--size", "16", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "subject1: 15 frames, 15.00 fps, 0 without a face" in out and "(built)" in out
    assert "preprocessed 2 video(s): 2 built, 0 reused" in out
    assert main(["preprocess", str(dataset), "--cache", str(cache), "--size", "16", "--no-progress"]) == 0
    assert "0 built, 2 reused" in capsys.readouterr().out
    assert main(["preprocess", str(dataset), "--cache", str(cache), "--set", "preprocess.size=24", "--no-progress"]) == 0
    assert "2 built, 0 reused" in capsys.readouterr().out
    assert len(list(cache.iterdir())) == 4
    crops = np.load(next(cache.glob("subject1-vid-*")) / "frames.npy")
    assert crops.shape[1:] in ((16, 16, 3), (24, 24, 3))


def test_single_video_with_default_cache(dataset, capsys):
    video = dataset / "subject2" / "vid.avi"
    assert main(["preprocess", str(video), "--roi", "full", "--size", "8"]) == 0
    out = capsys.readouterr().out
    assert "vid.avi: 15 frames" in out and str(dataset / "subject2" / ".pulsecl-cache") in out


def test_progress_bar_goes_to_stderr(dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PULSECL_PROGRESS", "bar")  # as on a terminal
    assert main(["preprocess", str(dataset), "--cache", str(tmp_path), "--size", "8"]) == 0
    captured = capsys.readouterr()
    assert "frame" in captured.err and "preprocessed 2 video(s)" in captured.out


def test_without_a_terminal_there_are_no_redraws_and_the_result_lines_stand_alone(dataset, tmp_path):
    """2> file or a CI log: no \\r, no cursor codes; the result lines are whole lines."""
    import subprocess
    import sys

    cache = tmp_path / "cache"
    out = subprocess.run(
        [sys.executable, "-m", "pulsecl", "preprocess", str(dataset), "--cache", str(cache), "--size", "8"],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "\r" not in out.stderr and "\x1b" not in out.stderr and "\r" not in out.stdout
    lines = out.stdout.splitlines()
    assert lines[0].startswith("subject1: 15 frames") and lines[1].startswith("subject2: 15 frames")
    assert lines[2].startswith("preprocessed 2 video(s)") and len(lines) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/no/such/video.avi"], "'/no/such/video.avi' does not exist"),
        (["3"], "cameras cannot be preprocessed"),
        (["{dataset}", "--roi", "skin"], "preprocess.roi = 'skin'"),
        (["{dataset}", "--detector", "hog"], "unknown face_detectors 'hog'"),
        (["{dataset}", "--dataset", "ubfc"], "unknown datasets 'ubfc'; did you mean 'ubfc-rppg'?"),
        (["{empty}"], "has no videos"),
        (["{bad}"], "cannot be opened"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(dataset, tmp_path, capsys, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.avi").write_bytes(b"\x00garbage" * 100)
    args = [a.format(dataset=dataset, empty=tmp_path / "empty", bad=tmp_path / "bad.avi") for a in args]
    cache = tmp_path / "cache"
    assert main(["preprocess", *args, "--cache", str(cache), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))


def test_a_full_disk_is_one_line_and_leaves_nothing_in_the_cache(dataset, tmp_path, capsys, disk_full):
    cache = tmp_path / "cache"
    state = disk_full(2_000)  # 15 crops of 16x16 do not fit
    video = dataset / "subject1" / "vid.avi"
    assert main(["preprocess", str(video), "--cache", str(cache), "--size", "16", "--no-progress"]) == 2
    assert state["failures"] == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert re.fullmatch(
        rf"pulsecl: error: '{re.escape(str(cache))}/subject1-vid-[0-9a-f]{{16}}/frames.npy': no space left on device; "
        r"nothing was written; free space or choose another --cache\n",
        err,
    ), err
    assert list(cache.rglob("*")) == []  # no temp file, no half entry


_PAUSED_PREPROCESS = """
import sys, time
from pathlib import Path
from pulsecl.video import cache

real = cache.NpyStreamWriter.append


def append_then_wait(self, block):
    real(self, block)
    self.fh.flush()
    Path(sys.argv[1]).touch()  # the temp file holds crops now
    time.sleep(120)


cache.NpyStreamWriter.append = append_then_wait
from pulsecl.cli import main

sys.exit(main(["preprocess", sys.argv[2], "--cache", sys.argv[3], "--size", "16", "--no-progress", "--chunk-frames", "5"]))
"""


def _paused_preprocess(video, cache, mark):
    """A `pulsecl preprocess` process stopped in the middle of writing frames.npy."""
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", _PAUSED_PREPROCESS, str(mark), str(video), str(cache)])
    for _ in range(1200):  # until the temp file holds crops (no timing is asserted)
        if mark.exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert mark.exists(), f"preprocess exited with {proc.poll()} before writing"
    return proc


def test_temp_files_of_a_killed_preprocess_are_removed_by_the_next_run(dataset, tmp_path, capsys):
    import signal

    cache = tmp_path / "cache"
    live = _paused_preprocess(dataset / "subject2" / "vid.avi", cache, tmp_path / "live.mark")
    try:
        (busy,) = cache.rglob("*.tmp")
        killed = _paused_preprocess(dataset / "subject1" / "vid.avi", cache, tmp_path / "killed.mark")
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        (orphan,) = [p for p in cache.rglob("*.tmp") if p != busy]
        assert f".pulsecl.{killed.pid}@" in orphan.name
        size = orphan.stat().st_size
        assert size > 128  # the header and some crops

        # subject1's entry is built anew (the killed process's lock does not block it);
        # subject2's is still being built by the live process, which owns it (issue 30)
        assert main(["preprocess", str(dataset), "--cache", str(cache), "--size", "16", "--no-progress"]) == 2
        assert not orphan.exists()
        assert capsys.readouterr().err == (
            f"pulsecl: warning: '{cache}': removed 1 temporary file(s) ({size / 1024:.1f} KB) "
            "left by an interrupted pulsecl run\n"
            f"pulsecl: error: cache entry '{busy.parent}' is in use by another pulsecl process (pid {live.pid}); "
            "wait for it to finish (the entry is then reused) or give another --cache\n"
        )
        assert busy.exists()  # a live process's temp file is never removed
    finally:
        live.kill()
        live.wait()
    assert main(["preprocess", str(dataset), "--cache", str(cache), "--size", "16", "--no-progress"]) == 0
    assert sorted(p.name for p in cache.rglob("*") if p.is_file() and p.suffix != ".tmp") == [
        "frames.npy", "frames.npy", "meta.json", "meta.json", "timestamps.npy", "timestamps.npy",
    ]
