"""SNR, IPR and MACC against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pulsecl.errors import SignalError
from pulsecl.signal.quality import ipr, macc, snr

FS = 30.0


def tone(freq_hz, seconds, fs=FS, phase=0.3):
    return np.sin(2 * np.pi * freq_hz * np.arange(int(seconds * fs)) / fs + phase)


@pytest.mark.parametrize("hr", [48.0, 75.0, 110.0, 170.0])
def test_snr_of_a_clean_sinusoid_at_the_reference_rate_is_high(hr):
    assert snr(tone(hr / 60, 30), FS, hr) > 20.0


@pytest.mark.parametrize("seed", range(5))
def test_snr_of_white_noise_is_at_or_below_zero_db(seed):
    # the +-6 bpm windows around HR and 2 HR hold 24 of the band's 210 bpm: about -9 dB
    noise = np.random.default_rng(seed).standard_normal(int(30 * FS))
    assert snr(noise, FS, 75.0) < 0.0


def test_snr_by_hand_with_two_tones_on_exact_bins():
    # 20 s, no window, no padding: bins are 0.05 Hz and each tone fills exactly one bin.
    # signal: amplitude 1 at 1.2 Hz (the HR); noise: amplitude 0.5 at 2.0 Hz (in band,
    # 48 bpm away from both harmonics): SNR = 10 log10(1 / 0.25) = 6.02 dB.
    x = tone(1.2, 20, phase=0.0) + 0.5 * tone(2.0, 20, phase=1.0)
    value = snr(x, FS, 72.0, window="boxcar", pad_factor=1)
    assert value == pytest.approx(10 * math.log10(4.0), abs=1e-6)


def test_snr_counts_the_second_harmonic_as_signal():
    x = tone(1.2, 20, phase=0.0) + 0.5 * tone(2.4, 20, phase=1.0) + 0.5 * tone(3.3, 20, phase=2.0)
    # signal 1 + 0.25, noise 0.25 -> 10 log10(5)
    assert snr(x, FS, 72.0, window="boxcar", pad_factor=1) == pytest.approx(10 * math.log10(5.0), abs=1e-6)
    assert snr(x, FS, 72.0, harmonics=1, window="boxcar", pad_factor=1) == pytest.approx(
        10 * math.log10(1.0 / 0.5), abs=1e-6
    )


def test_snr_batch_matches_rows():
    x = np.stack([tone(1.0, 20), tone(1.5, 20) + 0.3 * tone(2.7, 20)])
    out = snr(x, FS, [60.0, 90.0])
    assert out.shape == (2,)
    assert out[1] == pytest.approx(snr(x[1], FS, 90.0))


def test_ipr_by_hand():
    # 20 s at 30 Hz, 1.2 Hz tone of amplitude 1 on exact bin plus a DC of 1:
    # |X(0)| = N, |X(1.2 Hz)| = N / 2 -> IPR = N / (N + N / 2) = 2 / 3
    x = 1.0 + tone(1.2, 20, phase=0.0)
    assert ipr(x, FS) == pytest.approx(2.0 / 3.0, abs=1e-9)
    assert ipr(x, FS, demean=True) == pytest.approx(0.0, abs=1e-9)


def toolbox_macc(pred, ref):
    """rPPG-Toolbox's MACC by its definition: |corrcoef| with ref rolled by 0..N-2."""
    n = min(len(pred), len(ref))
    pred, ref = pred[:n], ref[:n]
    return max(abs(np.corrcoef(pred, np.roll(ref, lag))[0, 1]) for lag in range(n - 1))


@pytest.mark.parametrize("seed", range(3))
def test_macc_equals_the_toolbox_loop(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(90), rng.standard_normal(87)
    assert macc(a, b) == pytest.approx(toolbox_macc(a, b), abs=1e-12)


def test_macc_of_a_delayed_copy_is_one_and_lags_can_be_limited():
    x = np.random.default_rng(3).standard_normal(400)
    delayed = np.concatenate([np.zeros(15), x[:-15]])
    assert macc(x, np.roll(x, 15)) == pytest.approx(1.0)
    a, b = delayed - delayed.mean(), x - x.mean()
    brute = np.correlate(a, b, "full") / math.sqrt((a @ a) * (b @ b))  # lags -(N-1)..N-1
    assert macc(delayed, x, circular=False) == pytest.approx(np.max(np.abs(brute)), abs=1e-12)
    assert np.argmax(np.abs(brute)) == 399 + 15
    assert macc(delayed, x, FS, circular=False, max_lag_s=0.1) < 0.3  # 3 lags < the 15-sample delay


def test_quality_bad_inputs():
    with pytest.raises(SignalError, match="reference heart rate .* finite and positive"):
        snr(tone(1.2, 20), FS, -70.0)
    with pytest.raises(SignalError, match="NaN"):
        snr(np.full(600, np.nan), FS, 70.0)
    with pytest.raises(SignalError, match=r"hr_bpm has shape \(3,\)"):
        snr(np.stack([tone(1.0, 20), tone(1.1, 20)]), FS, [60.0, 70.0, 80.0])
    with pytest.raises(SignalError, match="all zeros"):
        ipr(np.zeros(300), FS)
    with pytest.raises(SignalError, match="max_lag_s needs the sampling rate"):
        macc(tone(1.0, 5), tone(1.0, 5), max_lag_s=1.0)
    with pytest.raises(SignalError, match="predicted pulse is constant"):
        macc(np.ones(50), tone(1.0, 5))
