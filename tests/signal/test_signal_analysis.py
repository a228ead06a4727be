"""The heart-rate analysis: the recording's rate, short clips, and a confidence level that
means what it says, against signals with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from skin_traces import pink_noise

from pulsecl.signal.analysis import (
    AGREE_HIGH,
    PULSE_FLOOR,
    analyse,
    confidence,
    independent_segments,
    noise_floor_db,
)

FS = 30.0
BAND = (40 / 60, 240 / 60)


def _t(seconds: float, fs: float = FS) -> np.ndarray:
    return np.arange(int(round(seconds * fs))) / fs


@pytest.mark.parametrize("peak, floor, agreement, segments, level", [
    (12.0, 10.0, AGREE_HIGH, 2, "high"),  # over the floor, half the segments agree: inclusive
    (12.0, 10.0, 1.0, 6, "high"),
    (12.0, 10.0, 0.4, 5, "medium"),  # the segments disagree
    (20.0, 10.0, 1.0, 1, "medium"),  # one segment cannot agree with anything
    (9.99, 10.0, 1.0, 6, "low"),  # noise could have made it
    (-np.inf, 10.0, 0.0, 2, "low"),
])
def test_confidence_levels_follow_the_stated_rules(peak, floor, agreement, segments, level):
    c = confidence(peak, floor, agreement, segments)
    assert c.level == level and c.agreement == agreement and c.segments == segments
    d = c.as_dict()
    assert d["level"] == level and "\n" not in c.reason and d["noise_floor_db"] == round(floor, 3)


def test_the_noise_floor_falls_with_length_and_rises_with_the_band():
    assert noise_floor_db(60, BAND) < noise_floor_db(30, BAND) < noise_floor_db(10, BAND)
    assert noise_floor_db(30, (40 / 60, 120 / 60)) < noise_floor_db(30, BAND)
    assert noise_floor_db(5, BAND) < noise_floor_db(10, BAND)  # fewer bins in a shorter window


@pytest.mark.parametrize("seconds", [8.0, 12.0, 20.0, 45.0])
@pytest.mark.parametrize("kind", ["white", "pink"])
def test_noise_is_never_more_than_low(seconds, kind):
    for seed in range(6):
        rng = np.random.default_rng(seed)
        n = int(seconds * FS)
        x = rng.standard_normal(n) if kind == "white" else pink_noise(n, rng)
        c = analyse(x, FS, BAND).confidence
        assert c.level == "low", (seed, c)
        assert "noise" in c.reason


def test_a_clean_pulse_is_high_confidence():
    rng = np.random.default_rng(0)
    t = _t(40.0)
    a = analyse(np.sin(2 * np.pi * 72 / 60 * t) + 0.3 * rng.standard_normal(t.size), FS, BAND)
    assert abs(a.hr_bpm - 72.0) < 0.5
    assert a.confidence.level == "high" and a.confidence.agreement == 1.0 and a.confidence.segments == 4
    assert not a.window_low.any()


def test_the_recordings_rate_is_the_median_of_the_tracked_rates():
    rng = np.random.default_rng(1)
    t = _t(60.0)
    pulse = np.sin(2 * np.pi * 80 / 60 * t) + 0.8 * rng.standard_normal(t.size)
    a = analyse(pulse, FS, BAND)
    assert a.hr_bpm == pytest.approx(float(np.median(a.window_hr_bpm)))
    assert abs(a.hr_bpm - 80.0) < 1.0


def test_a_ramp_is_followed_by_the_windows_and_its_middle_is_the_answer():
    t = _t(60.0)
    rate = 70 + 30 * t / 60  # 70 -> 100 bpm
    pulse = np.sin(2 * np.pi * np.cumsum(rate / 60) / FS)
    a = analyse(pulse, FS, BAND)
    assert abs(a.hr_bpm - 85.0) < 2.0
    true = 70 + 30 * a.window_times_s / 60
    assert np.max(np.abs(a.window_hr_bpm - true)) < 2.0


@pytest.mark.parametrize("seconds, count", [(6.0, 1), (9.5, 1), (10.03, 2), (15.0, 2), (19.9, 2), (20.0, 2), (35.0, 3)])
def test_independent_segments_count_what_does_not_overlap(seconds, count):
    n = int(round(seconds * FS))
    k, length = independent_segments(n, FS, 10.0)
    assert k == count and k * length <= n
    assert k == 1 or length >= 5.0 * FS


def test_a_short_clip_is_analysed_with_the_data_it_has():
    rng = np.random.default_rng(2)
    for seconds, level in ((6.0, "medium"), (12.0, "high")):
        t = _t(seconds)
        a = analyse(np.sin(2 * np.pi * 66 / 60 * t) + 0.2 * rng.standard_normal(t.size), FS, BAND)
        assert abs(a.hr_bpm - 66.0) < 2.0
        assert a.confidence.level == level, a.confidence
    # Two windows 0.03 s apart are one piece of evidence, not two that agree: the halves count.
    t = _t(10.03)
    a = analyse(np.sin(2 * np.pi * 66 / 60 * t), FS, BAND)
    assert len(a.window_times_s) == 2 and a.segments == 2


def test_a_numerically_constant_pulse_is_low_with_its_reason():
    rng = np.random.default_rng(3)
    x = 6e-16 * rng.standard_normal(int(30 * FS))  # what chrominance methods give on a grey video
    assert np.std(x) < PULSE_FLOOR
    c = analyse(x, FS, BAND).confidence
    assert c.level == "low" and "numerically constant" in c.reason
