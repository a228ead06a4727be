"""`pulsecl predict`: outputs, the printed heart rate, and one-line errors that leave
nothing behind."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from pulsecl.cli import main


def test_predict_writes_csvs_json_and_png(videos, tmp_path, capsys):
    video = videos["dark-30fps"]
    out = tmp_path / "out"
    rc = main(["predict", str(video.path), "--out", str(out), "--json", str(tmp_path / "s.json"), "--no-progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert f"{summary['hr_bpm']:.1f} bpm" in printed
    assert abs(summary["hr_bpm"] - video.hr_bpm) < 3.0
    assert summary == json.loads((tmp_path / "s.json").read_text())
    for key in ("fs", "frames_read", "frames_without_face", "method", "checkpoint", "pulsecl_version", "windows"):
        assert key in summary
    assert summary["frames_read"] == video.n_frames and summary["method"] == "pos"
    assert {"hr_bpm", "snr_db", "ipr", "t_s"} <= set(summary["windows"][0])
    rows = list(csv.DictReader((out / "hr.csv").open()))
    assert len(rows) == len(summary["windows"])
    assert float(rows[0]["hr_bpm"]) == pytest.approx(summary["windows"][0]["hr_bpm"], abs=1e-3)
    pulse = np.loadtxt(out / "pulse.csv", delimiter=",", skiprows=1)
    assert pulse.shape == (video.n_frames, 2)
    assert (out / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == ["beats.csv", "hr.csv", "plot.png", "pulse.csv", "summary.json"]


def _fails(argv, capsys, expected):
    rc = main(argv + ["--no-progress"] if len(argv) > 1 else argv)  # no progress bar on stderr
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("pulsecl: error: ")
    assert expected in err[0]
    return err[0]


def test_missing_video(tmp_path, capsys):
    _fails(["predict", str(tmp_path / "gone.avi"), "--out", str(tmp_path / "out")], capsys, "gone.avi' does not exist")
    assert not (tmp_path / "out").exists()


def test_not_a_video(tmp_path, capsys):
    bad = tmp_path / "notes.avi"
    bad.write_text("this is not a video\n")
    _fails(["predict", str(bad), "--out", str(tmp_path / "out")], capsys, "cannot be opened: not a video")
    assert not (tmp_path / "out").exists()


def test_no_face(tmp_path, capsys):
    from pulsecl.video.writer import write_video

    rng = np.random.default_rng(0)
    path = tmp_path / "wall.avi"
    write_video(path, ((90 + 10 * rng.random((120, 160, 3))).astype(np.uint8) for _ in range(150)), 30.0)
    _fails(["predict", str(path), "--out", str(tmp_path / "out"), "--json", str(tmp_path / "s.json")], capsys,
           "no face found in")
    assert not (tmp_path / "out").exists() and not (tmp_path / "s.json").exists()


def test_frame_rate_too_low(tmp_path, capsys):
    from pulsecl.synthetic import synthesize
    from pulsecl.video.writer import write_video

    subject = synthesize(seed=1, duration=8.0, fps=6.0, width=160, height=120)
    path = tmp_path / "slow.avi"
    write_video(path, (b for b, _ in subject.frames()), subject.fps)
    line = _fails(["predict", str(path), "--out", str(tmp_path / "out")], capsys, "at 6 fps, too low for heart rates up to 250 bpm")
    assert "--band" in line
    assert not (tmp_path / "out").exists()


def test_bad_checkpoints_leave_nothing(videos, make_checkpoint, tmp_path, capsys):
    from predict_helpers import physnet_payload

    video = str(videos["light-15fps"].path)
    out = tmp_path / "out"
    other = make_checkpoint("other.pt", state_dict=physnet_payload(channels=8)["state_dict"])
    _fails(["predict", video, "--checkpoint", str(other), "--out", str(out)], capsys, "does not fit backbone 'physnet'")
    tampered = make_checkpoint("tampered.pt", state_dict=["not", "a", "state", "dict"])
    _fails(["predict", video, "--checkpoint", str(tampered), "--out", str(out)], capsys, "not a state dict")
    assert not out.exists()


def test_argument_errors(videos, tmp_path, capsys):
    video = str(videos["light-15fps"].path)
    _fails(["predict"], capsys, "give a VIDEO or --camera N")
    _fails(["predict", video, "--band", "150", "45"], capsys, "0 < low < high")
    _fails(["predict", video, "--duration", "5"], capsys, "--duration is for --camera")


def test_checkpoint_prediction_from_the_cli(videos, make_checkpoint, tmp_path, capsys):
    ck = make_checkpoint()
    rc = main(["predict", str(videos["light-15fps"].path), "--checkpoint", str(ck), "--json", str(tmp_path / "s.json"),
               "--no-progress"])
    assert rc == 0
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["checkpoint"] == str(ck) and summary["method"] is None
    assert f"checkpoint {ck.name}" in capsys.readouterr().out


def test_a_full_disk_leaves_no_partial_output_and_the_heart_rate_is_printed(videos, tmp_path, capsys, disk_full):
    video = videos["light-30fps"]
    out = tmp_path / "out"
    state = disk_full(20_000)  # room for the CSVs, not for the plot as well
    rc = main(["predict", str(video.path), "--out", str(out), "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 2 and state["failures"] >= 1
    assert "bpm" in captured.out  # the result was not lost with the files
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("pulsecl: error: ") and "no space left on device" in line and "nothing was written" in line
    assert not out.exists() or sorted(p.name for p in out.iterdir()) == []  # all four files or none, no temp file


def test_a_truncated_video_is_flagged_in_the_summary(videos, tmp_path, capsys):
    data = videos["light-30fps"].path.read_bytes()
    half = tmp_path / "half.avi"
    half.write_bytes(data[: int(len(data) * 0.6)])
    assert main(["predict", str(half), "--json", str(tmp_path / "s.json"), "--no-progress"]) == 0
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["truncated"] is True and summary["frames_expected"] == videos["light-30fps"].n_frames
    assert summary["frames_read"] < summary["frames_expected"]
    (warning,) = summary["warnings"]
    assert f"read {summary['frames_read']} of {summary['frames_expected']} frames" in warning
    assert f"pulsecl: warning: {warning}" in capsys.readouterr().err


def test_a_low_confidence_answer_gets_one_warning_line_and_says_so_in_the_json(videos, tmp_path, capsys, monkeypatch):
    import pulsecl.predictor
    from pulsecl.signal.analysis import confidence

    real = pulsecl.predictor.predict

    def low(*a, **k):  # the same result, as if its peak stood no higher than noise's
        result = real(*a, **k)
        result.confidence = confidence(5.0, 10.0, 0.2, 3)
        return result

    monkeypatch.setattr(pulsecl.predictor, "predict", low)
    assert main(["predict", str(videos["light-30fps"].path), "--json", str(tmp_path / "s.json"), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "bpm, low confidence" in captured.out
    (line,) = [ln for ln in captured.err.splitlines() if "low confidence" in ln]
    assert line == ("pulsecl: warning: low confidence: the pulse's peak stands 5.0 dB over its spectrum, no more than "
                    "noise of this length reaches (10.0 dB); the heart rate may be wrong (see the SNR per window)")
    assert json.loads((tmp_path / "s.json").read_text())["confidence"]["level"] == "low"


def test_a_confident_answer_prints_no_warning(videos, capsys):
    assert main(["predict", str(videos["light-30fps"].path), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "bpm, high confidence" in captured.out and "low confidence" not in captured.err


def test_threads_apply_to_the_model_and_are_restored(videos, make_checkpoint, tmp_path, capsys, monkeypatch):
    import torch

    import pulsecl.extractors

    seen = []
    feed = pulsecl.extractors.ModelPulse.feed

    def spy(self, crops, ts):
        seen.append(torch.get_num_threads())
        return feed(self, crops, ts)

    monkeypatch.setattr(pulsecl.extractors.ModelPulse, "feed", spy)
    before = torch.get_num_threads()
    video, ck = str(videos["light-15fps"].path), str(make_checkpoint())
    assert main(["predict", video, "--checkpoint", ck, "--threads", "3", "--no-progress"]) == 0
    assert set(seen) == {3} and torch.get_num_threads() == before
    capsys.readouterr()  # an untrained model's answer is low confidence: its warning is not this test's
    video = str(videos["light-15fps"].path)
    _fails(["predict", video, "--checkpoint", ck, "--threads", "0"], capsys, "--threads 0: give a positive number of threads")
    _fails(["predict", video, "--threads", "2"], capsys, "--threads is for --checkpoint or --model")


@pytest.mark.parametrize("cpus, expected", [({0, 1, 2, 3}, 3), ({0, 1}, 1), ({0}, 1)])
def test_the_default_model_threads_leave_a_core_to_the_reader(monkeypatch, cpus, expected):
    import os

    from pulsecl.commands.predict import model_threads

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cpus, raising=False)
    assert model_threads(None) == expected
    assert model_threads(5) == 5


def _entry(tmp_path, argv, marker):
    """Run pulsecl's console entry point in a fresh process with an atexit handler that
    writes ``marker``; (exit status, stdout)."""
    import subprocess
    import sys

    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
        f"sys.argv = ['pulsecl', *{list(argv)!r}]\n"
        "from pulsecl.cli import run\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout


def test_predict_ends_the_process_at_once_with_its_outputs_written(videos, tmp_path):
    video = videos["light-15fps"]
    out = tmp_path / "out"
    marker = tmp_path / "atexit"
    rc, stdout = _entry(tmp_path, ["predict", str(video.path), "--out", str(out), "--no-progress"], marker)
    assert rc == 0
    hr = float(stdout.split(": ", 1)[1].split(" bpm")[0])
    assert abs(hr - video.hr_bpm) < 3.0  # the printed line survived the quick exit
    assert sorted(p.name for p in out.iterdir()) == ["beats.csv", "hr.csv", "plot.png", "pulse.csv", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["hr_bpm"] == pytest.approx(hr, abs=0.06)
    assert not marker.exists()  # os._exit: the interpreter's teardown was skipped
    rc, _ = _entry(tmp_path, ["predict", str(tmp_path / "missing.avi")], marker)
    assert rc == 2 and not marker.exists()


def test_other_commands_exit_the_ordinary_way(tmp_path):
    marker = tmp_path / "atexit"
    rc, stdout = _entry(tmp_path, ["config", "presets"], marker)
    assert rc == 0 and stdout and marker.read_text() == "ran"


# -- issue 30 --------------------------------------------------------------------------


def _no_video_read(monkeypatch):
    """predict() fails the test if called: the error must come before the video is read."""
    import pulsecl.predictor

    def read(*a, **k):
        raise AssertionError("the whole video was processed before the output was checked")

    monkeypatch.setattr(pulsecl.predictor, "predict", read)


def test_outputs_that_cannot_be_written_are_found_before_the_video_is_read(videos, tmp_path, capsys, monkeypatch):
    """Case 7: an --out that is an existing file was found only after the whole video."""
    _no_video_read(monkeypatch)
    video = str(videos["light-15fps"].path)
    taken = tmp_path / "out"
    taken.write_text("a file, not a folder")
    _fails(["predict", video, "--out", str(taken)], capsys, f"--out '{taken}' exists and is not a folder; give a folder")
    _fails(["predict", video, "--json", str(tmp_path)], capsys, f"--json '{tmp_path}' is a folder; give a file name")
    _fails(["predict", video, "--json", str(taken / "s.json")], capsys,
           f"--json '{taken / 's.json'}': '{taken}' is a file, not a folder; choose another --json")
    assert taken.read_text() == "a file, not a folder"


def test_a_write_error_of_json_names_json(videos, tmp_path, capsys, disk_full):
    """Case 7: a full disk while writing --json said "choose another --cache/--out"."""
    video = videos["light-15fps"]
    disk_full(100)
    rc = main(["predict", str(video.path), "--json", str(tmp_path / "s.json"), "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 2 and "bpm" in captured.out
    assert captured.err.splitlines()[-1] == (
        f"pulsecl: error: '{tmp_path / 's.json'}': no space left on device; nothing was written; "
        "free space or choose another --json"
    )


def test_fs_that_differs_from_the_files_own_rate_is_one_warning_line(videos, tmp_path, capsys):
    """Case 6: --fs silently overrode the file's own rate (and scaled the heart rate)."""
    video = videos["light-30fps"]
    assert main(["predict", str(video.path), "--fs", "25", "--json", str(tmp_path / "s.json"), "--no-progress"]) == 0
    line = (
        f"video '{video.path}': the frame rate given, 25 fps (--fs), overrides the file's own 30.000 fps, and every "
        "heart rate scales with it (x 0.833); leave out --fs to use the file's rate"
    )
    assert [ln for ln in capsys.readouterr().err.splitlines() if "--fs" in ln] == [f"pulsecl: warning: {line}"]
    assert line in json.loads((tmp_path / "s.json").read_text())["warnings"]
    assert main(["predict", str(video.path), "--fs", "30", "--no-progress"]) == 0
    assert "--fs" not in capsys.readouterr().err


def test_the_help_says_what_fs_does_to_a_files_own_rate(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "it overrides a video file's own rate, with a warning when the two differ by more than 1%" in text
