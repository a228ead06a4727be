"""ICA: blind source separation of the RGB traces.

M.-Z. Poh, D. J. McDuff, R. W. Picard, "Non-contact, automated cardiac pulse
measurements using video imaging and blind source separation", Optics Express 18(10),
2010.  Component selection (the source with the sharpest spectral peak) as in their
follow-up, IEEE Trans. Biomed. Eng. 58(1), 2011.

Per window: z-score the three (band-passed, normalised) traces, separate three independent sources, keep the one
whose power spectrum has the largest peak share inside the heart-rate band.  Poh et al.
used JADE; pulsecl uses symmetric FastICA with the log-cosh contrast (A. Hyvarinen,
"Fast and robust fixed-point algorithms for independent component analysis", IEEE Trans.
Neural Netw. 10(3), 1999), run on all windows at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulsecl.errors import SignalError
from pulsecl.signal.processing import check_fs
from pulsecl_classical._common import (
    PBV_SIGNATURE,
    band_from_bpm,
    check_trace,
    overlap_add,
    unit_std,
    window_length,
    window_starts,
    windows,
)


def _sym_decorrelate(w: np.ndarray) -> np.ndarray:
    """``(W W^T)^(-1/2) W`` for a batch ``(B, 3, 3)``."""
    vals, vecs = np.linalg.eigh(w @ np.swapaxes(w, 1, 2))
    inv_sqrt = (vecs / np.sqrt(np.maximum(vals, 1e-300))[:, None, :]) @ np.swapaxes(vecs, 1, 2)
    return inv_sqrt @ w


def fastica(z: np.ndarray, max_iter: int = 200, tol: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric FastICA (log-cosh) on a batch of whitened signals.

    Args:
        z: whitened signals ``(B, 3, L)`` (identity covariance per batch entry).
        max_iter: iteration limit.
        tol: a batch entry has converged when ``max |(|diag(W_new W^T)| - 1)| < tol``;
            converged entries stop iterating.

    Returns:
        ``(W, S)``: unmixing matrices ``(B, 3, 3)`` and sources ``S = W z`` ``(B, 3, L)``.
    """
    b, k, length = z.shape
    w = np.broadcast_to(np.eye(k), (b, k, k)).copy()
    active = np.arange(b)
    for _ in range(max_iter):
        wa, za = w[active], z[active]
        g = np.tanh(wa @ za)  # (A, 3, L)
        g_prime = 1.0 - g * g
        w_new = (g @ np.swapaxes(za, 1, 2)) / length - g_prime.mean(axis=-1)[..., None] * wa
        w_new = _sym_decorrelate(w_new)
        change = np.max(np.abs(np.abs(np.einsum("bij,bij->bi", w_new, wa)) - 1.0), axis=-1)
        w[active] = w_new
        active = active[change >= tol]
        if active.size == 0:
            break
    return w, w @ z


