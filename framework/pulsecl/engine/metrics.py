"""Summaries of heart-rate metrics, built through the registry.

The core names no metric: :func:`summarize_hr` builds every component of the
``metrics`` table whose ``inputs`` are ``("pred_hr", "ref_hr")`` and gathers their
results into one flat dict, so a plugin's metric joins every evaluation and benchmark
summary by being registered.

A heart-rate metric is called ``metric(pred_hr (N,), ref_hr (N,))`` and returns either
a number or an object with ``summary(name) -> dict[str, float]`` (its entries, e.g.
``{"mae": ..., "mae_se": ...}``).  When the data cannot define it (a Pearson r of two
pairs, say) it raises a :class:`~pulsecl.errors.PulseclError`, and the summary holds
NaN under each of its ``summary_keys`` (format strings of ``name``; default
``("{name}",)``), so a summary of a small run still prints; ``reasons`` (a dict, if
given) receives the error's message under each of those keys.  Written to JSON, the NaN
is ``null`` (:func:`pulsecl.io.write_json`) and the reason says why.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pulsecl.errors import PulseclError, SignalError

__all__ = ["HR_INPUTS", "summarize_hr"]

#: What a heart-rate metric is called with.
HR_INPUTS = ("pred_hr", "ref_hr")


def _entries(name: str, metric: Any, result: Any) -> dict[str, float]:
    if result is None:
        keys = getattr(metric, "summary_keys", None) or ("{name}",)
        return {k.format(name=name): math.nan for k in keys}
    if hasattr(result, "summary"):
        return {k: float(v) for k, v in result.summary(name).items()}
    return {name: float(result)}


def summarize_hr(pred_hr: Any, ref_hr: Any, reasons: dict[str, str] | None = None) -> dict[str, float]:
    """``n`` and the entries of every registered heart-rate metric (module docstring)
    for predicted and reference heart rates (bpm, one pair per video or window); the
    reason of each NaN entry goes to ``reasons`` when given."""
    from pulsecl.plugins import get_plugin_manager

    p = np.atleast_1d(np.asarray(pred_hr, dtype=np.float64))
    r = np.atleast_1d(np.asarray(ref_hr, dtype=np.float64))
    if p.shape != r.shape or p.ndim != 1:
        raise SignalError(f"summarize_hr: {p.shape} predicted and {r.shape} reference heart rates; give pairs (N,)")
    pm = get_plugin_manager()
    out: dict[str, float] = {"n": float(p.size)}
    for name in pm.components("metrics"):
        metric = pm.build("metrics", name)
        if tuple(getattr(metric, "inputs", ())) != HR_INPUTS:
            continue
        try:
            result = metric(p, r)
        except PulseclError as exc:
            result = None
            if reasons is not None:
                reasons.update({k: str(exc) for k in _entries(name, metric, None)})
        out.update(_entries(name, metric, result))
    return out
