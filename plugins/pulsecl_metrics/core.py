"""The field's rPPG metrics, with their standard errors.

Heart-rate metrics compare predicted heart rates ``pred_hr (N,)`` with reference heart
rates ``ref_hr (N,)`` (bpm, one pair per video or window), with ``e = pred - ref``:

========  ===============================  =============================================
metric    value                            standard error (pulsecl convention)
========  ===============================  =============================================
MAE       mean |e|                         s(|e|) / sqrt(N)
RMSE      sqrt(mean e^2)                   s(e^2) / (2 RMSE sqrt(N))  (delta method)
MAPE      100 mean |e| / |ref|             100 s(|e| / |ref|) / sqrt(N)
Pearson   r(pred, ref)                     sqrt((1 - r^2) / (N - 2))
========  ===============================  =============================================

``s`` is the sample standard deviation (``ddof=1``).  ``convention="rppg-toolbox"``
reproduces that toolbox's printed errors instead: population SD (``ddof=0``) and, for
RMSE, ``sqrt(SD(e^2) / sqrt(N))`` (the square root of the MSE's standard error; not a
standard error of the RMSE, but what its tables print).

Signal metrics compare pulse signals:

* SNR (dB): power within +-6 bpm of the reference heart rate's first two harmonics
  against the rest of the band (de Haan & Jeanne 2013), see
  :func:`pulsecl.signal.quality.snr`.
* MACC: maximum absolute cross-correlation over lags, see
  :func:`pulsecl.signal.quality.macc`.

Bland-Altman (Bland & Altman, The Lancet 1986): bias ``mean(e)`` and 95 % limits of
agreement ``bias +- 1.96 s(e)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pulsecl.errors import SignalError
from pulsecl.signal.processing import check_band
from pulsecl.signal.quality import macc as _macc
from pulsecl.signal.quality import snr as _snr

__all__ = [
    "MAE",
    "MACC",
    "MAPE",
    "RMSE",
    "SNR",
    "BlandAltman",
    "BlandAltmanResult",
    "MetricResult",
    "Pearson",
    "Within",
    "summarize",
]

_CONVENTIONS = ("pulsecl", "rppg-toolbox")


@dataclass(frozen=True)
class MetricResult:
    """A metric's ``value``, its standard error ``se`` and the number of pairs ``n``."""

    value: float
    se: float
    n: int

    def __float__(self) -> float:
        return self.value

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def summary(self, name: str) -> dict[str, float]:
        """``{name: value, name_se: se}``: this result's entries in a summary table."""
        return {name: self.value, f"{name}_se": self.se}


@dataclass(frozen=True)
class BlandAltmanResult:
    """Bias, SD of the differences and the 95 % limits of agreement (bpm)."""

    bias: float
    sd: float
    lower: float
    upper: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def summary(self, name: str) -> dict[str, float]:
        """``bias``, ``loa_lower``, ``loa_upper``: this result's entries in a summary."""
        return {"bias": self.bias, "loa_lower": self.lower, "loa_upper": self.upper}


def _hr_pairs(pred_hr: Any, ref_hr: Any, name: str, minimum: int = 1) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred_hr, dtype=np.float64)
    r = np.asarray(ref_hr, dtype=np.float64)
    if p.ndim > 1 or r.ndim > 1:
        raise SignalError(f"{name}: heart rates must be 1-D, got shapes {p.shape} and {r.shape}")
    p, r = np.atleast_1d(p), np.atleast_1d(r)
    if p.shape != r.shape:
        raise SignalError(
            f"{name}: {p.size} predicted and {r.size} reference heart rates; give one pair per "
            "video or window"
        )
    if p.size < minimum:
        raise SignalError(f"{name} needs at least {minimum} heart-rate pair(s), got {p.size}")
    for arr, which in ((p, "predicted"), (r, "reference")):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise SignalError(
                f"{name}: {which} heart rate {int(np.argmax(bad))} is {arr[bad][0]}; drop "
                "the pairs without an estimate first"
            )
    return p, r


def _sd(x: np.ndarray, convention: str) -> float:
    ddof = 0 if convention == "rppg-toolbox" else 1
    return float(np.std(x, ddof=ddof)) if x.size > ddof else float("nan")


def _check_convention(convention: str, name: str) -> str:
    if convention not in _CONVENTIONS:
        raise SignalError(f"{name}: convention='{convention}' must be one of {', '.join(_CONVENTIONS)}")
    return convention


