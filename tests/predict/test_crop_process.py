"""``predict(..., crop_process=True)``: the video is decoded and cropped in a child process
(pulsecl.video.worker) while the parent imports torch and loads the model.  Same crops,
same answer, same errors and warnings as cropping in-process."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import numpy as np
import pytest


def _both(video, ck, **kw):
    from pulsecl.predictor import predict

    here = predict(str(video), checkpoint=ck, device="cpu", **kw)
    child = predict(str(video), checkpoint=ck, device="cpu", crop_process=True, **kw)
    return here, child


def test_a_crop_process_gives_the_same_pulse_and_counts(videos, make_checkpoint):
    ck = make_checkpoint()
    here, child = _both(videos["light-30fps"].path, ck)
    assert child.frames_read == here.frames_read == videos["light-30fps"].n_frames
    assert child.frames_without_face == here.frames_without_face
    assert child.fs == here.fs and child.source == here.source
    np.testing.assert_array_equal(child.pulse, here.pulse)  # the same crops, bit for bit
    assert child.hr_bpm == here.hr_bpm


def test_a_crop_process_takes_the_roi_override(videos, make_checkpoint):
    ck = make_checkpoint()
    here, child = _both(videos["light-15fps"].path, ck, roi="full")
    assert child.roi == here.roi == "full"
    np.testing.assert_array_equal(child.pulse, here.pulse)


def test_the_crop_process_starts_before_torch_is_imported(videos, make_checkpoint, tmp_path):
    """The point of the child: it is running while the parent imports torch."""
    ck = make_checkpoint()
    script = tmp_path / "probe.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys
        import pulsecl.video.worker as worker
        seen = []
        real = worker.CropProcess.__init__
        def init(self, *a, **k):
            seen.append("torch" in sys.modules)
            real(self, *a, **k)
        worker.CropProcess.__init__ = init
        from pulsecl.predictor import predict
        result = predict({str(videos["light-30fps"].path)!r}, checkpoint={str(ck)!r}, device="cpu", crop_process=True)
        print(json.dumps({{"torch_before": seen, "frames": result.frames_read}}))
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report == {"torch_before": [False], "frames": videos["light-30fps"].n_frames}


def test_the_childs_data_error_is_raised_here_with_its_message(make_checkpoint, tmp_path):
    from pulsecl.errors import DataError
    from pulsecl.predictor import predict

    bad = tmp_path / "noise.avi"
    bad.write_bytes(b"not a video at all " * 100)
    ck = make_checkpoint()
    with pytest.raises(DataError) as here:
        predict(str(bad), checkpoint=ck, device="cpu")
    with pytest.raises(DataError) as child:
        predict(str(bad), checkpoint=ck, device="cpu", crop_process=True)
    assert str(child.value) == str(here.value) and "noise.avi" in str(child.value)


def test_a_truncated_videos_warning_comes_through_once(videos, make_checkpoint, tmp_path, caplog):
    from pulsecl.predictor import predict

    data = videos["light-30fps"].path.read_bytes()
    half = tmp_path / "half.avi"
    half.write_bytes(data[: int(len(data) * 0.6)])
    with caplog.at_level(logging.WARNING, logger="pulsecl"):
        result = predict(str(half), checkpoint=make_checkpoint(), device="cpu", crop_process=True)
    assert result.truncated and result.frames_read < result.frames_expected == videos["light-30fps"].n_frames
    (warning,) = result.warnings
    assert f"read {result.frames_read} of {result.frames_expected} frames" in warning
    assert [r.getMessage() for r in caplog.records if r.name == "pulsecl"] == [warning]


def test_settings_that_differ_once_the_model_is_loaded_are_cropped_here(videos, make_checkpoint, monkeypatch):
    """What was read without torch is only a guess: when the loaded model's preprocessing
    differs, the child is stopped and the crops are made with the model's settings."""
    import pulsecl.engine.checkpoint as checkpoint
    import pulsecl.video.worker as worker
    from pulsecl.predictor import predict

    real_peek = checkpoint.peek_config

    def wrong(path):
        raw = real_peek(path)
        raw["preprocess"] = dict(raw["preprocess"], size=16)
        return raw

    closed = []
    real_close = worker.CropProcess.close

    def close(self):
        closed.append(self._proc.poll())
        real_close(self)

    monkeypatch.setattr(checkpoint, "peek_config", wrong)
    monkeypatch.setattr(worker.CropProcess, "close", close)
    ck = make_checkpoint()
    moved = predict(str(videos["light-30fps"].path), checkpoint=ck, device="cpu", crop_process=True)
    here = predict(str(videos["light-30fps"].path), checkpoint=ck, device="cpu")
    assert closed  # the 16-pixel child was stopped
    np.testing.assert_array_equal(moved.pulse, here.pulse)


