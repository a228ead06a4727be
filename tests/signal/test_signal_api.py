"""pulsecl.rgb_to_pulse and pulsecl.heart_rate: the top-level API."""

from __future__ import annotations

import numpy as np
import pytest
from skin_traces import skin_trace

import pulsecl
from pulsecl.errors import ConfigError, SignalError, UnknownComponentError

FS = 30.0


def sine(hr, seconds=10.0, fs=FS, phase=0.4):
    return np.sin(2 * np.pi * hr / 60.0 * np.arange(int(seconds * fs)) / fs + phase)


@pytest.mark.parametrize("hr", np.arange(42.0, 240.1, 6.0))
def test_heart_rate_of_a_10s_sinusoid_within_0_2_bpm(hr):
    assert pulsecl.heart_rate(sine(hr), FS) == pytest.approx(hr, abs=0.2)


@pytest.mark.parametrize("fs", [12.0, 25.0, 60.0])
def test_heart_rate_follows_the_sampling_rate(fs):
    # 12 fps: Nyquist 6 Hz clears the default band; nothing assumes 30 fps
    assert pulsecl.heart_rate(sine(97.0, fs=fs), fs) == pytest.approx(97.0, abs=0.2)


def test_heart_rate_of_a_first_difference():
    x = sine(77.0, seconds=20.0)
    assert pulsecl.heart_rate(np.diff(x), FS, diff=True) == pytest.approx(77.0, abs=0.3)


def test_band_bpm_given_explicitly_overrides_the_presets_band():
    x = sine(220.0, seconds=20.0)
    # rppg-toolbox's own band stops at 198 bpm; an explicit band reaches 220
    assert pulsecl.heart_rate(x, FS, preset="rppg-toolbox") <= 198.0
    assert pulsecl.heart_rate(x, FS, preset="rppg-toolbox", band_bpm=(40, 250)) == pytest.approx(220.0, abs=1.8)
    assert pulsecl.heart_rate(sine(50.0, seconds=20.0), FS, band_bpm=(60, 200)) >= 60.0


def test_heart_rate_of_a_batch():
    out = pulsecl.heart_rate(np.stack([sine(60.0), sine(120.0)]), FS)
    np.testing.assert_allclose(out, [60.0, 120.0], atol=0.2)


@pytest.mark.parametrize("method", ["pos", "chrom", "green"])
def test_rgb_to_pulse_then_heart_rate(method):
    tr = skin_trace(83.0, FS, 20.0, seed=4)
    pulse = pulsecl.rgb_to_pulse(tr.rgb, FS, method=method)
    assert pulse.shape == (tr.rgb.shape[0],)
    assert pulsecl.heart_rate(pulse, FS) == pytest.approx(83.0, abs=2.0)


def test_rgb_to_pulse_passes_options_and_checks_them():
    tr = skin_trace(70.0, FS, 20.0, seed=5)
    a = pulsecl.rgb_to_pulse(tr.rgb, FS, "pos", window_s=1.6)
    b = pulsecl.rgb_to_pulse(tr.rgb, FS, "pos", window_s=3.2)
    assert not np.allclose(a, b)
    with pytest.raises(ConfigError, match="has no option 'windw_s'; did you mean 'window_s'"):
        pulsecl.rgb_to_pulse(tr.rgb, FS, "pos", windw_s=1.6)
    with pytest.raises(UnknownComponentError, match="unknown classical_methods 'poss'; did you mean 'pos'"):
        pulsecl.rgb_to_pulse(tr.rgb, FS, "poss")


def test_heart_rate_bad_inputs():
    x = sine(70.0)
    with pytest.raises(SignalError, match="NaN"):
        pulsecl.heart_rate(np.where(np.arange(x.size) == 3, np.nan, x), FS)
    with pytest.raises(SignalError, match="constant"):
        pulsecl.heart_rate(np.zeros(300), FS)
    with pytest.raises(SignalError, match="shorter than one period"):
        pulsecl.heart_rate(x[:30], FS)
    with pytest.raises(SignalError, match="too low for the band"):
        pulsecl.heart_rate(sine(70.0, fs=8.0), 8.0)
    assert pulsecl.heart_rate(sine(70.0, fs=8.0), 8.0, band_bpm=(40, 230)) == pytest.approx(70.0, abs=0.2)
    with pytest.raises(SignalError, match=r"band_bpm=.* pair"):
        pulsecl.heart_rate(x, FS, band_bpm=40)
    with pytest.raises(ConfigError, match="unknown signal preset"):
        pulsecl.heart_rate(x, FS, preset="toolbox2")
