"""pulsecl.nn.spectral against numpy and against the frequencies put in."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pulsecl.errors import ConfigError, SignalError
from pulsecl.nn.spectral import (
    DEFAULT_BAND_HZ,
    as_fs,
    band_grid,
    band_spectrum,
    periodogram,
    resample_signal,
    resample_spectrum,
    resample_video,
    spectrum_on_grid,
)


def sine(f_hz, fs, n, phase=0.0):
    return torch.sin(2 * math.pi * f_hz * torch.arange(n, dtype=torch.float64) / fs + phase)


def peak_hz(x, fs, pad=64):
    power, freqs = periodogram(x.reshape(1, -1), fs, pad)
    return float(freqs[0, power[0].argmax()])


@pytest.mark.parametrize("pad", [1.0, 2.0])
def test_band_spectrum_matches_numpy_with_per_sample_fs(pad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 50))
    fs = np.array([30.0, 12.5])
    spec = band_spectrum(torch.tensor(x), torch.tensor(fs), DEFAULT_BAND_HZ, pad)
    n = int(round(50 * pad))
    for b in range(2):
        freqs = np.fft.rfftfreq(n, 1 / fs[b])
        inside = (freqs >= 40 / 60) & (freqs <= 250 / 60)
        for v in range(3):
            p = np.abs(np.fft.rfft(x[b, v] - x[b, v].mean(), n)) ** 2
            p = np.where(inside, p, 0.0)
            np.testing.assert_allclose(spec.power[b, v].numpy(), p / p.sum(), atol=1e-12)
        np.testing.assert_allclose(spec.freqs[b].numpy(), freqs, atol=1e-9)
        np.testing.assert_array_equal(spec.mask[b].numpy(), inside)


def test_spectral_peak_follows_fs_not_30():
    for fs in (30.0, 8.0, 100.0):
        assert peak_hz(sine(1.7, fs, int(10 * fs)), fs) == pytest.approx(1.7, abs=0.01)


def test_as_fs_errors_name_the_fault():
    with pytest.raises(SignalError, match="positive"):
        as_fs(torch.tensor([30.0, 0.0]), 2)
    with pytest.raises(SignalError, match=r"shape \(3,\)"):
        as_fs(torch.tensor([30.0, 25.0]), 3)


def test_band_without_bins_is_a_signal_error():
    with pytest.raises(SignalError, match="no frequency bin"):
        band_spectrum(torch.randn(1, 8), 1.0)  # bins 0 to 0.5 Hz, band from 0.67 Hz


def test_band_grid_is_1_bpm_steps():
    grid = band_grid()
    assert grid.shape == (211,)
    assert grid[0] * 60 == pytest.approx(40.0)
    assert grid[-1] * 60 == pytest.approx(250.0)
    assert torch.allclose(grid.diff() * 60, torch.ones(210), atol=1e-4)


def test_resample_spectrum_is_linear_interpolation_renormalised():
    freqs = torch.tensor([1.0, 2.0, 3.0])
    power = torch.tensor([[0.2, 0.6, 0.2]])
    grid = torch.tensor([1.5, 2.0, 2.75, 3.5])
    out = resample_spectrum(power, freqs, grid)
    expected = np.array([0.4, 0.6, 0.3, 0.0])  # 3.5 Hz is outside the source range
    np.testing.assert_allclose(out[0].numpy(), expected / expected.sum(), atol=1e-6)


def test_spectra_of_different_fs_agree_on_the_grid():
    """The same 1.5 Hz pulse at 30 fps and at 20 fps peaks at the same grid point."""
    x = torch.stack([sine(1.5, 30.0, 300).float(), sine(1.5, 20.0, 300).float()])
    on_grid = spectrum_on_grid(x, torch.tensor([30.0, 20.0]), pad_factor=4)
    grid = band_grid()
    assert on_grid.shape == (2, 211)
    assert torch.allclose(on_grid.sum(-1), torch.ones(2))
    peaks = grid[on_grid.argmax(-1)] * 60
    assert peaks.tolist() == pytest.approx([90.0, 90.0], abs=1.0)


def test_spectrum_on_grid_of_ragged_rows_equals_row_by_row():
    fs = torch.tensor([30.0, 25.0, 30.0])
    rows = [sine(1.2, 30.0, 80).float(), sine(2.0, 25.0, 64).float(), sine(1.7, 30.0, 64).float()]
    ragged = spectrum_on_grid(rows, fs, pad_factor=8)
    assert ragged.shape == (3, 211)
    for i, row in enumerate(rows):
        alone = spectrum_on_grid(row[None], fs[i : i + 1], pad_factor=8)[0]
        assert torch.allclose(ragged[i], alone, atol=1e-6)
    assert (band_grid()[ragged.argmax(-1)] * 60).tolist() == pytest.approx([72, 120, 102], abs=2)  # bins 1.4-1.8 bpm


@pytest.mark.parametrize("length", [40, 67, 100, 150, 213])
def test_resample_signal_keeps_a_band_limited_sine(length):
    """Output sample k sits at (k + 0.5) T / L - 0.5 input samples."""
    t_in, fs, f = 100, 30.0, 2.0
    x = sine(f, fs, t_in, 0.3)
    y = resample_signal(x[None], length)[0]
    pos = (torch.arange(length, dtype=torch.float64) + 0.5) * t_in / length - 0.5
    expected = torch.sin(2 * math.pi * f * pos / fs + 0.3)
    inner = slice(length // 10, length - length // 10)
    assert torch.allclose(y[inner], expected[inner], atol=0.02)


def test_resample_signal_removes_what_would_alias():
    """docs/background.md's case: 140 bpm at 6 fps shortened by r = 1.5 should be 210 bpm, above
    the Nyquist rate (180 bpm).  Plain linear interpolation folds it to 150 bpm; the
    anti-aliased resampling removes it instead."""
    fs = 6.0
    x = sine(140 / 60, fs, 60)[None]  # 10 s
    kept = resample_signal(x, 40)
    folded = resample_signal(x, 40, antialias=False)
    assert kept.pow(2).mean() < 0.05 * x.pow(2).mean()
    assert folded.pow(2).mean() > 0.3 * x.pow(2).mean()
    assert peak_hz(folded[0], fs) * 60 == pytest.approx(150.0, abs=2.0)


def test_resample_signal_shape_identity_and_gradient():
    x = torch.randn(2, 3, 40, requires_grad=True)
    assert resample_signal(x, 40) is x
    y = resample_signal(x, 27)
    assert y.shape == (2, 3, 27)
    y.square().sum().backward()
    assert torch.isfinite(x.grad).all() and (x.grad != 0).any()
    with pytest.raises(SignalError, match="positive integer"):
        resample_signal(x, 0)


def test_resample_video_moves_the_pulse_by_the_factor():
    fs, f, t = 30.0, 1.2, 120
    pulse = sine(f, fs, t).float()
    video = (0.5 + 0.1 * pulse).view(1, 1, t, 1, 1).expand(2, 3, t, 4, 5).contiguous().requires_grad_(True)
    short = resample_video(video, 80)  # factor 1.5
    assert short.shape == (2, 3, 80, 4, 5)
    trace = short[0, 1].mean(dim=(1, 2))
    assert peak_hz(trace, fs) == pytest.approx(f * 1.5, abs=0.02)
    short.sum().backward()
    assert torch.isfinite(video.grad).all()
    with pytest.raises(SignalError, match=r"\(B, C, T, H, W\)"):
        resample_video(torch.rand(3, 10, 4, 4), 5)


def test_pad_factor_below_one_is_a_config_error():
    with pytest.raises(ConfigError, match="pad_factor"):
        periodogram(torch.randn(1, 10), 30.0, 0.5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_signals_are_computed_in_float32(dtype):
    """Mixed-precision backbones give half-precision signals; the FFT does not take them."""
    x = sine(1.5, 30.0, 90).to(dtype)[None]
    y = resample_signal(x, 60)
    assert y.dtype == torch.float32 and y.shape == (1, 60)
    spec = band_spectrum(x, 30.0)
    assert spec.power.dtype == torch.float32
    assert float(spec.freqs[0, spec.power[0].argmax()]) == pytest.approx(1.5, abs=0.2)