class MAE:
    """Mean absolute error (bpm) and its standard error ``s(|e|) / sqrt(N)``."""

    name = "mae"
    inputs = ("pred_hr", "ref_hr")
    summary_keys = ("{name}", "{name}_se")  # what a summary holds when the data cannot define it

    def __init__(self, convention: str = "pulsecl"):
        self.convention = _check_convention(convention, self.name)

    def __call__(self, pred_hr: Any, ref_hr: Any) -> MetricResult:
        p, r = _hr_pairs(pred_hr, ref_hr, self.name)
        a = np.abs(p - r)
        return MetricResult(float(a.mean()), _sd(a, self.convention) / math.sqrt(a.size), a.size)


class RMSE:
    """Root mean square error (bpm); standard error by the delta method,
    ``s(e^2) / (2 RMSE sqrt(N))`` (``convention="rppg-toolbox"``: see module docs)."""

    name = "rmse"
    inputs = ("pred_hr", "ref_hr")
    summary_keys = ("{name}", "{name}_se")

    def __init__(self, convention: str = "pulsecl"):
        self.convention = _check_convention(convention, self.name)

    def __call__(self, pred_hr: Any, ref_hr: Any) -> MetricResult:
        p, r = _hr_pairs(pred_hr, ref_hr, self.name)
        sq = (p - r) ** 2
        rmse = float(math.sqrt(sq.mean()))
        sd_sq = _sd(sq, self.convention)
        if self.convention == "rppg-toolbox":
            se = math.sqrt(sd_sq / math.sqrt(sq.size))
        else:
            se = sd_sq / (2.0 * rmse * math.sqrt(sq.size)) if rmse > 0 else 0.0
        return MetricResult(rmse, se, sq.size)


class MAPE:
    """Mean absolute percentage error (%) and ``100 s(|e| / |ref|) / sqrt(N)``."""

    name = "mape"
    inputs = ("pred_hr", "ref_hr")
    summary_keys = ("{name}", "{name}_se")

    def __init__(self, convention: str = "pulsecl"):
        self.convention = _check_convention(convention, self.name)

    def __call__(self, pred_hr: Any, ref_hr: Any) -> MetricResult:
        p, r = _hr_pairs(pred_hr, ref_hr, self.name)
        if np.any(r == 0):
            raise SignalError(f"mape: reference heart rate {int(np.argmax(r == 0))} is 0; MAPE divides by it")
        rel = np.abs(p - r) / np.abs(r)
        return MetricResult(
            100.0 * float(rel.mean()), 100.0 * _sd(rel, self.convention) / math.sqrt(rel.size), rel.size
        )


class Pearson:
    """Pearson correlation of predicted and reference heart rates, and its standard
    error ``sqrt((1 - r^2) / (N - 2))``; needs N >= 3 and neither side constant."""

    name = "pearson"
    inputs = ("pred_hr", "ref_hr")
    summary_keys = ("{name}", "{name}_se")

    def __call__(self, pred_hr: Any, ref_hr: Any) -> MetricResult:
        p, r = _hr_pairs(pred_hr, ref_hr, self.name, minimum=3)
        if np.ptp(p) == 0 or np.ptp(r) == 0:
            which = "predicted" if np.ptp(p) == 0 else "reference"
            raise SignalError(f"pearson: the {which} heart rates are all equal; r is undefined")
        dp, dr = p - p.mean(), r - r.mean()
        rho = float(dp @ dr / math.sqrt(float(dp @ dp) * float(dr @ dr)))
        rho = max(-1.0, min(1.0, rho))
        return MetricResult(rho, math.sqrt((1.0 - rho * rho) / (p.size - 2)), p.size)


class SNR:
    """SNR (dB) of a predicted pulse at the reference heart rate (de Haan & Jeanne
    2013): ``metric(pulse (T,), fs, ref_hr_bpm) -> float``.

    Args:
        band_bpm: band whose non-harmonic power counts as noise.
        tolerance_bpm: half-width around each harmonic (6 bpm).
        harmonics: harmonics counted as signal (2).
        window: spectral window (``hann``; ``boxcar`` for rPPG-Toolbox's periodogram).
    """

    name = "snr"
    inputs = ("pred_pulse", "fs", "ref_hr")

    def __init__(
        self,
        band_bpm: tuple[float, float] = (40.0, 250.0),
        tolerance_bpm: float = 6.0,
        harmonics: int = 2,
        window: str = "hann",
    ):
        try:
            low, high = (float(v) for v in band_bpm)
        except (TypeError, ValueError):
            raise SignalError(f"snr: band_bpm={band_bpm!r} must be a pair (low, high) in bpm") from None
        self.band_hz = check_band((low / 60.0, high / 60.0))
        self.tolerance_bpm = tolerance_bpm
        self.harmonics = harmonics
        self.window = window

    def __call__(self, pulse: Any, fs: float, ref_hr_bpm: Any) -> Any:
        return _snr(
            pulse, fs, ref_hr_bpm, self.band_hz, tolerance_bpm=self.tolerance_bpm,
            harmonics=self.harmonics, window=self.window,
        )