def test_an_abandoned_stream_ends_the_child(videos):
    from pulsecl.config import PreprocessConfig
    from pulsecl.video.worker import CropProcess

    stream = CropProcess(videos["light-30fps"].path, PreprocessConfig(size=16, chunk_frames=30))
    assert stream.fs == pytest.approx(30.0)
    it = iter(stream)
    crops, ts = next(it)
    assert crops.shape == (len(ts), 16, 16, 3) and crops.dtype == np.uint8
    it.close()  # stop reading after one chunk
    assert stream._proc.poll() is not None  # reaped, not left running


def test_the_cli_reads_the_video_in_a_crop_process(videos, make_checkpoint, tmp_path, capsys, monkeypatch):
    import pulsecl.video.worker as worker
    from pulsecl.cli import main

    started = []
    real = worker.CropProcess.__init__

    def init(self, *a, **k):
        started.append(a[0])
        real(self, *a, **k)

    monkeypatch.setattr(worker.CropProcess, "__init__", init)
    ck = make_checkpoint()
    video = str(videos["light-30fps"].path)
    assert main(["predict", video, "--checkpoint", str(ck), "--device", "cpu", "--no-progress"]) == 0
    assert [str(p) for p in started] == [video]
    assert main(["predict", video, "--no-progress"]) == 0  # a classical method has nothing to wait for
    assert main(["predict", video, "--checkpoint", str(ck), "--device", "cpu", "--no-progress", "--no-crop-process"]) == 0
    assert len(started) == 1
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)  # one CPU: nothing to overlap
    assert main(["predict", video, "--checkpoint", str(ck), "--device", "cpu", "--no-progress"]) == 0
    assert len(started) == 1


def test_a_child_that_dies_is_a_one_line_data_error(videos):
    from pulsecl.config import PreprocessConfig
    from pulsecl.errors import DataError
    from pulsecl.video.worker import CropProcess

    stream = CropProcess(videos["light-30fps"].path, PreprocessConfig(size=16, chunk_frames=30))
    stream.info()
    stream._proc.kill()  # as a crash in a decoder would end it
    with pytest.raises(DataError) as err:
        for _ in stream:
            pass
    message = str(err.value)
    assert message.startswith(f"'{videos['light-30fps'].path}': the crop process ended without finishing (exit status ")
    assert message.endswith("read the video in this process instead (predict --no-crop-process, or crop_process=False)")
    assert "\n" not in message


def test_bad_settings_fail_as_without_a_crop_process_and_end_the_child(videos, make_checkpoint, monkeypatch):
    import pulsecl.video.worker as worker
    from pulsecl.errors import ConfigError
    from pulsecl.predictor import predict

    children = []
    real = worker.CropProcess.__init__

    def init(self, *a, **k):
        real(self, *a, **k)
        children.append(self)

    monkeypatch.setattr(worker.CropProcess, "__init__", init)
    ck = make_checkpoint()
    video = str(videos["light-30fps"].path)
    with pytest.raises(ConfigError) as here:
        predict(video, checkpoint=ck, device="cpu", roi="cheek")
    with pytest.raises(ConfigError) as child:
        predict(video, checkpoint=ck, device="cpu", roi="cheek", crop_process=True)
    assert str(child.value) == str(here.value) == (
        "preprocess.roi = 'cheek': use auto, face (the face box), landmarks (the skin region of face landmarks) "
        "or full (video already cropped to skin)")
    (started,) = children
    assert started._proc.poll() is not None  # stopped and reaped
