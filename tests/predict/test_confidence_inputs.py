"""Inputs that cannot carry a pulse never get a "high" or "medium" answer: each is read
at "low", with one ``pulsecl: warning:`` line and its reason in the JSON; a band outside
human heart rates is a one-line error.  A video made for each case."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pulsecl.cli import main


def _face_frames(seconds: float = 15.0, seed: int = 3):
    from pulsecl.synthetic import synthesize

    subject = synthesize(index=1, seed=seed, duration=seconds, fps=30.0, width=320, height=240, hr_range=(60.0, 100.0))
    return np.concatenate([block for block, _ in subject.frames()]), float(subject.params["hr_mean_bpm"])


def _write(path, frames):
    from pulsecl.video.writer import write_video

    write_video(path, iter(frames), 30.0, quality=95)
    return str(path)


def _low(argv, capsys, tmp_path, reason):
    """Run predict; the answer is low, one warning line carries ``reason``, and so does the JSON."""
    out = tmp_path / "s.json"
    assert main(["predict", *argv, "--json", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert ", low confidence" in captured.out  # "N bpm" or "no heart rate" (a pulse that is rounding noise)
    lines = [ln for ln in captured.err.splitlines() if ln.startswith("pulsecl: warning:")]
    assert len(lines) == 1 and reason in lines[0], captured.err
    summary = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert summary["confidence"]["level"] == "low" and reason in summary["confidence"]["reason"]
    return summary


@pytest.fixture(scope="module")
def face():
    return _face_frames()


def test_the_coloured_face_itself_is_not_low(face, tmp_path, capsys):
    frames, hr = face
    video = _write(tmp_path / "colour.avi", frames)
    assert main(["predict", video, "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "low confidence" not in captured.out + captured.err
    assert abs(float(captured.out.split(": ")[1].split(" bpm")[0]) - hr) < 2.0


@pytest.mark.parametrize("method", ["pos", "chrom", "omit", "green"])
def test_a_grey_video_is_low_whatever_the_method(face, tmp_path, capsys, method):
    frames, _ = face
    grey = np.repeat(frames.mean(axis=3, keepdims=True).round().astype(np.uint8), 3, axis=3)  # R = G = B
    video = _write(tmp_path / "grey.avi", grey)
    summary = _low([video, "--method", method], capsys, tmp_path, "the video has no colour (R = G = B")
    if method != "green":  # the chrominance methods' pulse is rounding noise: no heart rate at all
        assert summary["hr_bpm"] is None


@pytest.mark.parametrize("roi", ["landmarks", "face"])
def test_a_video_with_a_face_in_few_frames_is_low(face, tmp_path, capsys, roi):
    frames, _ = face
    gone = frames.copy()
    rng = np.random.default_rng(1)
    gone[40:] = rng.integers(90, 110, gone[40:].shape, dtype=np.uint8)  # the face leaves after 40 of 450 frames
    video = _write(tmp_path / "gone.avi", gone)
    summary = _low([video, "--roi", roi], capsys, tmp_path, "a face was found in only 40 of 450 frames")
    assert summary["frames_without_face"] == 410


def test_pixel_noise_is_low(tmp_path, capsys):
    noise = np.random.default_rng(0).integers(0, 256, (450, 120, 160, 3), dtype=np.uint8)
    video = _write(tmp_path / "noise.avi", noise)
    _low([video, "--roi", "full"], capsys, tmp_path, "no more than noise of this length reaches")


@pytest.mark.parametrize("band", [("10", "20"), ("20", "150"), ("40", "300")])
def test_a_band_outside_human_heart_rates_is_a_one_line_error(face, tmp_path, capsys, band):
    frames, _ = face
    video = _write(tmp_path / "b.avi", frames[:30])
    assert main(["predict", video, "--band", *band, "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("pulsecl: error: band ") and "outside 30-250 bpm" in err[0]
