"""Signal processing against hand computations and known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
from scipy.sparse import spdiags

from pulsecl.errors import SignalError
from pulsecl.signal.processing import (
    DEFAULT_BAND_HZ,
    bandpass,
    detect_peaks,
    detrend,
    hr_from_peaks,
    hr_over_time,
    hrv,
    inter_beat_intervals,
    power_spectrum,
    smoothness_lambda,
    spectral_peak_hz,
)


def dense_detrend(z: np.ndarray, lam: float) -> np.ndarray:
    """Tarvainen et al. (2002), eq. (6), with dense matrices: (I - (I + lam^2 D2'D2)^-1) z."""
    n = z.size
    d2 = spdiags(np.array([np.ones(n), -2 * np.ones(n), np.ones(n)]), [0, 1, 2], n - 2, n).toarray()
    return (np.eye(n) - np.linalg.inv(np.eye(n) + lam**2 * d2.T @ d2)) @ z


@pytest.mark.parametrize("n", [3, 4, 5, 60])
def test_detrend_equals_the_dense_formula(n):
    z = np.random.default_rng(n).standard_normal(n).cumsum()
    np.testing.assert_allclose(detrend(z, 30.0, lam=100.0), dense_detrend(z, 100.0), atol=1e-9)


def test_detrend_batch_is_row_by_row():
    z = np.random.default_rng(1).standard_normal((3, 80)).cumsum(axis=1)
    out = detrend(z, 30.0, 0.5)
    for row_in, row_out in zip(z, out):
        np.testing.assert_allclose(row_out, detrend(row_in, 30.0, 0.5), atol=1e-12)


def test_detrend_removes_a_straight_line_exactly():
    # D2 annihilates a line, so the trend estimate is the line itself.
    t = np.arange(500.0)
    np.testing.assert_allclose(detrend(3.0 + 0.02 * t, 30.0, 0.3), 0.0, atol=1e-8)


@pytest.mark.parametrize("fs", [15.0, 30.0, 60.0])
def test_detrend_cutoff_is_minus_3db_whatever_the_frame_rate(fs):
    # A long sinusoid at the cutoff keeps 1/sqrt(2) of its amplitude away from the ends.
    cutoff = 0.5
    t = np.arange(int(200 * fs)) / fs
    y = detrend(np.sin(2 * np.pi * cutoff * t), fs, cutoff)
    middle = y[len(y) // 4 : 3 * len(y) // 4]
    assert np.max(np.abs(middle)) == pytest.approx(1 / math.sqrt(2), abs=0.01)


def test_smoothness_lambda_matches_rppg_toolbox_lambda_at_30fps():
    # lambda = 100 at 30 fps: q = 16 lam^2 sin^4(pi f / fs) = 1/(sqrt 2 - 1) at f = 0.596 Hz
    f = 30.0 / math.pi * math.asin(math.sqrt(math.sqrt(1 / (math.sqrt(2) - 1)) / (4 * 100.0)))
    assert smoothness_lambda(f, 30.0) == pytest.approx(100.0)
    assert f == pytest.approx(0.596, abs=1e-3)


def test_detrend_is_banded_two_hours_at_30fps():
    # A dense (T x T) solve would need 373 GB here; the banded one needs a few MB.
    n = 2 * 3600 * 30
    t = np.arange(n) / 30.0
    x = np.sin(2 * np.pi * 1.2 * t) + 0.001 * np.arange(n)
    y = detrend(x, 30.0, 0.3)
    assert np.max(np.abs(y[1000:-1000] - np.sin(2 * np.pi * 1.2 * t[1000:-1000]))) < 0.01


def test_bandpass_passes_the_band_and_stops_outside_with_zero_phase():
    fs = 30.0
    t = np.arange(int(60 * fs)) / fs
    inside = np.sin(2 * np.pi * 1.5 * t)
    y = bandpass(inside, fs, DEFAULT_BAND_HZ, order=2)
    mid = slice(300, -300)
    np.testing.assert_allclose(y[mid], inside[mid], atol=0.02)  # gain ~1, no delay
    for f in (0.1, 10.0):
        out = bandpass(np.sin(2 * np.pi * f * t), fs, DEFAULT_BAND_HZ, order=2)
        assert np.max(np.abs(out[mid])) < 0.1  # > 20 dB down


@pytest.mark.parametrize("nfft", [64, 65, 128])
def test_power_spectrum_equals_scipy_periodogram(nfft):
    x = np.random.default_rng(nfft).standard_normal(50) + 2.0
    f, p = power_spectrum(x, 30.0, nfft=nfft, demean=False)
    f_ref, p_ref = scipy.signal.periodogram(x, 30.0, nfft=nfft, detrend=False)
    np.testing.assert_allclose(f, f_ref)
    np.testing.assert_allclose(p, p_ref, rtol=1e-10, atol=1e-12)


def test_power_spectrum_zero_padding_refines_the_grid():
    f, _ = power_spectrum(np.random.default_rng(0).standard_normal(300), 30.0, pad_factor=4)
    assert f[1] - f[0] == pytest.approx(30.0 / 1200)


def test_spectral_peak_of_a_batch_is_row_by_row():
    fs = 30.0
    t = np.arange(300) / fs
    x = np.stack([np.sin(2 * np.pi * f * t) for f in (0.9, 1.7, 2.6)])
    out = spectral_peak_hz(x, fs)
    assert out.shape == (3,)
    np.testing.assert_allclose(out, [0.9, 1.7, 2.6], atol=0.2 / 60)
    assert out[1] == spectral_peak_hz(x[1], fs)


def test_spectral_peak_ignores_power_outside_the_band():
    fs = 30.0
    t = np.arange(600) / fs
    x = 5 * np.sin(2 * np.pi * 0.3 * t) + np.sin(2 * np.pi * 1.25 * t) + 3 * np.sin(2 * np.pi * 6 * t)
    assert spectral_peak_hz(x, fs) * 60 == pytest.approx(75.0, abs=0.2)


def test_hr_over_time_follows_a_step_in_heart_rate():
    fs = 30.0
    t = np.arange(int(40 * fs)) / fs
    phase = np.where(t < 20, 2 * np.pi * 1.0 * t, 2 * np.pi * (1.0 * 20 + 1.5 * (t - 20)))
    times, hr = hr_over_time(np.sin(phase), fs, window_s=8.0, stride_s=1.0)
    assert times[0] == pytest.approx(4.0) and times[-1] == pytest.approx(36.0)
    np.testing.assert_allclose(hr[times <= 16], 60.0, atol=0.5)
    np.testing.assert_allclose(hr[times >= 24], 90.0, atol=0.5)


def test_hr_over_time_adds_a_last_window_at_the_end():
    x = np.sin(2 * np.pi * 1.2 * np.arange(305) / 30.0)
    times, _ = hr_over_time(x, 30.0, window_s=5.0, stride_s=2.0)
    # windows of 150 start at 0, 60, 120 and the added 155 (ending at sample 305)
    np.testing.assert_allclose(times, (np.array([0, 60, 120, 155]) + 75) / 30.0)


def test_detect_peaks_finds_the_crests_of_a_sinusoid_between_samples():
    fs, f = 30.0, 1.25
    t = np.arange(int(20 * fs)) / fs
    peaks = detect_peaks(np.sin(2 * np.pi * f * t), fs)
    expected = (0.25 + np.arange(25)) / f  # crests of sin at (k + 1/4) periods
    expected = expected[expected < t[-1]]
    np.testing.assert_allclose(peaks, expected, atol=2e-3)
    assert hr_from_peaks(np.sin(2 * np.pi * f * t), fs) == pytest.approx(75.0, abs=0.05)


def test_hrv_of_known_intervals_by_hand():
    result = hrv([0.80, 0.90, 0.85, 0.95])
    # mean 0.875; deviations -0.075, 0.025, -0.025, 0.075 -> SDNN = sqrt(0.0125 / 3)
    assert result.sdnn_ms == pytest.approx(1000 * math.sqrt(0.0125 / 3))
    # successive differences 0.10, -0.05, 0.10 -> RMSSD = sqrt(0.0225 / 3)
    assert result.rmssd_ms == pytest.approx(1000 * math.sqrt(0.0225 / 3))
    assert result.mean_hr_bpm == pytest.approx(60 / 0.875)
    assert result.n_intervals == 4


def test_hrv_from_a_pulse_with_known_beats():
    fs = 60.0
    ibi = np.array([0.82, 0.91, 0.78, 0.88, 0.95, 0.80, 0.86, 0.90, 0.84])
    beats = 0.5 + np.concatenate([[0.0], np.cumsum(ibi)])
    t = np.arange(int((beats[-1] + 0.6) * fs)) / fs
    pulse = sum(np.exp(-0.5 * ((t - b) / 0.08) ** 2) for b in beats)
    found = detect_peaks(pulse, fs)
    np.testing.assert_allclose(found, beats, atol=0.004)
    np.testing.assert_allclose(inter_beat_intervals(found), ibi, atol=0.008)
    result = hrv(inter_beat_intervals(found))
    assert result.sdnn_ms == pytest.approx(1000 * np.std(ibi, ddof=1), abs=2.0)
    assert result.rmssd_ms == pytest.approx(1000 * np.sqrt(np.mean(np.diff(ibi) ** 2)), abs=3.0)


# --- inputs that cannot give an answer ------------------------------------------------


def sine(n=300, fs=30.0):
    return np.sin(2 * np.pi * 1.2 * np.arange(n) / fs)


@pytest.mark.parametrize(
    "func", [lambda x, fs: spectral_peak_hz(x, fs), lambda x, fs: hr_from_peaks(x, fs),
             lambda x, fs: hr_over_time(x, fs)],
    ids=["spectral_peak", "peaks", "over_time"],
)
def test_bad_inputs_raise_signal_errors(func):
    x = sine()
    with pytest.raises(SignalError, match=r"NaN or infinite sample\(s\), the first at index 17"):
        func(np.where(np.arange(300) == 17, np.nan, x), 30.0)
    with pytest.raises(SignalError, match="is constant"):
        func(np.full(300, 0.4), 30.0)
    with pytest.raises(SignalError, match=r"shorter than one period .* at least 45 samples"):
        func(x[:40], 30.0)
    with pytest.raises(SignalError, match=r"sampling rate 6 Hz is too low for the band up to 4.17 Hz"):
        func(sine(60, 6.0), 6.0)
    with pytest.raises(SignalError, match="finite positive"):
        func(x, 0.0)
    with pytest.raises(SignalError, match="not a number"):
        func(x, "thirty")


def test_bad_bands_and_shapes():
    with pytest.raises(SignalError, match=r"need 0 < low < high"):
        spectral_peak_hz(sine(), 30.0, (3.0, 1.0))
    with pytest.raises(SignalError, match=r"pair \(low, high\)"):
        spectral_peak_hz(sine(), 30.0, 4.0)
    with pytest.raises(SignalError, match=r"shape \(2, 3, 100\)"):
        spectral_peak_hz(np.ones((2, 3, 100)), 30.0)
    with pytest.raises(SignalError, match=r"\(row 1\) is constant"):
        spectral_peak_hz(np.stack([sine(), np.zeros(300)]), 30.0)
    with pytest.raises(SignalError, match="at least 2 beats"):
        inter_beat_intervals([1.0])
    with pytest.raises(SignalError, match="at least 2 inter-beat intervals"):
        hrv([0.8])
    with pytest.raises(SignalError, match="cutoff_hz .* or lam"):
        detrend(sine(), 30.0, None)


def test_despike_replaces_single_frame_jumps_and_keeps_the_pulse():
    from pulsecl.signal.processing import despike

    fs = 15.0
    t = np.arange(300) / fs
    rgb = np.stack([100 + 0.5 * np.sin(2 * np.pi * 1.2 * t) + c for c in (0, 10, 20)], axis=1)
    dirty = rgb.copy()
    hits = [20, 21, 150, 299]  # a two-frame jump, a single one, and one at the very end
    dirty[hits] += [40.0, -30.0, 25.0]
    clean, bad = despike(dirty, fs)
    assert sorted(np.flatnonzero(bad)) == hits
    assert np.abs(clean - rgb).max() < 0.2  # back on the pulse, which is left alone
    untouched, none = despike(rgb, fs)
    assert not none.any() and np.array_equal(untouched, rgb)
