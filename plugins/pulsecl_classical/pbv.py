"""PBV: blood-volume-pulse signature.

G. de Haan, A. van Leest, "Improved motion robustness of remote-PPG by using the blood
volume pulse signature", Physiological Measurement 35(9), 2014.

The pulse changes the normalised colour along a known direction, the signature
``P_bv`` (relative pulse amplitude in R, G, B).  Per window, the weights
``w = k P_bv Q^-1`` (``Q`` the covariance of the normalised, mean-removed colour
signals, ``k`` such that ``w . P_bv = 1``) give the output of least variance that still
passes the pulse with unit gain: every other variation is suppressed as far as the
three channels allow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulsecl.errors import SignalError
from pulsecl_classical._common import (
    PBV_SIGNATURE,
    check_trace,
    overlap_add,
    window_length,
    window_starts,
    windows,
)


class PBV:
    """PBV (de Haan & van Leest 2014) with Hann-windowed overlap-add.

    Args:
        window_s: window length in seconds (1.6 s, as CHROM by the same authors).
        signature: ``P_bv``, relative pulse amplitude of R, G, B (normalised to unit
            length internally).
        ridge: relative regularisation added to ``Q``'s diagonal (``ridge * trace(Q) /
            3``) so that noise-free windows stay invertible.

    Shape: ``trace (T, 3)`` -> ``(T,)``; traces shorter than the window are one window.
    """

    name = "pbv"

    def __init__(
        self,
        window_s: float = 1.6,
        signature: tuple[float, float, float] = PBV_SIGNATURE,
        ridge: float = 1e-6,
    ):
        sig = np.asarray(signature, dtype=np.float64)
        if sig.shape != (3,) or not np.all(np.isfinite(sig)) or not np.any(sig != 0):
            raise SignalError(f"pbv: signature={signature!r} must be three finite numbers, not all 0")
        if not ridge >= 0:
            raise SignalError(f"pbv: ridge={ridge!r} must be >= 0")
        self.window_s = window_s
        self.signature = tuple(float(v) for v in signature)
        self.ridge = float(ridge)
        self._pbv = sig / np.linalg.norm(sig)

    def __call__(self, trace: Any, fs: float) -> np.ndarray:
        rgb, fs = check_trace(trace, fs, method=self.name)
        n = rgb.shape[0]
        length = window_length(self.window_s, fs, n, method=self.name, minimum=8)
        starts = window_starts(n, length, length // 2)
        win = windows(rgb, length, starts)  # (W, 3, L)
        cn = win / win.mean(axis=-1, keepdims=True) - 1.0  # normalised, zero-mean
        q = np.einsum("wcl,wdl->wcd", cn, cn) / length  # (W, 3, 3) covariances
        load = self.ridge * np.trace(q, axis1=1, axis2=2) / 3.0 + 1e-30
        q = q + load[:, None, None] * np.eye(3)
        qinv_p = np.linalg.solve(q, np.broadcast_to(self._pbv, (q.shape[0], 3))[..., None])[..., 0]
        k = 1.0 / np.einsum("wc,c->w", qinv_p, self._pbv)  # unit gain along P_bv
        w = k[:, None] * qinv_p  # (W, 3)
        s = np.einsum("wc,wcl->wl", w, cn)  # (W, L)
        # The skin darkens along P_bv when blood volume rises: flip to rise with it.
        return -overlap_add(s, starts, n, taper=True)

    def __repr__(self) -> str:
        return f"PBV(window_s={self.window_s}, signature={self.signature}, ridge={self.ridge})"