class MACC:
    """Maximum absolute cross-correlation of a predicted and a reference pulse over
    lags: ``metric(pred_pulse (T,), ref_pulse (T,), fs=None) -> float`` in [0, 1].

    Args:
        circular: rPPG-Toolbox's circular shifts (default) or linear lags.
        max_lag_s: largest lag in seconds (needs ``fs`` at call time); None: all.
    """

    name = "macc"
    inputs = ("pred_pulse", "ref_pulse", "fs")

    def __init__(self, circular: bool = True, max_lag_s: float | None = None):
        self.circular = bool(circular)
        self.max_lag_s = max_lag_s

    def __call__(self, pred_pulse: Any, ref_pulse: Any, fs: float | None = None) -> float:
        return _macc(pred_pulse, ref_pulse, fs, max_lag_s=self.max_lag_s, circular=self.circular)


class Within:
    """Share of heart rates within ``tolerance_bpm`` of the reference, in [0, 1], with
    its binomial standard error ``sqrt(p (1 - p) / N)``.  Reported beside MAE because a
    constant answer can win on MAE where the references span a narrow range."""

    name = "within"
    inputs = ("pred_hr", "ref_hr")
    summary_keys = ("within_5bpm", "within_5bpm_se")

    def __init__(self, tolerance_bpm: float = 5.0):
        if not (isinstance(tolerance_bpm, (int, float)) and tolerance_bpm > 0):
            raise SignalError(f"within: tolerance_bpm={tolerance_bpm!r} must be a positive number of bpm")
        self.tolerance = float(tolerance_bpm)
        self.summary_keys = (f"within_{self.tolerance:g}bpm", f"within_{self.tolerance:g}bpm_se")

    def __call__(self, pred_hr: Any, ref_hr: Any) -> MetricResult:
        p, r = _hr_pairs(pred_hr, ref_hr, self.name)
        share = float(np.mean(np.abs(p - r) <= self.tolerance))
        return _Share(share, math.sqrt(share * (1.0 - share) / p.size), p.size, self.summary_keys)


@dataclass(frozen=True)
class _Share(MetricResult):
    keys: tuple[str, str] = ("within_5bpm", "within_5bpm_se")

    def summary(self, name: str) -> dict[str, float]:
        return {self.keys[0]: self.value, self.keys[1]: self.se}


class BlandAltman:
    """Bland-Altman agreement: bias ``mean(e)``, ``s(e)``, limits ``bias +- 1.96 s(e)``
    (bpm); needs N >= 2."""

    name = "bland_altman"
    inputs = ("pred_hr", "ref_hr")
    summary_keys = ("bias", "loa_lower", "loa_upper")

    def __call__(self, pred_hr: Any, ref_hr: Any) -> BlandAltmanResult:
        p, r = _hr_pairs(pred_hr, ref_hr, self.name, minimum=2)
        e = p - r
        bias = float(e.mean())
        sd = float(e.std(ddof=1))
        return BlandAltmanResult(bias, sd, bias - 1.96 * sd, bias + 1.96 * sd, e.size)


def summarize(pred_hr: Any, ref_hr: Any, convention: str = "pulsecl") -> dict[str, float]:
    """Every heart-rate metric in one flat dict (for reports and benchmark tables).

    Keys: ``n``, ``mae``, ``mae_se``, ``rmse``, ``rmse_se``, ``mape``, ``mape_se``,
    ``pearson``, ``pearson_se``, ``bias``, ``loa_lower``, ``loa_upper``.  Metrics that
    the data cannot define (Pearson with fewer than 3 pairs or a constant side; MAPE
    with a zero reference; limits of agreement with one pair) are NaN rather than
    errors, so that a summary of a small run still prints.

    Shape: ``pred_hr (N,)``, ``ref_hr (N,)`` in bpm.
    """
    p, r = _hr_pairs(pred_hr, ref_hr, "summarize")
    nan = float("nan")
    out: dict[str, float] = {"n": float(p.size)}
    metrics = {"mae": MAE(convention), "rmse": RMSE(convention), "mape": MAPE(convention), "pearson": Pearson()}
    for key, metric in metrics.items():
        try:
            res = metric(p, r)
            out[key], out[f"{key}_se"] = res.value, res.se
        except SignalError:
            out[key], out[f"{key}_se"] = nan, nan
    if p.size >= 2:
        ba = BlandAltman()(p, r)
        out.update(bias=ba.bias, loa_lower=ba.lower, loa_upper=ba.upper)
    else:
        out.update(bias=float(p[0] - r[0]), loa_lower=nan, loa_upper=nan)
    return out
