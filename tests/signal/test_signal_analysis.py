"""The heart-rate analysis: the recording's rate, its confidence level, and the octave
rule, against signals with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from pulsecl.signal.analysis import (
    AGREE_HIGH,
    SNR_HIGH_DB,
    SNR_LOW_DB,
    analyse,
    confidence,
    half_rate_rule,
    normalised_spectra,
)

FS = 30.0
BAND = (40 / 60, 240 / 60)


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * FS)) / FS


@pytest.mark.parametrize("snr_db, agreement, level", [
    (SNR_HIGH_DB, AGREE_HIGH, "high"),  # both thresholds are inclusive
    (-2.0, 0.9, "high"),
    (-2.0, 0.4, "medium"),  # a clean spectrum, but the windows disagree
    (-7.0, 0.9, "medium"),
    (SNR_LOW_DB - 0.01, 1.0, "low"),
    (-20.0, 0.0, "low"),
])
def test_confidence_levels_follow_the_stated_thresholds(snr_db, agreement, level):
    c = confidence(snr_db, agreement)
    assert c.level == level and c.snr_db == snr_db and c.agreement == agreement
    assert c.as_dict()["level"] == level and "\n" not in c.reason


def test_a_clean_pulse_is_high_confidence_and_white_noise_is_not():
    rng = np.random.default_rng(0)
    t = _t(40.0)
    clean = analyse(np.sin(2 * np.pi * 72 / 60 * t) + 0.3 * rng.standard_normal(t.size), FS, BAND)
    assert abs(clean.hr_bpm - 72.0) < 0.5 and clean.confidence.level == "high"
    assert clean.confidence.agreement == 1.0
    for seed in range(5):
        noise = analyse(np.random.default_rng(seed).standard_normal(t.size), FS, BAND)
        assert noise.confidence.level != "high"


def test_the_recordings_rate_is_the_median_of_the_windows_own_rates():
    rng = np.random.default_rng(1)
    t = _t(60.0)
    pulse = np.sin(2 * np.pi * 80 / 60 * t) + 0.8 * rng.standard_normal(t.size)
    a = analyse(pulse, FS, BAND)
    assert a.hr_bpm == pytest.approx(float(np.median(a.window_peak_bpm)))
    assert abs(a.hr_bpm - 80.0) < 1.0


def _harmonic_spectrum(f0_bpm: float, a2: float, seconds: float = 30.0, noise: float = 0.05, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = _t(seconds)
    x = np.sin(2 * np.pi * f0_bpm / 60 * t) + a2 * np.sin(4 * np.pi * f0_bpm / 60 * t + 0.7)
    x = x + noise * rng.standard_normal(t.size)
    freqs, psd = normalised_spectra(x[None, :], FS, BAND)
    return freqs, psd[0]


def test_the_octave_rule_answers_the_fundamental_under_a_stronger_harmonic():
    freqs, spec = _harmonic_spectrum(60.0, a2=1.2)  # the harmonic holds 1.44x the fundamental's power
    top = float(freqs[np.argmax(spec)] * 60)
    assert abs(top - 120.0) < 1.0
    hr, moved = half_rate_rule(freqs, spec, top, BAND, ratio=0.6)  # 1 / 1.44 = 0.69 >= 0.6
    assert moved and abs(hr - 60.0) < 0.5
    assert half_rate_rule(freqs, spec, top, BAND, ratio=0.8) == (top, False)  # 0.69 < 0.8: kept
    assert half_rate_rule(freqs, spec, top, BAND, ratio=0.0) == (top, False)  # the default: off


def test_the_octave_rule_leaves_a_lone_peak_and_a_half_outside_the_band():
    freqs, spec = _harmonic_spectrum(120.0, a2=0.0)  # nothing at 60 bpm
    assert half_rate_rule(freqs, spec, 120.0, BAND, ratio=0.6) == (120.0, False)
    freqs, spec = _harmonic_spectrum(45.0, a2=1.5)  # top at 90 bpm, its half (45) below a 50-bpm band
    band = (50 / 60, 240 / 60)
    top = float(freqs[np.argmax(spec)] * 60)
    assert half_rate_rule(freqs, spec, top, band, ratio=0.3) == (top, False)


def test_analyse_applies_the_octave_rule_only_when_asked():
    t = _t(30.0)
    x = np.sin(2 * np.pi * 1.0 * t) + 1.15 * np.sin(2 * np.pi * 2.0 * t + 0.4)  # after the band-pass, still 2nd > 1st
    assert abs(analyse(x, FS, BAND).hr_bpm - 120.0) < 1.0
    ruled = analyse(x, FS, BAND, half_ratio=0.5)
    assert ruled.octave_moved and abs(ruled.hr_bpm - 60.0) < 1.0
