"""The live loop with a fake camera that replays a synthetic video, and Ctrl-C."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from pulsecl.video.sources import FrameSource, VideoFileSource


class FakeCamera(FrameSource):
    """Replays a video file in camera-sized chunks; after ``interrupt_after`` seconds of
    stream time it raises KeyboardInterrupt, as Ctrl-C does in the real loop."""

    def __init__(self, path, interrupt_after: float | None = None, chunk: int = 5):
        self._video = VideoFileSource(path, chunk_frames=chunk)
        self.fs, self.path, self.name = self._video.fs, None, "fake-camera"
        self.n_frames, self.chunk_frames = None, chunk
        self.interrupt_after = interrupt_after
        self.released = False

    def chunks(self):
        try:
            for frames, ts in self._video.chunks():
                if self.interrupt_after is not None and ts[0] >= self.interrupt_after:
                    raise KeyboardInterrupt
                yield frames, ts
        finally:
            self.released = True


def test_live_readings_every_second_then_ctrl_c_writes_the_recording(videos, tmp_path):
    from pulsecl.live import live

    video = videos["light-30fps"]
    camera = FakeCamera(video.path, interrupt_after=13.0)
    readings = []
    out = tmp_path / "live"
    result = live(camera, on_reading=readings.append, out=out, window_s=8.0)
    assert camera.released
    assert result.extra["stopped_by"] == "interrupt"
    # readings from the first full 2 periods on, one per second of stream time
    times = np.array([r.t_s for r in readings])
    assert len(readings) >= 10 and np.all(np.diff(times) == pytest.approx(1.0, abs=0.2))
    settled = [r for r in readings if r.window_s >= 7.9]
    assert settled and all(abs(r.hr_bpm - video.hr_bpm) < 3.0 for r in settled)
    assert all(np.isfinite(r.snr_db) and 0 <= r.ipr <= 1 for r in readings)
    # what was recorded before Ctrl-C is analysed and written
    assert 12.5 <= result.duration_s <= 13.1
    assert abs(result.hr_bpm - video.hr_bpm) < 3.0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_by"] == "interrupt" and len(summary["live"]) == len(readings)
    # 13 s hold too few beats for HRV: none, with the reason; the readings never carry it
    assert summary["hrv"] is None and "normal intervals" in summary["hrv_reason"]
    assert summary["beats"]["count"] >= 8 and not any("hrv" in r for r in summary["live"])
    assert sorted(p.name for p in out.iterdir()) == ["beats.csv", "hr.csv", "plot.png", "pulse.csv", "summary.json"]


def test_live_prints_one_line_per_reading_and_stops_after_duration(videos):
    from pulsecl.live import live

    camera = FakeCamera(videos["dark-30fps"].path)
    text = io.StringIO()
    result = live(camera, duration=6.0, stream_out=text)
    lines = text.getvalue().splitlines()
    assert result.extra["stopped_by"] == "duration" and camera.released
    assert any("collecting" in line for line in lines)  # before two periods of 40 bpm
    hr_lines = [line for line in lines if " bpm " in line]
    assert len(hr_lines) >= 2 and all("SNR" in line and "IPR" in line for line in hr_lines)


def test_interrupt_before_enough_video_writes_nothing(videos, tmp_path):
    from pulsecl.errors import SignalError
    from pulsecl.live import live

    camera = FakeCamera(videos["light-30fps"].path, interrupt_after=1.0)
    with pytest.raises(SignalError, match="nothing written"):
        live(camera, out=tmp_path / "out", on_reading=lambda r: None)
    assert camera.released and not (tmp_path / "out").exists()


def test_live_with_a_checkpoint(videos, make_checkpoint):
    from pulsecl.live import live

    readings = []
    result = live(FakeCamera(videos["light-15fps"].path), checkpoint=make_checkpoint(), duration=8.0,
                  on_reading=readings.append)
    assert readings and all(40.0 <= r.hr_bpm <= 250.0 for r in readings)
    assert result.checkpoint is not None and result.extra["stopped_by"] == "duration"
