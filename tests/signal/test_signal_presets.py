"""Post-processing presets: each reproduces its reference pipeline."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
from scipy.sparse import spdiags

from pulsecl.errors import ConfigError, SignalError
from pulsecl.signal.presets import Default, Gideon2021, RppgToolbox, get_preset, presets

FS = 30.0


def sinusoids(hrs, seconds=10.0, fs=FS, phase=0.7):
    t = np.arange(int(seconds * fs)) / fs
    return np.sin(2 * np.pi * np.asarray(hrs)[:, None] / 60.0 * t[None, :] + phase)


def pulse_like(hr, seconds=20.0, fs=FS, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    phase = 2 * np.pi * hr / 60 * t
    return np.sin(phase) + 0.3 * np.sin(2 * phase + 0.8) + 0.2 * rng.standard_normal(t.size) + 0.05 * t


HRS = np.arange(42.0, 240.1, 2.5)


@pytest.mark.parametrize("name", ["default", "gideon2021"])
def test_sinusoid_heart_rate_within_0_2_bpm(name):
    est = get_preset(name).heart_rate(sinusoids(HRS), FS)
    np.testing.assert_allclose(est, HRS, atol=0.2)


def test_rppg_toolbox_reads_a_bin_next_to_the_rate_inside_its_band():
    hrs = HRS[HRS <= 198]
    est = RppgToolbox().heart_rate(sinusoids(hrs), FS)
    bin_bpm = FS / 512 * 60  # 300 samples -> 512-point periodogram, no interpolation
    np.testing.assert_allclose(est / bin_bpm, np.round(est / bin_bpm), atol=1e-9)
    np.testing.assert_array_less(np.abs(est - hrs), bin_bpm)


def toolbox_reference(x, fs, low=0.6, high=3.3, diff=False):
    """rPPG-Toolbox's calculate_metric_per_video steps, written from its description:
    dense detrend with lambda = 100, butter(1) filtfilt, periodogram at the next power
    of two, argmax inside the band."""
    if diff:
        x = np.cumsum(x)
    n = x.size
    d2 = spdiags(np.array([np.ones(n), -2 * np.ones(n), np.ones(n)]), [0, 1, 2], n - 2, n).toarray()
    y = (np.eye(n) - np.linalg.inv(np.eye(n) + 100.0**2 * d2.T @ d2)) @ x
    b, a = scipy.signal.butter(1, [low / fs * 2, high / fs * 2], btype="bandpass")
    y = scipy.signal.filtfilt(b, a, y)
    nfft = 2 ** (n - 1).bit_length()
    f, p = scipy.signal.periodogram(y, fs=fs, nfft=nfft, detrend=False)
    mask = (f >= low) & (f <= high)
    return y, f[mask][np.argmax(p[mask])] * 60


@pytest.mark.parametrize("hr", [55.0, 81.0, 133.0])
@pytest.mark.parametrize("diff", [False, True])
def test_rppg_toolbox_matches_the_toolbox_pipeline(hr, diff):
    x = pulse_like(hr, seconds=10.0)
    if diff:
        x = np.diff(x)
    preset = RppgToolbox()
    ref_signal, ref_hr = toolbox_reference(x, FS, diff=diff)
    np.testing.assert_allclose(preset.process(x, FS, diff=diff), ref_signal, atol=1e-8)
    assert preset.heart_rate(x, FS, diff=diff) == ref_hr
    narrow_signal, narrow_hr = toolbox_reference(x, FS, 0.75, 2.5, diff=diff)
    assert RppgToolbox(band_hz=(0.75, 2.5)).heart_rate(x, FS, diff=diff) == narrow_hr


def test_rppg_toolbox_peak_method_and_snr_by_hand():
    x = pulse_like(90.0, seconds=30.0)
    preset = RppgToolbox(hr_method="peak")
    y = preset.process(x, FS)
    peaks, _ = scipy.signal.find_peaks(y)
    assert preset.heart_rate(x, FS) == pytest.approx(60 / (np.mean(np.diff(peaks)) / FS))
    assert preset.heart_rate(x, FS) == pytest.approx(90.0, abs=3.0)
    # SNR: periodogram at the next power of two, +-6 bpm of HR and 2 HR vs the rest of 0.6-3.3 Hz
    f, p = scipy.signal.periodogram(y, fs=FS, nfft=1024, detrend=False)
    near = (np.abs(f - 1.5) <= 0.1) | (np.abs(f - 3.0) <= 0.1)
    rest = (f >= 0.6) & (f <= 3.3) & ~near
    expected = 10 * math.log10(p[near].sum() / p[rest].sum())
    assert preset.snr(y, FS, 90.0) == pytest.approx(expected)


def test_rppg_toolbox_evaluate_reports_hr_snr_and_macc():
    pred, ref = pulse_like(70.0, seed=1), pulse_like(70.0, seed=2)
    out = RppgToolbox().evaluate(pred, ref, FS)
    assert out["hr_pred_bpm"] == pytest.approx(70.0, abs=2.0)
    assert out["hr_ref_bpm"] == pytest.approx(70.0, abs=2.0)
    assert out["snr_db"] > 0 and 0.5 < out["macc"] <= 1.0


def gideon_reference(x, fs, min_hr=40.0, max_hr=250.0):
    """Gideon & Stent's fast_ideal estimator, from the paper's description."""
    x = x - x.mean()
    n = x.size
    padded = np.pad(x, (50 * n, 50 * n))
    freqs = np.fft.fftfreq(padded.size, 1 / fs)[: padded.size // 2] * 60
    ps = np.abs(np.fft.fft(padded))[: padded.size // 2] ** 2
    keep = (freqs >= min_hr) & (freqs <= max_hr)
    freqs, ps = freqs[keep], ps[keep]
    k = int(np.argmax(ps))
    d1, d2 = ps[k] - ps[k - 1], ps[k] - ps[k + 1]
    offset = (1 - min(d1, d2) / max(d1, d2)) * (freqs[1] - freqs[0])
    return freqs[k] - offset if d2 > d1 else freqs[k] + offset


@pytest.mark.parametrize("hr", [47.0, 99.0, 201.0])
def test_gideon2021_matches_its_estimator(hr):
    x = pulse_like(hr, seconds=10.0, seed=3)
    assert Gideon2021().heart_rate(x, FS) == pytest.approx(gideon_reference(x, FS), abs=1e-9)


@pytest.mark.parametrize("name", presets())
def test_diff_signals_are_integrated_first(name):
    x = pulse_like(84.0)
    preset = get_preset(name)
    assert preset.heart_rate(np.diff(x), FS, diff=True) == pytest.approx(preset.heart_rate(x[1:], FS), abs=0.5)


@pytest.mark.parametrize("name", presets())
def test_hr_over_time_per_preset(name):
    t = np.arange(int(40 * FS)) / FS
    phase = np.where(t < 20, 2 * np.pi * 1.0 * t, 2 * np.pi * (20.0 + 1.5 * (t - 20)))
    times, hr = get_preset(name).hr_over_time(np.sin(phase), FS, window_s=8.0, stride_s=2.0)
    tol = 3.6 if name == "rppg-toolbox" else 0.6  # toolbox: 8-s windows, 256-point bins of 7 bpm
    np.testing.assert_allclose(hr[times <= 15], 60.0, atol=tol)
    np.testing.assert_allclose(hr[times >= 25], 90.0, atol=tol)


def test_default_peak_method():
    assert Default(hr_method="peak").heart_rate(pulse_like(66.0, seconds=30.0), FS) == pytest.approx(66.0, abs=1.0)


def test_default_takes_a_band():
    x = sinusoids([30.0], seconds=20.0)[0]
    with pytest.raises(SignalError, match="shorter than one period"):
        Default().heart_rate(x[:50], FS, band_hz=(0.4, 3.0))
    assert Default().heart_rate(x, FS, band_hz=(0.4, 3.0)) == pytest.approx(30.0, abs=0.2)


def test_unknown_presets_and_options():
    with pytest.raises(ConfigError, match="unknown signal preset 'rppg_toolbox'; did you mean 'rppg-toolbox'"):
        get_preset("rppg_toolbox")
    with pytest.raises(ConfigError, match="signal preset 'default'.*unexpected keyword argument 'windw'"):
        get_preset("default", windw="hann")
    with pytest.raises(ConfigError, match="hr_method='welch' must be 'fft' or 'peak'"):
        get_preset("rppg-toolbox", hr_method="welch")
    with pytest.raises(ConfigError, match="is not a preset"):
        get_preset(object())
    custom = Default(window="hann")
    assert get_preset(custom) is custom
