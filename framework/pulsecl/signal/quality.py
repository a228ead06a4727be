"""Signal-quality indices of a pulse signal: SNR and IPR.

* :func:`snr`: power within ``+-tolerance`` of the heart rate's first harmonics against
  the rest of the band, in dB.  The definition is de Haan & Jeanne's (IEEE TBME 60(10),
  2013, "Robust pulse rate from chrominance-based rPPG"), as rPPG-Toolbox and the
  field's tables use it (tolerance 6 bpm, first and second harmonics).
* :func:`ipr`: irrelevant power ratio, the share of spectral magnitude outside the
  band, used by Gideon & Stent (ICCV 2021) for unsupervised model selection.
* :func:`macc`: maximum absolute cross-correlation of a pulse with a reference pulse
  over time lags (rPPG-Toolbox's MACC by default).

:func:`snr` and :func:`ipr` take ``(T,)`` or ``(B, T)`` signals and return a float or a
``(B,)`` array.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pulsecl.errors import SignalError
from pulsecl.signal.processing import (
    DEFAULT_BAND_HZ,
    as_signal,
    check_band,
    check_fs,
    power_spectrum,
)

__all__ = ["ipr", "macc", "snr"]


def snr(
    pulse: Any,
    fs: float,
    hr_bpm: Any,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    *,
    tolerance_bpm: float = 6.0,
    harmonics: int = 2,
    window: str = "hann",
    pad_factor: float = 4.0,
) -> float | np.ndarray:
    """Signal-to-noise ratio (dB) of a pulse signal at a known heart rate.

    ``10 log10(P_signal / P_rest)``: ``P_signal`` sums the power spectral density within
    ``hr * k +- tolerance`` for ``k = 1 .. harmonics`` (bins inside the band or not);
    ``P_rest`` sums the other bins inside ``band_hz``.

    The spectrum is Hann-windowed by default, whose main lobe is ``+-2 / T`` Hz wide:
    for the whole lobe to fit inside ``+-6 bpm`` the signal must last at least 20 s.
    Shorter signals read lower SNRs: a pure sinusoid reads about 10 dB over 10 s,
    33 dB over 20 s and 42 dB over 30 s (with ``window="boxcar"``: 10, 13 and 15 dB,
    the sidelobes' leakage); compare SNRs only at equal lengths.
    ``presets.RppgToolbox.snr`` reproduces rPPG-Toolbox's exact variant.

    Args:
        pulse: ``(T,)`` or ``(B, T)``.
        fs: sampling rate, Hz.
        hr_bpm: reference heart rate, a float or ``(B,)``.
        band_hz: band whose remaining power counts as noise.
    """
    fs = check_fs(fs)
    band = check_band(band_hz, fs)
    arr = as_signal(pulse, fs, band, name="pulse")
    hr = np.asarray(hr_bpm, dtype=np.float64)
    rows = 1 if arr.ndim == 1 else arr.shape[0]
    if hr.ndim > 1 or (hr.ndim == 1 and hr.size != rows):
        raise SignalError(f"hr_bpm has shape {hr.shape}; expected a number or ({rows},)")
    if not np.all(np.isfinite(hr)) or np.any(hr <= 0):
        raise SignalError(f"reference heart rate {hr_bpm!r} must be finite and positive (bpm)")
    if not (tolerance_bpm > 0) or int(harmonics) != harmonics or harmonics < 1:
        raise SignalError("tolerance_bpm must be > 0 and harmonics a positive integer")
    freqs, psd = power_spectrum(arr, fs, pad_factor=pad_factor, window=window)
    psd = psd.reshape(-1, psd.shape[-1])  # (B, F)
    hr_hz = np.broadcast_to(hr / 60.0, (psd.shape[0],))
    tol = tolerance_bpm / 60.0
    # (B, F) mask of bins near any harmonic
    near = np.zeros(psd.shape, dtype=bool)
    for k in range(1, int(harmonics) + 1):
        near |= np.abs(freqs[None, :] - k * hr_hz[:, None]) <= tol
    in_band = (freqs >= band[0]) & (freqs <= band[1])
    signal_power = np.sum(psd * near, axis=-1)
    rest_power = np.sum(psd * (in_band[None, :] & ~near), axis=-1)
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(signal_power / rest_power)
    return float(out[0]) if arr.ndim == 1 else out


def ipr(
    pulse: Any,
    fs: float,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    *,
    demean: bool = False,
) -> float | np.ndarray:
    """Irrelevant power ratio: share of spectral magnitude outside ``band_hz``, in [0, 1].

    ``sum_{f outside} |X(f)| / sum_f |X(f)|`` over the one-sided spectrum (rfft, no
    padding, DC included unless ``demean``), as in Gideon & Stent's code; lower is a
    cleaner pulse.  A constant signal has no spectrum to share and raises.
    """
    fs = check_fs(fs)
    band = check_band(band_hz, fs)
    arr = as_signal(pulse, fs, name="pulse", allow_constant=not demean)
    y = arr - arr.mean(axis=-1, keepdims=True) if demean else arr
    mag = np.abs(np.fft.rfft(y, axis=-1))
    freqs = np.fft.rfftfreq(arr.shape[-1], 1.0 / fs)
    inside = (freqs >= band[0]) & (freqs <= band[1])
    total = mag.sum(axis=-1)
    if np.any(total <= 0):
        raise SignalError("pulse is all zeros; its irrelevant power ratio is undefined")
    out = mag[..., ~inside].sum(axis=-1) / total
    return float(out) if arr.ndim == 1 else out


def macc(
    pred: Any,
    ref: Any,
    fs: float | None = None,
    *,
    max_lag_s: float | None = None,
    circular: bool = True,
) -> float:
    """Maximum absolute cross-correlation of two pulse signals over time lags, in [0, 1].

    Both signals are cut to the shorter length ``N`` and mean-removed.

    * ``circular=True`` (rPPG-Toolbox's MACC): ``max_k |r(pred, roll(ref, k))|`` over
      ``k = 0 .. N-2``, the Pearson correlation with ``ref`` circularly shifted.
    * ``circular=False``: the linear cross-correlation (zero-padded to ``2N``, so the
      ends do not wrap, as Gideon & Stent's MCC), normalised by ``N sigma_p sigma_r``,
      over lags ``-(N-1) .. N-1``.

    ``max_lag_s`` (needs ``fs``) restricts the lags to ``|k| <= max_lag_s * fs``
    (for the circular form, ``k`` and ``N - k`` count as the same shift).  Computed with
    one FFT, O(N log N).

    Shape: ``(T1,)`` and ``(T2,)`` -> float.
    """
    a = np.asarray(pred, dtype=np.float64)
    b = np.asarray(ref, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1:
        raise SignalError(f"macc takes two signals (T,), got shapes {a.shape} and {b.shape}")
    n = min(a.size, b.size)
    if n < 3:
        raise SignalError(f"macc needs at least 3 common samples, got {n}")
    a = as_signal(a[:n], 1.0, name="predicted pulse")
    b = as_signal(b[:n], 1.0, name="reference pulse")
    a = a - a.mean()
    b = b - b.mean()
    norm = math.sqrt(float(a @ a) * float(b @ b))
    size = n if circular else 2 * n
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size) / norm
    if circular:
        lags = np.arange(n - 1)  # 0 .. N-2, as the toolbox
        dist = np.minimum(lags, n - lags)
    else:
        lags = np.concatenate([np.arange(n), np.arange(size - n + 1, size)])
        dist = np.where(lags < n, lags, size - lags)
    if max_lag_s is not None:
        if fs is None:
            raise SignalError("macc: max_lag_s needs the sampling rate fs")
        if not max_lag_s >= 0:
            raise SignalError(f"macc: max_lag_s={max_lag_s!r} must be >= 0 seconds")
        lags = lags[dist <= max_lag_s * check_fs(fs)]
    return float(np.max(np.abs(corr[lags])))