class ICA:
    """ICA (Poh et al. 2010) with Hann-windowed overlap-add.

    Args:
        window_s: window length in seconds (the paper: 30 s).  Traces shorter than the
            window are one window.
        stride_s: window stride in seconds (default half the window; the paper moved
            its 30-s window by 1 s, to report a heart rate every second).
        band_bpm: heart-rate band used to pick the pulse source, bpm.
        max_iter: FastICA iteration limit.

    Before separation the traces are normalised by their means and band-passed from
    half the band's lowest frequency to its highest (second-order zero-phase
    Butterworth): slow illumination drift, left in, dominates the separation.  ICA leaves each source's sign free; pulsecl orients
    the chosen source so that rising values darken the skin along the pulse signature
    (its mixing column has a negative projection on ``P_bv - mean(P_bv)``), i.e. the
    pulse rises with blood volume.  With a poor separation the sign can still come
    out wrong: ICA's polarity is a best effort.

    Shape: ``trace (T, 3)`` -> ``(T,)`` (unit variance per window).
    """

    name = "ica"

    def __init__(
        self,
        window_s: float = 30.0,
        stride_s: float | None = None,
        band_bpm: tuple[float, float] = (40.0, 250.0),
        max_iter: int = 200,
    ):
        band_from_bpm(band_bpm)
        if stride_s is not None and not stride_s > 0:
            raise SignalError(f"ica: stride_s={stride_s!r} must be a positive number of seconds")
        if int(max_iter) != max_iter or max_iter < 1:
            raise SignalError(f"ica: max_iter={max_iter!r} must be a positive integer")
        self.window_s = window_s
        self.stride_s = stride_s
        self.band_bpm = tuple(band_bpm)
        self.max_iter = int(max_iter)

    def __call__(self, trace: Any, fs: float) -> np.ndarray:
        band = band_from_bpm(self.band_bpm, check_fs(fs))
        # Pre-filter from half the band's lowest frequency: drift out, the band's low
        # edge untouched (filtering at the edge itself let the second harmonic win at
        # 45 bpm in 3 of 128 test traces; from half the edge, in none).
        import scipy.signal

        sos = scipy.signal.butter(2, (band[0] / 2, band[1]), btype="bandpass", fs=fs, output="sos")
        padlen = 3 * (2 * len(sos) + 1)
        rgb, fs = check_trace(
            trace, fs, method=self.name, min_seconds=max(1.0 / band[0], (padlen + 1) / float(fs))
        )
        n = rgb.shape[0]
        length = window_length(self.window_s, fs, n, method=self.name, minimum=8)
        stride = length // 2 if self.stride_s is None else max(1, int(round(self.stride_s * fs)))
        starts = window_starts(n, length, stride)
        # Normalised colour change, band-passed to the heart-rate band (T, 3): slow
        # drift would otherwise dominate the separation.
        cn = scipy.signal.sosfiltfilt(sos, rgb / rgb.mean(axis=0) - 1.0, axis=0)
        win = windows(cn, length, starts)  # (W, 3, L)
        sd = win.std(axis=-1)  # (W, 3)
        z = (win - win.mean(axis=-1, keepdims=True)) / np.where(sd > 0, sd, 1.0)[..., None]
        # Whitening: V = E diag(d^-1/2) E^T from the per-window covariance.
        cov = np.einsum("wcl,wdl->wcd", z, z) / length
        vals, vecs = np.linalg.eigh(cov)
        vals = np.maximum(vals, 1e-12 * vals[:, -1:])
        v = (vecs / np.sqrt(vals)[:, None, :]) @ np.swapaxes(vecs, 1, 2)
        unmix, sources = fastica(v @ z, max_iter=self.max_iter)  # (W, 3, 3), (W, 3, L)
        pick = self._pick(sources, fs, band)  # (W,)
        rows = np.arange(len(starts))
        s = sources[rows, pick]  # (W, L)
        # Mixing column of the chosen source in normalised-colour units: cn = sd * z,
        # z = (unmix V)^-1 S.  Its projection on the zero-mean pulse signature says
        # whether the source darkens the skin the way blood does (intensity changes,
        # along (1, 1, 1), do not count).
        mixing = np.linalg.inv(unmix @ v)[rows, :, pick] * sd  # (W, 3)
        signature = np.asarray(PBV_SIGNATURE) - np.mean(PBV_SIGNATURE)
        sign = -np.sign(mixing @ signature)
        sign[sign == 0] = 1.0
        seg = unit_std(sign[:, None] * s)
        return seg[0] if len(starts) == 1 else overlap_add(seg, starts, n, taper=True)

    @staticmethod
    def _pick(sources: np.ndarray, fs: float, band: tuple[float, float]) -> np.ndarray:
        """Index of the source whose largest in-band bin holds the largest share of its
        in-band power, per window.  ``sources`` (W, 3, L) -> (W,)."""
        length = sources.shape[-1]
        nfft = 4 * length
        spec = np.abs(np.fft.rfft(sources - sources.mean(axis=-1, keepdims=True), n=nfft, axis=-1)) ** 2
        freqs = np.fft.rfftfreq(nfft, 1.0 / fs)
        inside = (freqs >= band[0]) & (freqs <= band[1])
        p = spec[..., inside]
        share = p.max(axis=-1) / np.maximum(p.sum(axis=-1), 1e-300)
        return np.argmax(share, axis=-1)

    def __repr__(self) -> str:
        return (
            f"ICA(window_s={self.window_s}, stride_s={self.stride_s}, "
            f"band_bpm={self.band_bpm}, max_iter={self.max_iter})"
        )
