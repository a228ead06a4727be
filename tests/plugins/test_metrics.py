"""Metrics plugin: each metric against a hand computation on small arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

import pulsecl
import pulsecl_metrics
from pulsecl.errors import SignalError

PRED = [70.0, 80.0, 90.0, 100.0]
REF = [72.0, 79.0, 93.0, 100.0]
# errors e = pred - ref = [-2, 1, -3, 0]; |e| = [2, 1, 3, 0]; e^2 = [4, 1, 9, 0]


def metric(name, **options):
    return pulsecl.build("metrics", name, **options)


def test_the_eight_metrics_are_registered_and_say_what_they_take():
    names = ["bland_altman", "macc", "mae", "mape", "pearson", "rmse", "snr", "within"]
    assert pulsecl.components("metrics") == names
    assert metric("mae").inputs == ("pred_hr", "ref_hr")
    assert metric("snr").inputs == ("pred_pulse", "fs", "ref_hr")
    assert metric("macc").inputs == ("pred_pulse", "ref_pulse", "fs")


def test_within_by_hand():
    # |e| = [2, 1, 3, 0]: all within 5 bpm; within 1.5 bpm: 1 and 0, half of them
    assert metric("within")(PRED, REF).value == 1.0
    res = metric("within", tolerance_bpm=1.5)(PRED, REF)
    assert res.value == 0.5 and res.se == pytest.approx(math.sqrt(0.25 / 4))
    assert res.summary("within") == {"within_1.5bpm": 0.5, "within_1.5bpm_se": res.se}
    with pytest.raises(SignalError, match="tolerance_bpm=0 must be a positive number"):
        metric("within", tolerance_bpm=0)


def test_mae_by_hand():
    res = metric("mae")(PRED, REF)
    assert res.value == pytest.approx(6 / 4)
    # |e| - mean = [0.5, -0.5, 1.5, -1.5]: s = sqrt(5 / 3)
    assert res.se == pytest.approx(math.sqrt(5 / 3) / 2)
    assert res.n == 4 and float(res) == res.value


def test_rmse_by_hand():
    res = metric("rmse")(PRED, REF)
    rmse = math.sqrt(14 / 4)
    assert res.value == pytest.approx(rmse)
    # e^2 - 3.5 = [0.5, -2.5, 5.5, -3.5]: s(e^2) = sqrt(49 / 3); delta method
    assert res.se == pytest.approx(math.sqrt(49 / 3) / (2 * rmse * 2))


def test_mape_by_hand():
    res = metric("mape")(PRED, REF)
    rel = [2 / 72, 1 / 79, 3 / 93, 0.0]
    mean = sum(rel) / 4
    assert res.value == pytest.approx(100 * mean)
    sd = math.sqrt(sum((r - mean) ** 2 for r in rel) / 3)
    assert res.se == pytest.approx(100 * sd / 2)


def test_pearson_by_hand():
    res = metric("pearson")(PRED, REF)
    # pred - 85 = [-15, -5, 5, 15]; ref - 86 = [-14, -7, 7, 14]
    sxy = 15 * 14 + 5 * 7 + 5 * 7 + 15 * 14
    sxx, syy = 2 * (225 + 25), 2 * (196 + 49)
    r = sxy / math.sqrt(sxx * syy)
    assert res.value == pytest.approx(r)
    assert res.se == pytest.approx(math.sqrt((1 - r * r) / 2))


def test_bland_altman_by_hand():
    res = metric("bland_altman")(PRED, REF)
    # e = [-2, 1, -3, 0]: bias -1; e - bias = [-1, 2, -2, 1]: s = sqrt(10 / 3)
    sd = math.sqrt(10 / 3)
    assert (res.bias, res.sd) == (pytest.approx(-1.0), pytest.approx(sd))
    assert res.lower == pytest.approx(-1 - 1.96 * sd)
    assert res.upper == pytest.approx(-1 + 1.96 * sd)


def test_rppg_toolbox_convention_by_hand():
    assert metric("mae", convention="rppg-toolbox")(PRED, REF).se == pytest.approx(math.sqrt(5 / 4) / 2)
    # sqrt(SD_pop(e^2) / sqrt(N)) = sqrt(sqrt(49 / 4) / 2)
    assert metric("rmse", convention="rppg-toolbox")(PRED, REF).se == pytest.approx(math.sqrt(3.5 / 2))


def test_snr_metric_on_a_clean_sinusoid_and_on_noise():
    fs = 30.0
    t = np.arange(int(30 * fs)) / fs
    snr = metric("snr")
    assert snr(np.sin(2 * np.pi * 1.25 * t), fs, 75.0) > 20.0
    assert snr(np.random.default_rng(0).standard_normal(t.size), fs, 75.0) < 0.0


def test_macc_metric():
    x = np.random.default_rng(1).standard_normal(200)
    assert metric("macc")(x, np.roll(x, 7)) == pytest.approx(1.0)
    assert metric("macc", circular=False, max_lag_s=0.1)(x, np.roll(x, 7), 30.0) < 0.5


def test_summarize_gathers_every_hr_metric():
    out = pulsecl_metrics.summarize(PRED, REF)
    assert out["n"] == 4
    assert out["mae"] == pytest.approx(1.5) and out["rmse"] == pytest.approx(math.sqrt(3.5))
    assert out["bias"] == pytest.approx(-1.0)
    assert out["pearson"] == pytest.approx(metric("pearson")(PRED, REF).value)
    assert set(out) == {
        "n", "mae", "mae_se", "rmse", "rmse_se", "mape", "mape_se", "pearson", "pearson_se",
        "bias", "loa_lower", "loa_upper",
    }
    small = pulsecl_metrics.summarize([70.0], [72.0])
    assert small["mae"] == 2.0 and math.isnan(small["pearson"]) and math.isnan(small["loa_upper"])


def test_metric_bad_inputs():
    with pytest.raises(SignalError, match="mae: 4 predicted and 3 reference heart rates"):
        metric("mae")(PRED, REF[:3])
    with pytest.raises(SignalError, match="rmse: predicted heart rate 1 is nan"):
        metric("rmse")([70.0, float("nan")], [70.0, 71.0])
    with pytest.raises(SignalError, match="mape: reference heart rate 1 is 0"):
        metric("mape")([70.0, 80.0], [70.0, 0.0])
    with pytest.raises(SignalError, match="pearson needs at least 3"):
        metric("pearson")([70.0, 80.0], [71.0, 79.0])
    with pytest.raises(SignalError, match="the predicted heart rates are all equal"):
        metric("pearson")([70.0, 70.0, 70.0], [71.0, 79.0, 90.0])
    with pytest.raises(SignalError, match="bland_altman needs at least 2"):
        metric("bland_altman")([70.0], [71.0])
    with pytest.raises(SignalError, match="convention='toolbox' must be one of"):
        metric("mae", convention="toolbox")
