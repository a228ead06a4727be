"""Small numeric helpers every part of pulsecl shares: the heart-rate band, window
layout, peak refinement and a correlation.  Only numpy: importing this is cheap.

* :data:`DEFAULT_BAND_BPM` / :data:`DEFAULT_BAND_HZ`: 40-250 bpm, the default band;
* :func:`band_hz`: a ``(low, high)`` band in bpm, checked, in Hz;
* :func:`window_starts`: windows of a length every stride, the last one ending at the
  last sample;
* :func:`parabolic_offset`: sub-bin position of a peak from a parabola through it and
  its two neighbours;
* :func:`pearson`: Pearson r of two 1-D signals (0 when either is constant).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pulsecl.errors import ConfigError, PulseclError

__all__ = ["DEFAULT_BAND_BPM", "DEFAULT_BAND_HZ", "band_hz", "parabolic_offset", "pearson", "window_starts"]

#: The default heart-rate band in bpm: wide enough for rest (40) and exercise (250).
DEFAULT_BAND_BPM: tuple[float, float] = (40.0, 250.0)

#: :data:`DEFAULT_BAND_BPM` in Hz.
DEFAULT_BAND_HZ: tuple[float, float] = (DEFAULT_BAND_BPM[0] / 60.0, DEFAULT_BAND_BPM[1] / 60.0)


def band_hz(band_bpm: Any, what: str = "band_bpm", error: type[PulseclError] = ConfigError) -> tuple[float, float]:
    """``(low, high)`` in bpm -> Hz.  A band that is not two finite numbers with
    ``0 < low < high`` raises ``error`` (a :class:`ConfigError` by default) naming
    ``what``."""
    if isinstance(band_bpm, (str, bytes)):
        raise error(f"{what} = {band_bpm!r}: give two numbers [low, high] in bpm, e.g. [45, 150]")
    try:
        low, high = (float(v) for v in band_bpm)
    except (TypeError, ValueError):
        raise error(f"{what} = {band_bpm!r}: give two numbers [low, high] in bpm, e.g. [45, 150]") from None
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise error(f"{what} = [{low:g}, {high:g}]: give 0 < low < high in bpm, e.g. [45, 150]")
    return low / 60.0, high / 60.0


def window_starts(n: int, length: int, stride: int) -> np.ndarray:
    """Start indices of windows of ``length`` samples every ``stride`` samples over
    ``n`` samples; a last window ending at sample ``n`` is added when the stride does not
    land there.  ``length >= n`` gives one window at 0.  Shape: ``(W,)`` int64."""
    if length >= n:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, n - length + 1, max(1, int(stride)), dtype=np.int64)
    if starts[-1] != n - length:
        starts = np.append(starts, np.int64(n - length))
    return starts


def parabolic_offset(a: Any, b: Any, c: Any) -> np.ndarray:
    """Offset (in samples, within +-0.5) of the vertex of the parabola through
    ``(-1, a), (0, b), (1, c)``: where a peak at the middle sample really lies.  0 where
    the three points are not concave (no peak to refine).  Elementwise over arrays."""
    a, b, c = (np.asarray(v, dtype=np.float64) for v in (a, b, c))
    denom = a - 2.0 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(denom < 0, 0.5 * (a - c) / denom, 0.0)
    return np.clip(off, -0.5, 0.5)


def pearson(a: Any, b: Any) -> float:
    """Pearson r of two 1-D signals of the same length; 0 when either is constant."""
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    x, y = x - x.mean(), y - y.mean()
    den = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y) / den if den > 0 else 0.0
