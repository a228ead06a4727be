"""Built-in pulsecl plugin 'metrics': the field's rPPG metrics.

Table ``metrics``: ``mae``, ``rmse``, ``mape``, ``pearson``, ``within`` (each returns a
:class:`~pulsecl_metrics.core.MetricResult` with ``value``, standard error ``se`` and
``n``), ``snr`` (dB), ``macc`` and ``bland_altman`` (bias and 95 % limits).  Each
factory returns a callable; its ``inputs`` attribute names what it is called with:
``("pred_hr", "ref_hr")``, ``("pred_pulse", "fs", "ref_hr")`` or
``("pred_pulse", "ref_pulse", "fs")``.  Formulas and standard errors:
:mod:`pulsecl_metrics.core`.

    >>> import pulsecl, pulsecl_metrics
    >>> pulsecl.build("metrics", "mae")([70, 80], [72, 79]).value
    1.5
    >>> pulsecl_metrics.summarize(pred_hr, ref_hr)   # every HR metric in one dict
"""

from typing import Any

from pulsecl import hookimpl
from pulsecl.registry import lazy

__all__ = ["summarize"]

_METRICS = {
    "mae": ("MAE", "mean absolute error of heart rates (bpm), with standard error"),
    "rmse": ("RMSE", "root mean square error of heart rates (bpm), with standard error"),
    "mape": ("MAPE", "mean absolute percentage error of heart rates (%), with standard error"),
    "pearson": ("Pearson", "Pearson r of predicted and reference heart rates, with standard error"),
    "snr": ("SNR", "SNR (dB) of a pulse at the reference heart rate (de Haan & Jeanne 2013)"),
    "macc": ("MACC", "maximum absolute cross-correlation of two pulses over lags"),
    "bland_altman": ("BlandAltman", "Bland-Altman bias and 95 % limits of agreement (bpm)"),
    "within": ("Within", "share of heart rates within 5 bpm of the reference, with standard error"),
}


@hookimpl
def pulsecl_register_metrics(registry):
    """Register the eight metrics."""
    for name, (cls, description) in _METRICS.items():
        registry.add(name, lazy(f"pulsecl_metrics.core:{cls}", description), description=description)


def summarize(pred_hr: Any, ref_hr: Any, convention: str = "pulsecl") -> dict[str, float]:
    """Every heart-rate metric in one dict; see :func:`pulsecl_metrics.core.summarize`."""
    from pulsecl_metrics.core import summarize as _summarize

    return _summarize(pred_hr, ref_hr, convention)
