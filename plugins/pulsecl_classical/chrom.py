"""CHROM: chrominance-based rPPG.

G. de Haan, V. Jeanne, "Robust pulse rate from chrominance-based rPPG", IEEE Trans.
Biomed. Eng. 60(10), 2013.

Normalise each channel by its local mean; build two chrominance signals for a
standardised skin tone, ``Xs = 3 Rn - 2 Gn`` and ``Ys = 1.5 Rn + Gn - 1.5 Bn``; band-pass
both to ``Xf``, ``Yf``; per window (Hann-weighted, 50 % overlap) the pulse is
``S = Xf - alpha Yf`` with ``alpha = sigma(Xf) / sigma(Yf)``, which cancels the
intensity and specular variations that reach both signals alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulsecl.errors import SignalError
from pulsecl.signal.processing import check_fs
from pulsecl_classical._common import (
    band_from_bpm,
    check_trace,
    overlap_add,
    window_length,
    window_starts,
)


class CHROM:
    """CHROM (de Haan & Jeanne 2013) with Hann-windowed overlap-add.

    Two implementation choices differ from filtering inside each window: the band-pass
    runs once over the whole trace, because a filter cannot settle inside a 1.6-s
    window (it holds about one beat at 45 bpm, and filtering it there let the second
    harmonic win at low heart rates in pulsecl's tests); so the colour is normalised by
    its running mean over one window length instead of by each window's mean.  The
    per-window tuning of ``alpha`` is the paper's.

    Args:
        window_s: window length in seconds (the paper: 1.6 s, 32 frames at 20 fps).
        band_bpm: pass band of the chrominance filter, bpm.
        order: Butterworth order of that zero-phase band-pass.

    Shape: ``trace (T, 3)`` -> ``(T,)``; traces shorter than the window are one window.
    All windows are processed in one batch (arrays ``(W, L)``).
    """

    name = "chrom"

    def __init__(self, window_s: float = 1.6, band_bpm: tuple[float, float] = (40.0, 250.0), order: int = 2):
        band_from_bpm(band_bpm)  # checked now, against fs when called
        if int(order) != order or order < 1:
            raise SignalError(f"chrom: order={order!r} must be a positive integer")
        self.window_s = window_s
        self.band_bpm = tuple(band_bpm)
        self.order = int(order)

    def __call__(self, trace: Any, fs: float) -> np.ndarray:
        band = band_from_bpm(self.band_bpm, check_fs(fs))
        import scipy.ndimage
        import scipy.signal

        sos = scipy.signal.butter(self.order, band, btype="bandpass", fs=fs, output="sos")
        padlen = 3 * (2 * len(sos) + 1)
        rgb, fs = check_trace(
            trace, fs, method=self.name, min_seconds=max(1.0 / band[0], (padlen + 1) / float(fs))
        )
        n = rgb.shape[0]
        length = window_length(self.window_s, fs, n, method=self.name, minimum=8)
        # Colour normalised by its running mean over one window (T, 3).
        cn = rgb / scipy.ndimage.uniform_filter1d(rgb, length, axis=0, mode="nearest")
        r, g, b = cn[:, 0], cn[:, 1], cn[:, 2]
        xs = 3.0 * r - 2.0 * g
        ys = 1.5 * r + g - 1.5 * b
        xf, yf = scipy.signal.sosfiltfilt(sos, np.stack([xs, ys]), axis=-1)  # (T,) each
        starts = window_starts(n, length, length // 2)
        xw = np.lib.stride_tricks.sliding_window_view(xf, length)[starts]  # (W, L)
        yw = np.lib.stride_tricks.sliding_window_view(yf, length)[starts]
        sx, sy = xw.std(axis=-1), yw.std(axis=-1)
        alpha = sx / np.where(sy > 0, sy, np.inf)
        s = xw - alpha[:, None] * yw  # (W, L)
        s = s - s.mean(axis=-1, keepdims=True)
        return overlap_add(s, starts, n, taper=True)

    def __repr__(self) -> str:
        return f"CHROM(window_s={self.window_s}, band_bpm={self.band_bpm}, order={self.order})"
