"""Classical rPPG methods on skin-model traces with a known pulse."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import pulsecl
from pulsecl.errors import ConfigError, SignalError
from pulsecl.signal.processing import bandpass

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "signal"))
from skin_traces import skin_trace  # noqa: E402

METHODS = ["green", "ica", "chrom", "pbv", "pos", "lgi", "omit"]
CASES = [(hr, fs) for fs in (15.0, 30.0) for hr in (45.0, 60.0, 75.0, 90.0, 120.0, 150.0, 180.0)]


def test_the_seven_methods_are_registered():
    assert pulsecl.components("classical_methods") == sorted(METHODS)


@pytest.mark.parametrize("name", METHODS)
def test_every_method_within_2_bpm_on_clean_traces(name):
    method = pulsecl.build("classical_methods", name)
    for i, (hr, fs) in enumerate(CASES):
        tr = skin_trace(hr, fs, 20.0, skin_tone=(i % 5) / 4, seed=i)
        pulse = method(tr.rgb, fs)
        assert pulse.shape == (tr.rgb.shape[0],)
        assert pulsecl.heart_rate(pulse, fs) == pytest.approx(hr, abs=2.0), (name, hr, fs)


@pytest.mark.parametrize("name", METHODS)
def test_every_pulse_rises_with_blood_volume(name):
    method = pulsecl.build("classical_methods", name)
    for i, (hr, fs) in enumerate(CASES[::3]):
        tr = skin_trace(hr, fs, 20.0, skin_tone=(i % 3) / 2, seed=100 + i)
        r = np.corrcoef(bandpass(method(tr.rgb, fs), fs), bandpass(tr.pulse, fs))[0, 1]
        assert r > 0.3, (name, hr, fs, r)


def test_flicker_defeats_green_but_not_pos_and_chrom():
    methods = {m: pulsecl.build("classical_methods", m) for m in ("green", "pos", "chrom")}
    errors = {m: [] for m in methods}
    for i, (hr, fs) in enumerate(CASES):
        tr = skin_trace(hr, fs, 20.0, skin_tone=(i % 5) / 4, flicker=0.1, seed=200 + i)
        for m, method in methods.items():
            errors[m].append(abs(pulsecl.heart_rate(method(tr.rgb, fs), fs) - hr))
    assert max(errors["pos"]) < 3.0, errors["pos"]
    assert max(errors["chrom"]) < 3.0, errors["chrom"]
    green = np.asarray(errors["green"])
    assert np.mean(green > 3.0) >= 0.75 and np.mean(green) > 10.0, green


@pytest.mark.parametrize("name", ["chrom", "pbv", "pos", "lgi", "omit"])
def test_pure_intensity_change_gives_no_pulse(name):
    # Light that only scales the skin colour lies along the direction these methods
    # remove; GREEN reports it as the pulse.
    fs = 30.0
    t = np.arange(600) / fs
    intensity = 1 + 0.05 * np.sin(2 * np.pi * 1.3 * t) + 0.02 * np.sin(2 * np.pi * 0.2 * t)
    rgb = intensity[:, None] * np.array([0.7, 0.5, 0.4])
    out = pulsecl.build("classical_methods", name)(rgb, fs)
    green = pulsecl.build("classical_methods", "green")(rgb, fs)
    assert np.max(np.abs(out)) < 1e-3 * np.max(np.abs(green))


def pos_by_the_paper(rgb, length):
    """Wang et al. (2017), Algorithm 1, literally: a window at every frame."""
    n = rgb.shape[0]
    h_total = np.zeros(n)
    p = np.array([[0, 1, -1], [-2, 1, 1]], dtype=float)
    for start in range(n - length + 1):
        c = rgb[start : start + length].T  # (3, l)
        cn = c / c.mean(axis=1, keepdims=True)
        s = p @ cn
        h = s[0] + s[0].std() / s[1].std() * s[1]
        h_total[start : start + length] += h - h.mean()
    return h_total


@pytest.mark.parametrize("fs", [15.0, 30.0])
def test_pos_running_sums_equal_the_papers_loop(fs):
    tr = skin_trace(88.0, fs, 12.0, seed=7, specular_noise=0.004)
    length = int(round(1.6 * fs))
    expected = -pos_by_the_paper(tr.rgb, length)  # pulsecl flips POS to rise with blood volume
    np.testing.assert_allclose(pulsecl.build("classical_methods", "pos")(tr.rgb, fs), expected, atol=1e-9)


def test_traces_shorter_than_the_window_are_one_window():
    tr = skin_trace(90.0, 30.0, 8.0, seed=3)
    short = pulsecl.build("classical_methods", "ica", window_s=30.0)(tr.rgb, 30.0)
    assert short.shape == (240,)
    assert pulsecl.heart_rate(short, 30.0) == pytest.approx(90.0, abs=2.0)


@pytest.mark.parametrize("name", ["lgi", "omit", "ica"])
def test_windowed_variants_work_on_a_long_trace_with_changing_light(name):
    tr = skin_trace(66.0, 30.0, 120.0, drift=0.3, seed=11)
    method = pulsecl.build("classical_methods", name, window_s=10.0)
    assert pulsecl.heart_rate(method(tr.rgb, 30.0), 30.0) == pytest.approx(66.0, abs=2.0)


@pytest.mark.parametrize("name", METHODS)
def test_bad_traces_raise_signal_errors(name):
    method = pulsecl.build("classical_methods", name)
    rgb = skin_trace(70.0, 30.0, 10.0, seed=1).rgb
    with pytest.raises(SignalError, match=rf"{name}: RGB trace has shape \(300, 4\); expected \(T, 3\)"):
        method(np.hstack([rgb, rgb[:, :1]]), 30.0)
    with pytest.raises(SignalError, match="transpose it"):
        method(rgb.T, 30.0)
    bad = rgb.copy()
    bad[5, 1] = np.nan
    with pytest.raises(SignalError, match="NaN or infinite value.*frame 5 channel G"):
        method(bad, 30.0)
    with pytest.raises(SignalError, match="needs at least"):
        method(rgb[:3], 30.0)
    with pytest.raises(SignalError, match="constant"):
        method(np.ones((300, 3)), 30.0)
    with pytest.raises(SignalError, match="finite positive"):
        method(rgb, -30.0)
    if name != "ica":  # ICA z-scores: it does not need positive colours
        with pytest.raises(SignalError, match="channel R of the RGB trace has mean"):
            method(rgb - np.array([1.0, 0.0, 0.0]), 30.0)


def test_minimum_length_follows_the_band():
    rgb = skin_trace(70.0, 30.0, 10.0, seed=1).rgb
    with pytest.raises(SignalError, match=r"chrom: RGB trace has 40 frames .* at least 45 frames"):
        pulsecl.build("classical_methods", "chrom")(rgb[:40], 30.0)
    with pytest.raises(SignalError, match="too low for the band"):
        pulsecl.build("classical_methods", "chrom")(rgb, 8.0)


def test_bad_options():
    with pytest.raises(ConfigError, match="pos' has no option 'windw_s'; did you mean 'window_s'"):
        pulsecl.build("classical_methods", "pos", windw_s=1.0)
    with pytest.raises(SignalError, match="window_s=0.1 s is 3 frame"):
        pulsecl.build("classical_methods", "chrom", window_s=0.1)(skin_trace(70.0, 30.0, 10.0).rgb, 30.0)
    with pytest.raises(SignalError, match="band_bpm"):
        pulsecl.build("classical_methods", "chrom", band_bpm=(200, 50))
    with pytest.raises(SignalError, match="signature"):
        pulsecl.build("classical_methods", "pbv", signature=(0, 0, 0))
