"""The harmonic rule: a pulse whose dicrotic wave outgrew the beat is read at its own
rate, not twice it, and a true high rate is not halved."""

from __future__ import annotations

import numpy as np
import pytest
from skin_traces import pink_noise

from pulsecl.signal.analysis import Harmonic, analyse
from pulsecl.synthetic.physiology import PhysiologyParams, simulate

BAND = (40 / 60, 250 / 60)


def _pulse(hr: float, fs: float, seconds: float, depth: float, delay: float, seed: int, noise: float):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    ph = simulate(t, PhysiologyParams(hr_bpm=hr, hr_drift_bpm=1.0, notch_depth=depth, diastole_delay=delay), rng)
    return ph.ppg + noise * rng.standard_normal(t.size), float(np.median(ph.hr_bpm))


def test_the_issue_case_57_7_bpm_at_25_fps():
    """A dicrotic wave at 25 fps, 57.7 bpm: without the rule the spectrum reads 115."""
    x, true = _pulse(57.7, 25.0, 30.0, depth=0.9, delay=0.4, seed=7, noise=0.2)
    assert abs(analyse(x, 25.0, BAND, harmonics=False).hr_bpm - 2 * true) < 6.0
    a = analyse(x, 25.0, BAND)
    assert a.harmonic.moved and abs(a.hr_bpm - true) < 2.0


@pytest.mark.parametrize("fs", [15.0, 25.0, 30.0])
@pytest.mark.parametrize("hr", [45.0, 57.7, 75.0, 90.0, 110.0])
@pytest.mark.parametrize("seconds", [20.0, 60.0])
def test_a_pronounced_dicrotic_wave_is_read_at_the_beat(fs, hr, seconds):
    x, true = _pulse(hr, fs, seconds, depth=0.9, delay=0.4, seed=int(hr * 3 + fs + seconds), noise=0.2)
    a = analyse(x, fs, BAND)
    assert isinstance(a.harmonic, Harmonic)
    assert abs(a.hr_bpm - true) < 3.0, (analyse(x, fs, BAND, harmonics=False).hr_bpm, a.harmonic)
    assert np.median(np.abs(a.window_hr_bpm - true)) < 3.0  # the windows are tracked at the beat too


@pytest.mark.parametrize("fs", [15.0, 25.0, 30.0])
@pytest.mark.parametrize("hr", [100.0, 120.0, 150.0, 180.0])
@pytest.mark.parametrize("seconds", [10.0, 30.0, 60.0])
def test_a_true_high_rate_is_not_halved(fs, hr, seconds):
    rng = np.random.default_rng(int(hr + fs + seconds))
    x, true = _pulse(hr, fs, seconds, depth=0.4, delay=0.22, seed=int(hr + fs * 3 + seconds), noise=0.5)
    x = x + 0.5 * pink_noise(x.size, rng)
    a = analyse(x, fs, BAND)
    assert abs(a.hr_bpm - true) < 5.0, a.harmonic
    assert not a.harmonic.moved


def test_the_rule_needs_half_the_rate_inside_the_band():
    x, true = _pulse(45.0, 30.0, 30.0, depth=0.9, delay=0.4, seed=1, noise=0.2)
    a = analyse(x, 30.0, (50 / 60, 250 / 60))  # 45 bpm lies below the band
    assert not a.harmonic.moved and abs(a.hr_bpm - 2 * true) < 6.0
