"""Shared parts of the classical methods: trace checks, windows, overlap-add, polarity.

Every method maps an RGB trace ``(T, 3)`` (the mean skin colour of each frame, any
positive scale) sampled at ``fs`` Hz to a pulse signal ``(T,)``.

Polarity: every method returns a pulse that *rises with blood volume*, i.e. falls
when the skin darkens along the pulse signature.  Several papers' projections give the
opposite sign (the green channel itself, POS, PBV, LGI, OMIT); pulsecl flips them so
that all methods can be compared with a reference PPG and with each other.

Window lengths are in seconds so that they follow ``fs``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pulsecl.errors import SignalError
from pulsecl.signal.processing import check_band, check_fs

#: Relative pulse amplitude of R, G, B for an RGB camera: the blood-volume-pulse
#: signature of de Haan & van Leest (2014) as Wang et al. (2017) quote it.
PBV_SIGNATURE: tuple[float, float, float] = (0.33, 0.77, 0.53)


def band_from_bpm(band_bpm: Any, fs: float | None = None) -> tuple[float, float]:
    """``(low, high)`` in bpm -> Hz, checked (and against Nyquist when ``fs`` given)."""
    try:
        low, high = (float(v) for v in band_bpm)
    except (TypeError, ValueError):
        raise SignalError(f"band_bpm={band_bpm!r} must be a pair (low, high) in bpm") from None
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise SignalError(f"band_bpm=({low:g}, {high:g}) is invalid: need 0 < low < high (bpm)")
    return check_band((low / 60.0, high / 60.0), fs)


def check_trace(
    trace: Any,
    fs: Any,
    *,
    method: str,
    min_seconds: float = 0.0,
    positive: bool = True,
) -> tuple[np.ndarray, float]:
    """Validate an RGB trace; returns ``(trace as float64 (T, 3), fs)``.

    Raises :class:`SignalError` for a shape other than ``(T, 3)``, NaN or infinite
    values, a trace shorter than ``min_seconds`` (or 4 samples), a constant trace, and,
    when the method normalises by the channel means (``positive``), a channel whose
    mean is not positive.
    """
    fs = check_fs(fs)
    arr = np.asarray(trace, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        hint = " (transpose it: traces are (T, 3))" if arr.ndim == 2 and arr.shape[0] == 3 else ""
        raise SignalError(f"{method}: RGB trace has shape {arr.shape}; expected (T, 3){hint}")
    bad = ~np.isfinite(arr)
    if bad.any():
        t, c = np.argwhere(bad)[0]
        raise SignalError(
            f"{method}: RGB trace has {int(bad.sum())} NaN or infinite value(s), the first "
            f"at frame {int(t)} channel {'RGB'[int(c)]}; fill or cut frames without a face"
        )
    need = max(4, int(math.ceil(min_seconds * fs)))
    if arr.shape[0] < need:
        raise SignalError(
            f"{method}: RGB trace has {arr.shape[0]} frames ({arr.shape[0] / fs:.2f} s at "
            f"{fs:g} Hz); it needs at least {need} frames ({need / fs:.2f} s)"
        )
    if np.all(np.ptp(arr, axis=0) == 0):
        raise SignalError(f"{method}: RGB trace is constant; there is no pulse in it")
    if positive:
        means = arr.mean(axis=0)
        if np.any(means <= 0):
            c = int(np.argmin(means))
            raise SignalError(
                f"{method}: channel {'RGB'[c]} of the RGB trace has mean {means[c]:.3g}; "
                "traces are mean skin colours and must be positive (do not pass "
                "mean-removed or normalised traces)"
            )
    return arr, fs


def window_length(window_s: float, fs: float, n: int, *, method: str, minimum: int = 4) -> int:
    """Samples in a window of ``window_s`` seconds, at most the trace length ``n``."""
    if not (isinstance(window_s, (int, float)) and window_s > 0 and math.isfinite(window_s)):
        raise SignalError(f"{method}: window_s={window_s!r} must be a positive number of seconds")
    length = int(round(window_s * fs))
    if length < minimum:
        raise SignalError(
            f"{method}: window_s={window_s:g} s is {length} frame(s) at {fs:g} Hz; it needs "
            f"at least {minimum} frames: use a longer window"
        )
    return min(length, n)


def window_starts(n: int, length: int, stride: int) -> np.ndarray:
    """Start indices of windows of ``length`` every ``stride`` samples; a last window
    ending at sample ``n`` is added when the stride does not land there."""
    starts = np.arange(0, n - length + 1, max(1, stride))
    if starts[-1] != n - length:
        starts = np.append(starts, n - length)
    return starts


def windows(trace: np.ndarray, length: int, starts: np.ndarray) -> np.ndarray:
    """Windows of an RGB trace as ``(W, 3, L)`` (channels before time)."""
    view = np.lib.stride_tricks.sliding_window_view(trace, length, axis=0)  # (T-L+1, 3, L)
    return view[starts]


def optional_windows(
    rgb: np.ndarray, fs: float, window_s: float | None, *, method: str
) -> tuple[int, np.ndarray, np.ndarray]:
    """``(length, starts, windows (W, 3, L))``: half-overlapping windows of ``window_s``
    seconds, or the whole trace as one window when ``window_s`` is None."""
    n = rgb.shape[0]
    if window_s is None:
        length, starts = n, np.array([0])
    else:
        length = window_length(window_s, fs, n, method=method, minimum=8)
        starts = window_starts(n, length, length // 2)
    return length, starts, windows(rgb, length, starts)


def overlap_add(segments: np.ndarray, starts: np.ndarray, n: int, taper: bool) -> np.ndarray:
    """Add ``segments`` ``(W, L)`` back into a signal of ``n`` samples.

    With ``taper`` each segment is weighted by a Hann window (strictly positive: the
    inner ``L`` points of ``hanning(L + 2)``) and the sum is divided by the summed
    weights, a weighted average of the overlapping segments at every sample.  Without
    it the segments are simply summed (POS's overlap-add).
    """
    length = segments.shape[1]
    index = (starts[:, None] + np.arange(length)[None, :]).ravel()
    if not taper:
        return np.bincount(index, weights=segments.ravel(), minlength=n)
    w = np.hanning(length + 2)[1:-1]
    acc = np.bincount(index, weights=(segments * w).ravel(), minlength=n)
    wsum = np.bincount(index, weights=np.broadcast_to(w, segments.shape).ravel(), minlength=n)
    return acc / wsum


def unit_std(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Zero-mean, unit-standard-deviation along ``axis`` (flat parts stay zero)."""
    y = x - x.mean(axis=axis, keepdims=True)
    sd = y.std(axis=axis, keepdims=True)
    return y / np.where(sd > 0, sd, 1.0)
