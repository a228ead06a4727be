"""Beats and gated HRV of a pulse (:func:`pulsecl.signal.hrv.pulse_beats`, what
``predict`` reports): pulses with known beat times and intervals, ectopic and missed
beats that the 20 % rule must drop, per-window figures, and pulses that cannot carry HRV
(noise, low confidence, too short, constant) that must never get a figure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pulsecl.io import json_text
from pulsecl.signal.analysis import Confidence, analyse
from pulsecl.signal.hrv import (
    HRV_MIN_INTERVALS,
    HRV_MIN_NORMAL_SHARE,
    detect_beats,
    hrv_of_intervals,
    normal_intervals,
    pulse_beats,
)
from pulsecl.signal.processing import hrv

FS = 30.0


def beats_pulse(beats_s, seconds: float, fs: float = FS, amplitude=None) -> np.ndarray:
    """A PPG-like pulse with a beat (the start of the upstroke) at each time of
    ``beats_s``: a fast rise, a slower fall and a dicrotic bump; ``amplitude`` per beat
    (0: a beat the pulse does not show, as when a beat is missed)."""
    t = np.arange(int(seconds * fs)) / fs
    x = np.zeros_like(t)
    amps = np.ones(len(beats_s)) if amplitude is None else np.asarray(amplitude, dtype=float)
    for b, a in zip(beats_s, amps):
        d = t - b - 0.12  # the systolic peak 120 ms after the beat
        wave = np.exp(-0.5 * (d / 0.06) ** 2) * (d < 0) + np.exp(-d / 0.25) * (d >= 0) * (d < 1.0)
        wave += 0.25 * np.exp(-0.5 * ((d - 0.35) / 0.05) ** 2)
        x += a * wave
    return x


def intervals(n: int, seed: int = 0) -> np.ndarray:
    """``n`` normal intervals around 0.85 s (70 bpm) whose successive differences stay
    clear of 50 ms (either about 20 ms or about 80 ms), so that pNN50 is exact."""
    rng = np.random.default_rng(seed)
    ibi = [0.85]
    for big in rng.random(n - 1) < 0.3:
        step = 0.08 if big else 0.02
        ibi.append(ibi[-1] - step if ibi[-1] > 0.85 else ibi[-1] + step)  # back towards 0.85 s
    return np.asarray(ibi)


def high() -> Confidence:
    return Confidence("high", 10.0, 1.0, "test", 6)


def test_pnn50_by_hand():
    h = hrv_of_intervals([0.80, 0.90, 0.82, 0.84])  # differences 100, -80, 20 ms
    assert h.pnn50_pct == pytest.approx(200 / 3)
    assert hrv([0.80, 0.90, 0.82, 0.84]).pnn50_pct == pytest.approx(200 / 3)
    # only differences between two kept intervals count: (0.80, 0.90) and (0.82, 0.84)
    assert hrv_of_intervals([0.80, 0.90, 0.5, 0.82, 0.84], [True, True, False, True, True]).pnn50_pct == 50.0
    assert json.loads(json_text(h.as_dict()))["pnn50_pct"] == pytest.approx(66.7)


def test_beats_and_hrv_of_a_pulse_with_known_intervals():
    ibi = intervals(80)
    beats = 1.0 + np.concatenate([[0.0], np.cumsum(ibi)])
    x = beats_pulse(beats, beats[-1] + 1.0) + 0.01 * np.random.default_rng(1).standard_normal(int((beats[-1] + 1) * FS))
    res = pulse_beats(x, FS, 60.0 / ibi.mean(), high())
    assert res.count == beats.size
    # every beat at the same place of its upstroke: the intervals are timed well under a frame
    assert np.abs(res.ibi_s - ibi).max() < 0.01
    assert res.normal.all() and res.reason is None
    truth = hrv_of_intervals(ibi)
    assert res.hrv.sdnn_ms == pytest.approx(truth.sdnn_ms, abs=1.5)
    assert res.hrv.rmssd_ms == pytest.approx(truth.rmssd_ms, abs=2.0)
    assert res.hrv.pnn50_pct == pytest.approx(truth.pnn50_pct)
    assert res.hrv.n_intervals == ibi.size


def test_an_ectopic_beat_and_a_missed_beat_are_left_out():
    ibi = list(intervals(90, seed=2))
    # an ectopic beat: premature (65 % of the interval) then a compensatory pause
    e = 30
    rr = ibi[e]
    ibi[e : e + 1] = [0.65 * rr, 1.35 * rr]
    beats = 1.0 + np.concatenate([[0.0], np.cumsum(ibi)])
    amplitude = np.ones(beats.size)
    amplitude[e + 1] = 0.7  # the ectopic beat ejects less blood
    missed = 60  # a beat the pulse does not show: the interval around it doubles
    amplitude[missed] = 0.0
    x = beats_pulse(beats, beats[-1] + 1.0, amplitude=amplitude)
    res = pulse_beats(x, FS, 70.0, high())
    assert res.count == beats.size - 1
    off = np.abs(res.times_s - res.times_s[0] - (np.delete(beats, missed) - beats[0]))
    # every beat within a frame of where it was put; the smaller, premature one sits a
    # little differently on its upstroke, which rides on the previous beat's fall
    assert off.max() < 1 / FS and np.delete(off, e + 1).max() < 0.005
    # left out: the premature and the compensatory interval, and the doubled one
    assert np.flatnonzero(~res.normal).tolist() == [e, e + 1, missed - 1]
    assert res.ibi_s[missed - 1] == pytest.approx(ibi[missed - 1] + ibi[missed], abs=0.01)
    normal = np.ones(len(ibi), dtype=bool)
    normal[[e, e + 1, missed - 1, missed]] = False
    true_nn = np.delete(np.asarray(ibi), missed)  # the intervals the pulse shows
    keep = np.delete(normal, missed)
    truth = hrv_of_intervals(true_nn, keep)
    # three of 89 intervals edited out (96.6 % normal): the HRV is still reported, and is
    # that of the normal intervals alone (the ectopic beat would have added tens of ms)
    assert res.reason is None and res.normal_share > HRV_MIN_NORMAL_SHARE
    assert res.hrv.sdnn_ms == pytest.approx(truth.sdnn_ms, abs=1.5)
    assert res.hrv.rmssd_ms == pytest.approx(truth.rmssd_ms, abs=2.0)
    assert res.hrv.pnn50_pct == pytest.approx(truth.pnn50_pct)
    unedited = hrv_of_intervals(res.ibi_s)
    assert unedited.sdnn_ms > truth.sdnn_ms + 30 and unedited.rmssd_ms > truth.rmssd_ms + 30


def test_frequent_ectopic_beats_refuse_the_hrv_with_the_reason():
    ibi = list(intervals(60, seed=3))
    for e in (8, 20, 32, 44):  # four ectopic beats: eight of 64 intervals not normal
        rr = ibi[e]
        ibi[e : e + 1] = [0.65 * rr, 1.35 * rr]
    beats = 1.0 + np.concatenate([[0.0], np.cumsum(ibi)])
    res = pulse_beats(beats_pulse(beats, beats[-1] + 1.0), FS, 70.0, high())
    assert (~res.normal).sum() == 8
    assert res.hrv is None
    assert res.reason == f"only 87 % of 64 intervals are normal (at least {100 * HRV_MIN_NORMAL_SHARE:.0f} % needed): " \
                         "the beats are not clean enough"
    assert res.text == f"no HRV: {res.reason}"


def test_windows_of_30_s_every_15_s_carry_their_own_hrv():
    rng = np.random.default_rng(4)
    calm = 0.9 + 0.01 * rng.standard_normal(50)  # ~45 s of little variability
    lively = 0.8 + 0.06 * np.sin(np.arange(56) * 2 * np.pi / 5.0)  # then breathing-driven swings
    ibi = np.concatenate([calm, lively])
    beats = 0.5 + np.concatenate([[0.0], np.cumsum(ibi)])
    x = beats_pulse(beats, beats[-1] + 0.8)
    res = pulse_beats(x, FS, 70.0, high())
    shift = res.times_s[0] - beats[0]  # the fiducial's fixed place on the upstroke
    assert [(w.start_s, w.end_s) for w in res.windows] == [(15.0 * k, 15.0 * k + 30.0) for k in range(len(res.windows))]
    assert len(res.windows) == int((x.size / FS - 30.0) // 15.0) + 1
    for w in res.windows:
        true_beats = beats + shift
        inside = (true_beats[:-1] >= w.start_s) & (true_beats[1:] < w.end_s)
        truth = hrv_of_intervals(ibi[inside])
        assert w.intervals == inside.sum() and w.reason is None
        assert w.hrv.sdnn_ms == pytest.approx(truth.sdnn_ms, abs=2.0)
        assert w.hrv.rmssd_ms == pytest.approx(truth.rmssd_ms, abs=3.0)
    assert res.windows[0].hrv.rmssd_ms < 20 < res.windows[-1].hrv.rmssd_ms


@pytest.mark.parametrize("seed", range(6))
def test_noise_never_gets_hrv(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(60 * FS))
    if seed % 2:  # pink noise
        spec = np.fft.rfft(x)
        spec[1:] /= np.sqrt(np.arange(1, spec.size))
        x = np.fft.irfft(spec, x.size)
    a = analyse(x, FS, (40 / 60, 250 / 60))
    res = pulse_beats(x, FS, a.hr_bpm, a.confidence)
    assert res.hrv is None and all(w.hrv is None for w in res.windows)
    # even were its confidence not low, its beats are too irregular for the gate
    alone = pulse_beats(x, FS, a.hr_bpm, "medium")
    assert alone.hrv is None and "are normal" in alone.reason
    assert all(w.hrv is None for w in alone.windows)


def test_low_confidence_refuses_a_clean_pulse():
    ibi = intervals(70)
    beats = 1.0 + np.concatenate([[0.0], np.cumsum(ibi)])
    x = beats_pulse(beats, beats[-1] + 1.0)
    low = Confidence("low", 0.0, 0.0, "a face was found in only 3 of 2000 frames", 6)
    res = pulse_beats(x, FS, 70.0, low)
    assert res.count == beats.size  # the beats are still there
    assert res.hrv is None and res.reason == "the pulse's confidence is low (a face was found in only 3 of 2000 frames)"
    assert all(w.hrv is None and w.reason == res.reason for w in res.windows)
    assert pulse_beats(x, FS, 70.0, "low").reason == "the pulse's confidence is low"
    assert pulse_beats(x, FS, 70.0, high()).hrv is not None


def test_too_few_beats_constant_pulses_and_no_heart_rate():
    ibi = intervals(15)
    beats = 0.5 + np.concatenate([[0.0], np.cumsum(ibi)])
    short = pulse_beats(beats_pulse(beats, beats[-1] + 0.8), FS, 70.0, high())
    assert short.count == beats.size and short.hrv is None and short.windows == []
    assert short.reason == f"15 normal intervals, fewer than the {HRV_MIN_INTERVALS} HRV needs"
    flat = pulse_beats(np.full(600, 0.3), FS, float("nan"), "low")
    assert flat.count == 0 and flat.hrv is None and flat.reason == "the pulse has no heart rate"
    flat = pulse_beats(np.full(600, 0.3), FS, None, None)
    assert flat.count == 0 and "constant" in flat.reason
    # strict JSON: no NaN (a share of no intervals is null)
    doc = json.loads(json_text(flat.as_dict()), parse_constant=lambda c: pytest.fail(c))
    assert doc["normal_share"] is None and doc["times_s"] == [] and doc["windows"] == []


def test_the_middle_of_the_upstroke_is_timed_on_a_rounded_pulse():
    """A face pulse is nearly a sinusoid: its steepest point is flat and moves with noise,
    the middle of its upstroke does not."""
    t = np.arange(int(90 * FS)) / FS
    x = np.sin(2 * np.pi * 1.2 * t) + 0.1 * np.random.default_rng(0).standard_normal(t.size)
    spread = {}
    for fiducial in ("upslope", "middle"):
        ibi = np.diff(detect_beats(x, FS, hr_hz=1.2, fiducial=fiducial))
        spread[fiducial] = 1000 * np.std(ibi)  # the true intervals are all 833.3 ms
    assert spread["middle"] < 15.0 < 2 * spread["middle"] < spread["upslope"]
    clean = detect_beats(np.sin(2 * np.pi * 1.2 * t), FS, hr_hz=1.2, fiducial="middle")
    assert np.abs(np.diff(clean) - 1 / 1.2).max() < 0.002
    assert normal_intervals(np.diff(clean)).all()
