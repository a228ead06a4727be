"""Figures of heart-rate agreement: predicted vs. reference scatter and Bland-Altman.

J. M. Bland, D. G. Altman, "Statistical methods for assessing agreement between two
methods of clinical measurement", The Lancet 327(8476), 1986.

Both functions write a PNG atomically (:func:`pulsecl.io.atomic_write`) with
matplotlib's Agg backend (no display needed) and return the path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from pulsecl.errors import SignalError
from pulsecl.io import atomic_write

__all__ = ["bland_altman_plot", "scatter_plot"]


def _pairs(pred_hr: Any, ref_hr: Any) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred_hr, dtype=np.float64).ravel()
    r = np.asarray(ref_hr, dtype=np.float64).ravel()
    if p.shape != r.shape:
        raise SignalError(f"predicted ({p.size}) and reference ({r.size}) heart rates differ in number")
    if p.size < 2:
        raise SignalError(f"a plot needs at least 2 heart-rate pairs, got {p.size}")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(r))):
        raise SignalError("heart rates contain NaN or infinite values")
    return p, r


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(5, 5), dpi=100, layout="constrained")


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise SignalError(f"plot path '{path}' must end in .png")
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")
    return path


def scatter_plot(
    pred_hr: Any,
    ref_hr: Any,
    path: str | os.PathLike[str],
    title: str = "Heart rate",
) -> Path:
    """Predicted against reference heart rate (bpm), with the identity line.

    Shape: ``pred_hr (N,)``, ``ref_hr (N,)``.
    """
    p, r = _pairs(pred_hr, ref_hr)
    fig = _figure()
    ax = fig.add_subplot()
    lo = float(min(p.min(), r.min())) - 5
    hi = float(max(p.max(), r.max())) + 5
    ax.plot([lo, hi], [lo, hi], color="0.6", lw=1, label="identity")
    ax.scatter(r, p, s=14, alpha=0.8, label=f"{p.size} pairs")
    r_coef = float(np.corrcoef(p, r)[0, 1]) if np.ptp(p) > 0 and np.ptp(r) > 0 else float("nan")
    ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="reference HR (bpm)", ylabel="predicted HR (bpm)")
    # two lines, so that a long method and dataset name is not cut off
    ax.set_title(f"{title}\nMAE {np.mean(np.abs(p - r)):.2f} bpm, r = {r_coef:.3f}, "
                 f"{100 * np.mean(np.abs(p - r) <= 5.0):.0f} % within 5 bpm", fontsize="medium")
    ax.set_aspect("equal")
    ax.legend(loc="upper left")
    return _save(fig, path)


def bland_altman_plot(
    pred_hr: Any,
    ref_hr: Any,
    path: str | os.PathLike[str],
    title: str = "Bland-Altman",
) -> Path:
    """Difference (predicted - reference) against the mean of the two, with the bias
    and the 95 % limits of agreement (bias +- 1.96 SD of the differences).

    Shape: ``pred_hr (N,)``, ``ref_hr (N,)``.
    """
    p, r = _pairs(pred_hr, ref_hr)
    diff = p - r
    mean = (p + r) / 2
    bias = float(diff.mean())
    sd = float(diff.std(ddof=1))
    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter(mean, diff, s=14, alpha=0.8)
    for y, label, style in (
        (bias, f"bias {bias:+.2f}", "-"),
        (bias + 1.96 * sd, f"+1.96 SD {bias + 1.96 * sd:+.2f}", "--"),
        (bias - 1.96 * sd, f"-1.96 SD {bias - 1.96 * sd:+.2f}", "--"),
    ):
        ax.axhline(y, color="tab:red", ls=style, lw=1, label=label)
    ax.set(xlabel="mean of predicted and reference HR (bpm)", ylabel="predicted - reference (bpm)")
    ax.set_title(title, fontsize="medium")
    ax.legend(loc="best", fontsize="small")
    return _save(fig, path)
