"""Synthetic physiology: heart rate, variability, respiration, waveform."""

from __future__ import annotations

import numpy as np
import pytest

from pulsecl.synthetic.physiology import PhysiologyParams, pulse_shape, sample_params, simulate


def _peak_hz(x: np.ndarray, fs: float, lo: float, hi: float) -> float:
    x = x - x.mean()
    n = 16 * len(x)
    f = np.fft.rfftfreq(n, 1 / fs)
    p = np.abs(np.fft.rfft(x * np.hanning(len(x)), n)) ** 2
    band = (f >= lo) & (f <= hi)
    return float(f[band][np.argmax(p[band])])


@pytest.mark.parametrize("hr", [45.0, 72.0, 150.0, 178.0])
def test_steady_heart_rate_is_the_spectral_peak(hr):
    params = PhysiologyParams(hr_bpm=hr, hr_drift_bpm=0.0, hrv=0.0, rsa_bpm=0.0, riiv=0.0, riav=0.0)
    t = np.arange(0, 30, 1 / 30)
    phys = simulate(t, params, np.random.default_rng(0))
    assert abs(_peak_hz(phys.ppg, 30.0, 0.6, 4.0) * 60 - hr) < 1.0
    assert np.allclose(phys.hr_bpm, hr)
    assert abs(phys.ppg.mean()) < 1e-9 and abs(phys.ppg.std() - 1) < 1e-9


def test_drift_and_beat_to_beat_variability():
    params = PhysiologyParams(hr_bpm=80.0, hr_drift_bpm=5.0, hrv=0.04, rsa_bpm=0.0)
    t = np.arange(0, 120, 1 / 30)
    phys = simulate(t, params, np.random.default_rng(1))
    rr = np.diff(phys.beats)
    # Mean rate near the set one; intervals jitter around 60 / HR by about hrv.
    assert abs(60 / rr.mean() - 80.0) < 5.0
    rel = np.diff(rr) / rr[:-1]
    assert 0.02 < rel.std() < 0.1
    assert phys.hr_bpm.std() > 1.0  # the rate is not constant
    still = simulate(t, PhysiologyParams(hr_bpm=80.0, hr_drift_bpm=0.0, hrv=0.0, rsa_bpm=0.0), np.random.default_rng(1))
    assert np.diff(still.beats).std() < 1e-9


def test_respiration_modulates_baseline_and_rate():
    t = np.arange(0, 60, 1 / 30)
    base = dict(hr_bpm=90.0, hr_drift_bpm=0.0, hrv=0.0, resp_hz=0.25)
    with_resp = simulate(t, PhysiologyParams(**base, riiv=0.4, rsa_bpm=5.0), np.random.default_rng(2))
    without = simulate(t, PhysiologyParams(**base, riiv=0.0, riav=0.0, rsa_bpm=0.0), np.random.default_rng(2))

    def power_at(x, f0):
        f = np.fft.rfftfreq(len(x), 1 / 30)
        p = np.abs(np.fft.rfft(x - x.mean())) ** 2
        return p[np.argmin(np.abs(f - f0))] / p.sum()

    assert power_at(with_resp.ppg, 0.25) > 20 * power_at(without.ppg, 0.25)
    assert abs(_peak_hz(with_resp.ppg, 30.0, 0.1, 0.5) - 0.25) < 0.02
    # RSA: the instantaneous rate follows the breathing.
    assert with_resp.hr_bpm.max() - with_resp.hr_bpm.min() > 5.0


def test_waveform_has_systolic_peak_and_dicrotic_notch():
    params = PhysiologyParams(notch_depth=0.45)
    phase = np.linspace(0, 1, 1000, endpoint=False)
    w = pulse_shape(phase, params)
    peaks = [i for i in range(1, 999) if w[i] > w[i - 1] and w[i] > w[i + 1]]
    troughs = [i for i in range(1, 999) if w[i] < w[i - 1] and w[i] < w[i + 1]]
    assert len(peaks) == 2  # systolic and diastolic waves
    systolic, diastolic = peaks
    assert w[systolic] > w[diastolic]
    notch = [i for i in troughs if systolic < i < diastolic]
    assert len(notch) == 1  # the dicrotic notch between them
    assert abs(phase[systolic] - 0.2) < 0.01
    # Fast upstroke, slower decay: the peak comes early in the beat.
    assert phase[systolic] < 0.3
    # Continuous across the beat boundary.
    assert abs(pulse_shape(np.array([0.0]), params)[0] - pulse_shape(np.array([1.0 - 1e-9]), params)[0]) < 1e-6


def test_sampled_parameters_stay_in_range_and_are_deterministic():
    rng = np.random.default_rng(3)
    hrs = [sample_params(rng, (40.0, 180.0)).hr_bpm for _ in range(500)]
    assert 40.0 <= min(hrs) and max(hrs) <= 180.0
    assert max(hrs) - min(hrs) > 120.0  # the whole range is used
    a = sample_params(np.random.default_rng(7))
    b = sample_params(np.random.default_rng(7))
    assert a == b
    t = np.arange(0, 5, 1 / 30)
    assert np.array_equal(simulate(t, a, np.random.default_rng(7)).ppg, simulate(t, b, np.random.default_rng(7)).ppg)


def test_simulate_rejects_bad_times():
    with pytest.raises(ValueError, match="increasing"):
        simulate(np.array([0.0, 0.0, 1.0]), PhysiologyParams(), np.random.default_rng(0))
