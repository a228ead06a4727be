"""HRV: beats, normal-to-normal intervals and SDNN / RMSSD, on signals with known beats
and on two real finger-camera records against their chest strap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pulsecl.errors import SignalError
from pulsecl.signal.hrv import detect_beats, hrv_of_intervals, normal_intervals, pick_channel, pulse_hrv, trace_hrv

DATA = Path(__file__).resolve().parents[1] / "data" / "welltory"


def _beats_pulse(beats_s: np.ndarray, fs: float, seconds: float) -> np.ndarray:
    """A pulse whose beats (the upstroke's steepest point) are at ``beats_s``: a fast rise
    and a slower fall after each beat, plus a small dicrotic bump."""
    t = np.arange(int(seconds * fs)) / fs
    x = np.zeros_like(t)
    for b in beats_s:
        d = t - b
        x += np.exp(-0.5 * (d / 0.06) ** 2) * (d < 0) + np.exp(-d / 0.25) * (d >= 0) * (d < 1.0)
        x += 0.25 * np.exp(-0.5 * ((d - 0.35) / 0.05) ** 2)
    return x


def test_hrv_of_intervals_by_hand():
    ibi = np.array([0.8, 0.9, 1.0, 0.9])
    h = hrv_of_intervals(ibi)
    assert h.mean_hr_bpm == pytest.approx(60 / 0.9)
    assert h.sdnn_ms == pytest.approx(1000 * np.std(ibi, ddof=1))
    assert h.rmssd_ms == pytest.approx(1000 * np.sqrt(np.mean([0.01, 0.01, 0.01])))
    # the third interval left out: SDNN over three, RMSSD only over the pair (0.8, 0.9)
    h = hrv_of_intervals(ibi, [True, True, False, True])
    assert h.n_intervals == 3 and h.rmssd_ms == pytest.approx(100.0)
    with pytest.raises(SignalError, match="at least 2 normal intervals"):
        hrv_of_intervals(ibi, [True, False, False, False])


def test_a_missed_beat_and_a_double_beat_are_not_normal_intervals():
    ibi = np.array([0.80, 0.82, 0.79, 1.62, 0.81, 0.40, 0.41, 0.80, 0.83])
    assert normal_intervals(ibi).tolist() == [True, True, True, False, True, False, False, True, True]


def test_beats_are_found_where_they_were_put_at_30_fps():
    rng = np.random.default_rng(0)
    ibi = 0.85 + 0.06 * np.sin(np.arange(70) / 3.0) + 0.01 * rng.standard_normal(70)  # 70 bpm, varying
    beats = 1.0 + np.concatenate([[0.0], np.cumsum(ibi)])
    fs = 30.0
    x = _beats_pulse(beats, fs, beats[-1] + 1.0) + 0.02 * rng.standard_normal(int((beats[-1] + 1.0) * fs))
    found = detect_beats(x, fs)
    assert found.size == beats.size
    # the fiducial (the upstroke, after the band-pass) sits a fixed time from where the
    # beats were put; what HRV needs, the intervals, is timed better than a frame (33 ms)
    assert np.ptp(found - beats) < 0.02
    assert np.abs(np.diff(found) - ibi).max() < 0.02
    res = pulse_hrv(x, fs)
    truth = hrv_of_intervals(ibi)
    assert res.rejected == 0
    assert abs(res.hrv.sdnn_ms - truth.sdnn_ms) < 3.0 and abs(res.hrv.rmssd_ms - truth.rmssd_ms) < 6.0


def _record(name: str):
    table = np.loadtxt(DATA / name / "PPG.csv", delimiter=",", skiprows=1)
    rr = np.loadtxt(DATA / name / "RR.txt").ravel() / 1000.0
    return table[:, 0] / 1000.0, table[:, 1:4], rr


@pytest.mark.parametrize("name, channel", [("subject_05", 0), ("subject_20", 1)])
def test_finger_camera_hrv_agrees_with_the_chest_strap(name, channel):
    t, rgb, rr = _record(name)
    res = trace_hrv(t, rgb)
    assert res.channel == channel  # subject_20's red is saturated: its pulse is read from green
    assert pick_channel(rgb, 30.0) == channel
    ref_hr = 60.0 / rr.mean()
    ref_sdnn = 1000.0 * rr.std(ddof=1)
    ref_rmssd = 1000.0 * np.sqrt(np.mean(np.diff(rr) ** 2))
    assert abs(res.hrv.mean_hr_bpm - ref_hr) < 1.0
    assert abs(res.hrv.sdnn_ms - ref_sdnn) < 8.0
    assert abs(res.hrv.rmssd_ms - ref_rmssd) < 8.0
