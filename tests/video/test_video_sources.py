"""Frame sources: chunks, RGB order, timestamps, and clear errors for bad input."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from pulsecl.errors import DataError
from pulsecl.video import open_source
from pulsecl.video.streams import ArraySource, CameraSource
from pulsecl.video.sources import (
    ImageFolderSource,
    VideoFileSource,
    chunk_size,
    frame_time,
    image_timestamps,
)
from pulsecl.video.writer import write_video


def _frames(n, h=48, w=64):
    """Frames whose colour encodes the index: R = 10 * k, G = 100, B = 200."""
    f = np.zeros((n, h, w, 3), np.uint8)
    f[..., 0] = (10 * np.arange(n) % 250)[:, None, None]
    f[..., 1] = 100
    f[..., 2] = 200
    return f


def test_video_file_in_chunks_with_timestamps_and_rgb(tmp_path):
    path = tmp_path / "v.avi"
    write_video(path, _frames(23), fps=25.0, quality=95)
    src = open_source(path, chunk_frames=10)
    assert isinstance(src, VideoFileSource)
    assert src.fs == 25.0 and src.n_frames == 23 and (src.width, src.height) == (64, 48)
    chunks = list(src)
    assert [len(f) for f, _ in chunks] == [10, 10, 3]
    frames = np.concatenate([f for f, _ in chunks])
    ts = np.concatenate([t for _, t in chunks])
    assert frames.dtype == np.uint8 and frames.shape == (23, 48, 64, 3)
    assert np.allclose(ts, np.arange(23) / 25.0)
    # RGB, not OpenCV's BGR: red carries the index, blue is 200.
    assert np.allclose(frames[..., 2].mean(axis=(1, 2)), 200, atol=3)
    assert np.allclose(frames[..., 0].mean(axis=(1, 2)), 10 * np.arange(23), atol=3)
    # Iterating again re-reads from the start.
    assert len(np.concatenate([f for f, _ in src])) == 23


def test_fractional_frame_rate_comes_from_the_container(tmp_path):
    path = tmp_path / "v.avi"
    write_video(path, _frames(10), fps=29.97)
    src = open_source(path)
    assert abs(src.fs - 29.97) < 1e-6
    ts = np.concatenate([t for _, t in src])
    assert np.allclose(ts, np.arange(10) / 29.97, atol=1e-4)
    # A given fs overrides the container and times frames on its grid.
    ts2 = np.concatenate([t for _, t in open_source(path, fs=10.0)])
    assert np.allclose(ts2, np.arange(10) / 10.0)


def test_frame_time_keeps_variable_rate_and_repairs_bad_times():
    # Irregular but increasing decoder times are kept (variable frame rate).
    raw = [5.0, 5.03, 5.09, 5.10, 5.2]
    last, out = -np.inf, []
    for i, r in enumerate(raw):
        last = frame_time(r, raw[0], i, last, 30.0)
        out.append(last)
    assert np.allclose(out, np.array(raw) - 5.0)
    # Missing, NaN or repeated times fall back to the nominal grid, still increasing.
    assert frame_time(None, 0.0, 3, 0.05, 30.0) == pytest.approx(0.1)
    assert frame_time(float("nan"), 0.0, 2, 0.04, 25.0) == pytest.approx(0.08)
    assert frame_time(0.04, 0.0, 3, 0.08, 25.0) == pytest.approx(0.12)


def test_chunks_are_capped_in_bytes():
    assert chunk_size(300, 48, 64) == 300
    assert chunk_size(300, 480, 640) == 145
    assert chunk_size(300, 1080, 1920) == 21
    assert chunk_size(300, 10_000, 10_000) == 1


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_bytes(b""), r"is empty \(0 bytes\)"),
        (lambda p: p.write_bytes(os.urandom(5000)), "cannot be opened"),
        (lambda p: p.write_text("just some text, not a video\n" * 100), "cannot be opened"),
    ],
    ids=["missing", "empty", "corrupt", "text"],
)
def test_bad_video_files_name_the_file(tmp_path, make, match):
    path = tmp_path / "bad.avi"
    make(path)
    with pytest.raises(DataError, match=match) as info:
        open_source(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_video_is_unreadable(tmp_path):
    good = tmp_path / "good.avi"
    write_video(good, _frames(20, 120, 160), fps=10)
    bad = tmp_path / "truncated.avi"
    bad.write_bytes(good.read_bytes()[:300])  # the header, no frame data
    with pytest.raises(DataError, match="truncated.avi") as info:
        src = open_source(bad)
        list(src)
    assert "no decodable frames" in str(info.value) or "cannot be opened" in str(info.value)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_unreadable_video_names_the_file(tmp_path):
    path = tmp_path / "locked.avi"
    write_video(path, _frames(3), fps=10)
    path.chmod(0)
    try:
        with pytest.raises(DataError, match="locked.avi.*not readable"):
            open_source(path)
    finally:
        path.chmod(0o644)


def test_folder_given_as_video(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        VideoFileSource(tmp_path)


def _write_images(folder, names, frames):
    folder.mkdir(parents=True, exist_ok=True)
    for name, f in zip(names, frames):
        cv2.imwrite(str(folder / name), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))


def test_image_folder_timed_by_nanosecond_names_with_variable_rate(tmp_path):
    t = np.array([0.0, 0.033, 0.067, 0.110, 0.133, 0.170, 0.2])  # irregular frame intervals
    ns = (1_392_643_993_642_815_000 + t * 1e9).astype(np.int64)
    names = [f"Image{v}.png" for v in ns]
    frames = _frames(len(t))
    order = [3, 0, 6, 1, 5, 2, 4]  # written in scrambled order
    _write_images(tmp_path / "01-01", [names[i] for i in order], frames[order])
    src = open_source(tmp_path / "01-01", chunk_frames=3)
    assert isinstance(src, ImageFolderSource)
    got = list(src)
    assert [len(f) for f, _ in got] == [3, 3, 1]
    ts = np.concatenate([x for _, x in got])
    assert np.allclose(ts, t, atol=1e-6)
    assert abs(src.fs - 1 / np.median(np.diff(t))) < 1e-3
    out = np.concatenate([f for f, _ in got])
    assert np.array_equal(out[..., 0], frames[..., 0])  # ordered by time, RGB (PNG is lossless)


def test_image_folder_numbered_frames_need_fs(tmp_path):
    _write_images(tmp_path / "seq", [f"frame_{k:04d}.png" for k in range(5)], _frames(5))
    with pytest.raises(DataError, match="numbered as frames.*give fs") as info:
        open_source(tmp_path / "seq")
    assert "seq" in str(info.value)
    ts = np.concatenate([t for _, t in open_source(tmp_path / "seq", fs=20.0)])
    assert np.allclose(ts, np.arange(5) / 20.0)


def test_image_timestamp_units():
    for unit, scale in ((1e-9, 1), (1e-6, 1), (1e-3, 1)):
        stamps = (np.arange(5) / 30.0 / unit).astype(np.int64) + 10**6 * int(1 / unit / 1e6 + 1)
        order, ts, fs = image_timestamps([f"img{s}.png" for s in stamps])
        assert abs(fs - 30.0) < 0.5 and abs(ts[-1] - 4 / 30.0) < 1e-3


def test_image_folder_errors_name_the_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty.*no images"):
        open_source(tmp_path / "empty")
    _write_images(tmp_path / "broken", ["Image1000000000.png", "Image1033333333.png"], _frames(2))
    (tmp_path / "broken" / "Image1066666666.png").write_bytes(b"not a png")
    src = open_source(tmp_path / "broken")
    with pytest.raises(DataError, match="Image1066666666.png.*cannot be read"):
        list(src)


def test_arrays_and_cameras():
    frames = _frames(7)
    src = open_source(frames, fs=14.0, chunk_frames=4)
    assert isinstance(src, ArraySource)
    assert [len(f) for f, _ in src] == [4, 3]
    as_float = ArraySource(frames / 255.0, fs=14.0)
    assert np.array_equal(as_float.frames, frames)
    with pytest.raises(DataError, match="fs"):
        open_source(frames)
    with pytest.raises(DataError, match=r"\(T, H, W, 3\)"):
        open_source(frames[..., 0], fs=10.0)
    with pytest.raises(DataError, match="camera 97 cannot be opened"):
        CameraSource(97)
    with pytest.raises(DataError, match="camera 96"):
        open_source(96)


def test_identity_changes_with_the_file(tmp_path):
    path = tmp_path / "v.avi"
    write_video(path, _frames(3), fps=10)
    a = open_source(path).identity()
    os.utime(path, ns=(1, 1))
    b = open_source(path).identity()
    assert a["path"] == b["path"] and a["mtime_ns"] != b["mtime_ns"]
    assert json.dumps(a)  # serialisable for the cache key


def _half_avi(tmp_path, n=40):
    good = tmp_path / "good.avi"
    write_video(good, _frames(n, 120, 160), fps=10)
    half = tmp_path / "half.avi"
    half.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return good, half


def test_a_video_cut_short_is_read_to_its_end_and_flagged_truncated(tmp_path, caplog):
    import logging

    good, half = _half_avi(tmp_path)
    src = open_source(good)
    assert src.frames_read is None and src.frames_expected == 40
    assert sum(len(f) for f, _ in src) == 40
    assert (src.frames_read, src.truncated, src.warnings) == (40, False, [])

    src = open_source(half)
    assert src.frames_expected == 40
    with caplog.at_level(logging.WARNING, logger="pulsecl"):
        n = sum(len(f) for f, _ in src)
        sum(len(f) for f, _ in src)  # a second pass warns no more
    assert 0 < n < 30 and src.frames_read == n and src.truncated is True
    message = f"'{half}': read {n} of 40 frames; the file may be truncated"
    assert src.warnings == [message]
    assert [r.getMessage() for r in caplog.records if r.name == "pulsecl"] == [message]


def test_crop_stream_and_preprocess_carry_the_truncation(tmp_path, caplog):
    import logging

    from pulsecl.config import PreprocessConfig
    from pulsecl.video import iter_crops, preprocess

    _, half = _half_avi(tmp_path)
    settings = PreprocessConfig(roi="full", size=8)
    stream = iter_crops(half, settings)
    n = sum(len(c) for c, _ in stream)
    assert stream.truncated and stream.frames_expected == 40 and stream.frames_read == n
    message = f"'{half}': read {n} of 40 frames; the file may be truncated"
    assert stream.warnings == [message]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pulsecl"):
        built = preprocess(half, settings, cache_dir=tmp_path / "cache")
        reused = preprocess(half, settings, cache_dir=tmp_path / "cache")
    assert not built.reused and reused.reused
    assert built.warnings == reused.warnings == [message]
    assert reused.meta["frames_expected"] == 40 and reused.meta["frames_read"] == n
    # the cached entry tells again, so training on it is not silent either
    assert [r.getMessage() for r in caplog.records if r.name == "pulsecl"] == [message, message]


def test_a_short_count_by_a_frame_or_two_is_not_truncation():
    from pulsecl.video.sources import short_read

    assert not short_read(358, 360) and short_read(357, 360) and short_read(180, 360)
    assert not short_read(180, None) and not short_read(180, 0)
    assert not short_read(9960, 10_000) and short_read(9940, 10_000)


def test_predict_prints_the_truncation_warning_once(tmp_path):
    import subprocess
    import sys

    _, half = _half_avi(tmp_path, n=120)
    out = subprocess.run(
        [sys.executable, "-m", "pulsecl", "predict", str(half), "--roi", "full", "--no-progress",
         "--window", "4", "--band", "40", "250"],
        capture_output=True, text=True,
    )
    lines = out.stderr.splitlines()
    warnings = [l for l in lines if l.startswith("pulsecl: warning:") and "truncated" in l]
    assert len(warnings) == 1, out.stderr
    assert warnings[0].startswith(f"pulsecl: warning: '{half}': read ") and warnings[0].endswith(
        " of 120 frames; the file may be truncated"
    )


def _broken_mp4(tmp_path):
    path = tmp_path / "full.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MP4")
    for f in _frames(20):
        writer.write(f)
    writer.release()
    broken = tmp_path / "nomoov.mp4"
    broken.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # the index (moov) is at the end
    return broken


def test_ffmpeg_prints_nothing_of_its_own_for_a_broken_video(tmp_path):
    """FFmpeg's "moov atom not found" and "[mjpeg @ 0x...] overread 8" came before
    pulsecl's own line; now the process's stderr holds pulsecl's lines only."""
    import subprocess
    import sys

    broken = _broken_mp4(tmp_path)
    out = subprocess.run([sys.executable, "-m", "pulsecl", "predict", str(broken)], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr == (
        f"pulsecl: error: video '{broken}' cannot be opened: not a video, corrupt, or a codec this "
        "OpenCV build cannot decode; try re-encoding it (e.g. to MJPG or H.264)\n"
    )
    _, half = _half_avi(tmp_path, n=40)
    code = f"from pulsecl.video import open_source; print(sum(len(f) for f, _ in open_source({str(half)!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and 0 < int(out.stdout) < 40
    assert out.stderr == f"'{half}': read {int(out.stdout)} of 40 frames; the file may be truncated\n"


def test_a_given_rate_that_differs_from_the_files_own_is_warned_about(tmp_path, caplog):
    """Issue 30, case 6: fs (--fs) silently replaced a file's own rate, and with it every
    heart rate (89.5 bpm read as 79.9)."""
    path = tmp_path / "v.avi"
    write_video(path, _frames(10), fps=28.0, quality=95)
    with caplog.at_level("WARNING", logger="pulsecl"):
        src = open_source(path, fs=25.0)
    line = (
        f"video '{path}': the frame rate given, 25 fps (--fs), overrides the file's own 28.000 fps, and every heart "
        "rate scales with it (x 0.893); leave out --fs to use the file's rate"
    )
    assert [r.getMessage() for r in caplog.records] == [line] and src.warnings == [line]
    assert src.fs == 25.0 and np.allclose(np.concatenate([t for _, t in src]), np.arange(10) / 25.0)  # still given
    caplog.clear()
    with caplog.at_level("WARNING", logger="pulsecl"):
        close = open_source(path, fs=28.2)  # within 1 %: the same rate, written another way
        same = open_source(path)
    assert caplog.records == [] and close.warnings == [] and same.fs == 28.0


def test_a_given_rate_is_warned_about_for_images_timed_by_their_names_only(tmp_path, caplog):
    ns = (1_392_643_993_642_815_000 + np.arange(6) / 30.0 * 1e9).astype(np.int64)
    _write_images(tmp_path / "timed", [f"Image{v}.png" for v in ns], _frames(6))
    _write_images(tmp_path / "seq", [f"frame_{k:04d}.png" for k in range(6)], _frames(6))
    with caplog.at_level("WARNING", logger="pulsecl"):
        open_source(tmp_path / "seq", fs=15.0)  # numbered frames have no rate of their own
        assert caplog.records == []
        timed = open_source(tmp_path / "timed", fs=15.0)
    assert timed.fs == 15.0
    assert [r.getMessage() for r in caplog.records] == [
        f"image folder '{tmp_path / 'timed'}': the frame rate given, 15 fps (--fs), overrides the image names' own "
        "30.000 fps, and every heart rate scales with it (x 0.500); leave out --fs to use the image names' rate"
    ]
