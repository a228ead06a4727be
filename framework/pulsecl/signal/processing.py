"""Signal processing for rPPG: detrending, band-pass, spectra, heart rate, HRV.

Every function takes the sampling rate ``fs`` (Hz) explicitly and every band is
``(low, high)`` in Hz; nothing assumes 30 fps.  Signals are ``(T,)`` or ``(B, T)``
with time on the last axis.  Functions whose names end in ``_hz`` return Hz; the
``hr_*`` functions return heart rates in bpm, the unit people read.

scipy (``scipy.signal``, ``scipy.linalg``: about a second of import time) is imported
where it is first used, not with this module; :func:`preload_scipy` imports it in a
background thread, so that ``predict`` overlaps that cost with decoding the video.

Inputs that cannot give an answer raise :class:`pulsecl.errors.SignalError` with one
line saying what is wrong and what to do: NaN or infinite samples, a constant signal, a
signal shorter than one period of the band's lowest frequency, a sampling rate whose
Nyquist frequency does not clear the band's top.

References
----------
* M. P. Tarvainen, P. O. Ranta-aho, P. A. Karjalainen, "An advanced detrending method
  with application to HRV analysis", IEEE Trans. Biomed. Eng. 49(2), 2002
  (smoothness-priors detrending).
* Task Force of the ESC and NASPE, "Heart rate variability: standards of measurement,
  physiological interpretation and clinical use", Circulation 93(5), 1996 (SDNN, RMSSD).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pulsecl.errors import SignalError
from pulsecl.signal.common import DEFAULT_BAND_HZ, parabolic_offset, window_starts

__all__ = [
    "DEFAULT_BAND_HZ",
    "HRV",
    "as_signal",
    "bandpass",
    "check_band",
    "check_fs",
    "despike",
    "detect_peaks",
    "detrend",
    "hr_from_peaks",
    "hr_over_time",
    "hrv",
    "inter_beat_intervals",
    "power_spectrum",
    "preload_scipy",
    "smoothness_lambda",
    "spectral_peak_hz",
]

# ----------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------


def preload_scipy() -> None:
    """Import the scipy modules this package uses in a background (daemon) thread, when
    they are not imported yet.  A function that needs one while the import runs waits
    for it (Python's import lock); nothing changes but when the cost is paid."""
    import sys
    import threading

    if "scipy.signal" in sys.modules and "scipy.linalg" in sys.modules:
        return

    def load() -> None:
        import scipy.linalg  # noqa: F401
        import scipy.signal  # noqa: F401

    threading.Thread(target=load, name="pulsecl-import-scipy", daemon=True).start()


def check_fs(fs: Any) -> float:
    """``fs`` as a float; a sampling rate that is not a finite positive number raises."""
    try:
        value = float(fs)
    except (TypeError, ValueError):
        raise SignalError(f"sampling rate fs={fs!r} is not a number; give it in Hz (e.g. 30.0)") from None
    if not math.isfinite(value) or value <= 0:
        raise SignalError(f"sampling rate fs={fs!r} must be a finite positive number of Hz")
    return value


def check_band(band_hz: Any, fs: float | None = None) -> tuple[float, float]:
    """``band_hz`` as ``(low, high)`` floats with ``0 < low < high``.

    With ``fs``, the band's top must also lie below the Nyquist frequency ``fs / 2``:
    a band the samples cannot resolve raises :class:`SignalError`.
    """
    try:
        low, high = (float(v) for v in band_hz)
    except (TypeError, ValueError):
        raise SignalError(f"band {band_hz!r} must be a pair (low, high) of frequencies in Hz") from None
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise SignalError(f"band ({low:g}, {high:g}) Hz is invalid: need 0 < low < high")
    if fs is not None and high >= fs / 2:
        raise SignalError(
            f"sampling rate {fs:g} Hz is too low for the band up to {high:.3g} Hz "
            f"({high * 60:.0f} bpm): its Nyquist frequency is {fs / 2:g} Hz; lower the "
            f"band's top below {fs / 2 * 60:.0f} bpm or record at a higher frame rate"
        )
    return low, high


def as_signal(
    x: Any,
    fs: float,
    band_hz: tuple[float, float] | None = None,
    *,
    name: str = "signal",
    min_samples: int = 2,
    allow_constant: bool = False,
) -> np.ndarray:
    """Check a signal ``(T,)`` or ``(B, T)`` and return it as float64.

    Raises :class:`SignalError` for a wrong shape, NaN or infinite samples, fewer than
    ``min_samples`` samples, a signal shorter than one period of the band's lowest
    frequency (when ``band_hz`` is given), or a constant signal (any row) unless
    ``allow_constant``.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim not in (1, 2) or arr.shape[-1] == 0 or (arr.ndim == 2 and arr.shape[0] == 0):
        raise SignalError(f"{name} has shape {arr.shape}; expected (T,) or (B, T) with T > 0")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.argwhere(bad)[0]
        raise SignalError(
            f"{name} contains {int(bad.sum())} NaN or infinite sample(s), the first at "
            f"index {tuple(int(i) for i in where) if arr.ndim == 2 else int(where[0])}; "
            "fill or cut the gap before estimating"
        )
    n = arr.shape[-1]
    if n < min_samples:
        raise SignalError(f"{name} has {n} sample(s); at least {min_samples} are needed")
    if band_hz is not None:
        need = int(math.ceil(fs / band_hz[0]))
        if n < need:
            raise SignalError(
                f"{name} has {n} samples ({n / fs:.2f} s at {fs:g} Hz), shorter than one "
                f"period of the band's lowest frequency {band_hz[0]:.3g} Hz "
                f"({band_hz[0] * 60:.0f} bpm); give at least {need} samples "
                f"({need / fs:.2f} s)"
            )
    if allow_constant:
        return arr
    spread = np.ptp(arr, axis=-1)
    scale = np.max(np.abs(arr), axis=-1)
    flat = spread <= 1e-12 * np.maximum(scale, 1e-300)
    if np.any(flat):
        which = "" if arr.ndim == 1 else f" (row {int(np.argmax(flat))})"
        raise SignalError(
            f"{name}{which} is constant; no pulse can be read from it (check that the "
            "input is the pulse signal and not a mask or a padded region)"
        )
    return arr


def _check_signal(x: Any, fs: Any, band_hz: Any, name: str) -> tuple[np.ndarray, float, tuple[float, float]]:
    fs = check_fs(fs)
    band = check_band(band_hz, fs)
    return as_signal(x, fs, band, name=name), fs, band


# ----------------------------------------------------------------------------------------
# Detrending (Tarvainen et al. 2002)
# ----------------------------------------------------------------------------------------

# Stationary response of the smoothness-priors high-pass at frequency f:
#   G(f) = q / (1 + q),  q = 16 lam^2 sin^4(pi f / fs).
# G = 1/sqrt(2) (-3 dB) at q = 1 / (sqrt(2) - 1); solving for lam gives the factor below.
_MINUS_3DB_Q = 1.0 / (math.sqrt(2.0) - 1.0)


def smoothness_lambda(cutoff_hz: float, fs: float) -> float:
    """Tarvainen's regularisation ``lam`` whose high-pass has its -3 dB point at
    ``cutoff_hz`` for samples at ``fs`` Hz.

    The detrender removes ``(I + lam^2 D2^T D2)^-1 z`` from ``z``; away from the edges it
    acts as a zero-phase high-pass with gain ``q / (1 + q)``, ``q = 16 lam^2
    sin^4(pi f / fs)``.  A fixed ``lam`` therefore cuts at a frequency proportional to
    ``fs``: rPPG-Toolbox's ``lam = 100`` cuts at 0.60 Hz at 30 fps but at 0.30 Hz at
    15 fps.  Giving the cutoff in Hz keeps the filter the same at any frame rate.
    """
    fs = check_fs(fs)
    if not (0 < cutoff_hz < fs / 2):
        raise SignalError(f"detrend cutoff {cutoff_hz!r} Hz must lie in (0, fs/2) = (0, {fs / 2:g})")
    s2 = math.sin(math.pi * cutoff_hz / fs) ** 2
    return math.sqrt(_MINUS_3DB_Q) / (4.0 * s2)


def _second_difference_gram(n: int) -> np.ndarray:
    """Bands of ``D2^T D2`` (n x n, pentadiagonal) in LAPACK upper storage (3, n)."""
    ab = np.zeros((3, n))
    # main diagonal: column j is hit by rows i = j, j-1, j-2 of D2 with weights 1, -2, 1
    ab[2, : n - 2] += 1.0
    ab[2, 1 : n - 1] += 4.0
    ab[2, 2:] += 1.0
    # first super-diagonal (j, j+1): rows i = j and i = j-1 each contribute 1 * -2
    ab[1, 1 : n - 1] += -2.0
    ab[1, 2:n] += -2.0
    # second super-diagonal (j, j+2): row i = j contributes 1 * 1
    ab[0, 2:] = 1.0
    return ab


def detrend(
    x: Any,
    fs: float,
    cutoff_hz: float | None = 0.3,
    *,
    lam: float | None = None,
) -> np.ndarray:
    """Smoothness-priors detrending (Tarvainen et al. 2002).

    Returns ``z - (I + lam^2 D2^T D2)^-1 z`` where ``D2`` is the second-difference
    matrix.  The system is pentadiagonal and solved as a banded symmetric system in
    O(T) time and memory (:func:`scipy.linalg.solveh_banded`), never as a dense T x T
    inverse: an hour at 30 fps takes milliseconds.

    Args:
        x: signal, shape ``(T,)`` or ``(B, T)``.
        fs: sampling rate in Hz.
        cutoff_hz: -3 dB point of the equivalent high-pass (see
            :func:`smoothness_lambda`); ignored when ``lam`` is given.
        lam: Tarvainen's ``lambda`` itself (frame-rate dependent; rPPG-Toolbox uses 100).

    Shape: same as ``x``.
    """
    fs = check_fs(fs)
    arr = as_signal(x, fs, name="signal to detrend", min_samples=3)
    if lam is None:
        if cutoff_hz is None:
            raise SignalError("detrend needs cutoff_hz (Hz) or lam (Tarvainen's lambda)")
        lam = smoothness_lambda(float(cutoff_hz), fs)
    elif not (math.isfinite(lam) and lam > 0):
        raise SignalError(f"detrend lam={lam!r} must be a finite positive number")
    n = arr.shape[-1]
    ab = _second_difference_gram(n) * (lam * lam)
    ab[2] += 1.0  # + I
    rhs = arr.T  # (T,) or (T, B): one right-hand side per signal
    import scipy.linalg

    trend = scipy.linalg.solveh_banded(ab, rhs, lower=False, check_finite=False)
    return arr - trend.T


# ----------------------------------------------------------------------------------------
# Despiking an RGB trace
# ----------------------------------------------------------------------------------------


def despike(trace: Any, fs: float, window_s: float = 1.0, k: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Replace the frames whose colour jumps away from its running median.

    A frame is a spike when, in any channel, it departs from the median of the
    ``window_s`` seconds around it by more than ``k`` robust standard deviations (1.4826
    times the median absolute departure of that channel); spikes are replaced by linear
    interpolation between the frames around them.  Real skin-patch video jumps by tens of
    grey levels on single frames (the region briefly shows something other than skin:
    about 5 % of frames of the bias-eval patches), about a hundred times the pulse; the
    jumps are broadband and bury it.  Measured on real patch noise with real pulses in
    it: 3 bpm less MAE, nothing lost on synthetic traces (docs/measurements.md).

    Shape: ``(T, C)`` (an RGB trace) or ``(T,)`` in, ``(clean, spikes (T,) bool)`` out.
    """
    import scipy.ndimage

    fs = check_fs(fs)
    x = np.asarray(trace, dtype=np.float64)
    flat = x.ndim == 1
    x2 = x[:, None] if flat else x
    if x2.ndim != 2 or x2.shape[0] < 3:
        return x.copy(), np.zeros(x2.shape[0] if x2.ndim else 0, dtype=bool)
    width = max(3, int(round(window_s * fs)) | 1)
    # "mirror": a spike at an end is not copied into its own median ("nearest" would)
    med = scipy.ndimage.median_filter(x2, size=(width, 1), mode="mirror")
    dev = np.abs(x2 - med)
    mad = 1.4826 * np.median(dev, axis=0) + 1e-12
    bad = (dev / mad > k).any(axis=1)
    out = x2.copy()
    if bad.any() and (~bad).sum() >= 2:
        t = np.arange(x2.shape[0])
        for c in range(x2.shape[1]):
            out[bad, c] = np.interp(t[bad], t[~bad], x2[~bad, c])
    return (out[:, 0] if flat else out), bad


# ----------------------------------------------------------------------------------------
# Band-pass
# ----------------------------------------------------------------------------------------


def bandpass(
    x: Any,
    fs: float,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    order: int = 2,
) -> np.ndarray:
    """Zero-phase Butterworth band-pass (forward-backward, second-order sections).

    ``order`` is the order of the analogue prototype (the band-pass has twice as many
    poles); running it forwards and backwards squares the magnitude response and
    cancels the phase.  The edges are padded by odd reflection (scipy's default).

    Shape: ``(T,)`` or ``(B, T)`` in, same out.
    """
    fs = check_fs(fs)
    band = check_band(band_hz, fs)
    if int(order) != order or order < 1:
        raise SignalError(f"band-pass order={order!r} must be a positive integer")
    import scipy.signal

    sos = scipy.signal.butter(int(order), band, btype="bandpass", fs=fs, output="sos")
    padlen = 3 * (2 * len(sos) + 1)
    arr = as_signal(x, fs, name="signal to band-pass", min_samples=padlen + 1)
    return scipy.signal.sosfiltfilt(sos, arr, axis=-1)


# ----------------------------------------------------------------------------------------
# Spectra and the spectral peak
# ----------------------------------------------------------------------------------------


def power_spectrum(
    x: Any,
    fs: float,
    *,
    nfft: int | None = None,
    pad_factor: float = 1.0,
    window: str = "boxcar",
    demean: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided power spectral density with zero-padding.

    :func:`scipy.signal.periodogram` with the checks of this module: the (optionally
    mean-removed, windowed) signal is zero-padded to ``nfft`` samples (default
    ``ceil(pad_factor * T)``); the density is ``|X|^2 / (fs * sum(w^2))``, doubled
    except at DC and Nyquist.  Zero-padding samples the same spectrum on a finer grid
    (``fs / nfft``); it adds no resolution.

    Returns:
        ``(freqs_hz, psd)``: shapes ``(F,)`` and ``(F,)`` or ``(B, F)``,
        ``F = nfft // 2 + 1``.
    """
    fs = check_fs(fs)
    arr = as_signal(x, fs, name="signal", min_samples=2, allow_constant=True)
    n = arr.shape[-1]
    if nfft is None:
        if not pad_factor >= 1:
            raise SignalError(f"pad_factor={pad_factor!r} must be >= 1")
        nfft = int(math.ceil(pad_factor * n))
    if nfft < n:
        raise SignalError(f"nfft={nfft} is shorter than the signal ({n} samples)")
    import scipy.signal

    return scipy.signal.periodogram(
        arr, fs, window=window, nfft=nfft, detrend="constant" if demean else False, axis=-1
    )


def _interpolate_peak(psd: np.ndarray, k: np.ndarray, method: str) -> np.ndarray:
    """Sub-bin offset (in bins, |offset| <= 0.5 for parabolas) of the peaks at ``k``.

    ``psd`` is (B, F); ``k`` (B,) holds interior indices.
    """
    rows = np.arange(psd.shape[0])
    a, b, c = psd[rows, k - 1], psd[rows, k], psd[rows, k + 1]
    if method == "parabolic":
        return parabolic_offset(a, b, c)
    if method == "gaussian":  # parabola through the log-powers
        tiny = np.finfo(float).tiny
        return parabolic_offset(*(np.log(np.maximum(v, tiny)) for v in (a, b, c)))
    raise SignalError(
        f"unknown peak interpolation '{method}' (choose parabolic, gaussian or none)"
    )


def spectral_peak_hz(
    x: Any,
    fs: float,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    *,
    pad_factor: float = 8.0,
    nfft: int | None = None,
    window: str = "hann",
    interpolation: str = "parabolic",
) -> float | np.ndarray:
    """Frequency (Hz) of the largest power-spectrum peak inside ``band_hz``.

    The mean is removed, the signal windowed and zero-padded (:func:`power_spectrum`);
    the largest bin inside the band (inclusive) is refined by fitting a parabola
    through it and its two neighbours (``interpolation="parabolic"``; ``"gaussian"``
    fits the parabola to log-power; ``"none"`` keeps the bin).  The result is clipped
    to the band.

    Shape: ``(T,)`` gives a float, ``(B, T)`` an array ``(B,)``.
    """
    arr, fs, band = _check_signal(x, fs, band_hz, "pulse")
    freqs, psd = power_spectrum(arr, fs, nfft=nfft, pad_factor=pad_factor, window=window)
    psd2 = psd.reshape(-1, psd.shape[-1])
    inside = np.flatnonzero((freqs >= band[0]) & (freqs <= band[1]))
    if inside.size == 0:
        raise SignalError(
            f"no spectral bin falls inside the band {band[0]:.3g}-{band[1]:.3g} Hz; "
            "use a longer signal or more zero-padding"
        )
    k = inside[np.argmax(psd2[:, inside], axis=-1)]
    df = freqs[1] - freqs[0]
    f = freqs[k].astype(float)
    if interpolation != "none":
        interior = (k > 0) & (k < len(freqs) - 1)
        off = np.zeros_like(f)
        if interior.any():
            off[interior] = _interpolate_peak(psd2[interior], k[interior], interpolation)
        f = f + off * df
    f = np.clip(f, band[0], band[1])
    return float(f[0]) if arr.ndim == 1 else f


def hr_over_time(
    x: Any,
    fs: float,
    window_s: float = 10.0,
    stride_s: float = 1.0,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    **peak_options: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Heart rate (bpm) on sliding windows of ``window_s`` seconds every ``stride_s``.

    Windows start at 0, ``stride``, ...; a last window ending at the final sample is
    added when the stride does not reach it.  A window longer than the signal is cut to
    the signal's length.  Each window's rate is :func:`spectral_peak_hz` (options pass
    through); all windows are transformed in one batched FFT.

    Returns:
        ``(times_s, hr_bpm)``: window centres in seconds and heart rates, both ``(W,)``.
    """
    arr, fs, band = _check_signal(x, fs, band_hz, "pulse")
    if arr.ndim != 1:
        raise SignalError(f"hr_over_time takes one signal (T,), got shape {arr.shape}")
    if not (window_s > 0 and stride_s > 0):
        raise SignalError(f"window_s={window_s!r} and stride_s={stride_s!r} must be positive seconds")
    n = arr.size
    win = min(n, max(2, int(round(window_s * fs))))
    step = max(1, int(round(stride_s * fs)))
    starts_arr = window_starts(n, win, step)
    # (W, win) windows; a strided view, copied once by the FFT
    segs = np.lib.stride_tricks.sliding_window_view(arr, win)[starts_arr]
    as_signal(segs, fs, band, name="pulse window")
    hz = spectral_peak_hz(segs, fs, band, **peak_options)
    times = (starts_arr + win / 2.0) / fs
    return times, np.asarray(hz) * 60.0


# ----------------------------------------------------------------------------------------
# Peaks, inter-beat intervals, HRV
# ----------------------------------------------------------------------------------------


def detect_peaks(
    x: Any,
    fs: float,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    *,
    prominence: float | None = None,
) -> np.ndarray:
    """Times (s) of the systolic peaks of a pulse signal.

    Peaks closer than one period of the band's top frequency are not both beats
    (``distance = fs / band_hz[1]`` samples); peaks must stand out by ``prominence``
    (default half the signal's standard deviation).  Each peak is refined to sub-sample
    precision with a parabola through it and its neighbours.  Band-pass the signal
    first when it is noisy (the presets do).

    Shape: ``(T,)`` in, ``(P,)`` out (seconds from the first sample).
    """
    arr, fs, band = _check_signal(x, fs, band_hz, "pulse")
    if arr.ndim != 1:
        raise SignalError(f"detect_peaks takes one signal (T,), got shape {arr.shape}")
    prom = 0.5 * float(np.std(arr)) if prominence is None else float(prominence)
    distance = max(1, int(math.floor(fs / band[1])))
    import scipy.signal

    idx, _ = scipy.signal.find_peaks(arr, distance=distance, prominence=prom)
    pos = idx.astype(float)
    inner = (idx > 0) & (idx < arr.size - 1)
    if inner.any():
        k = idx[inner]
        pos[inner] += parabolic_offset(arr[k - 1], arr[k], arr[k + 1])
    return pos / fs


def inter_beat_intervals(peak_times_s: Any) -> np.ndarray:
    """Inter-beat intervals (s) from increasing peak times (s).

    Shape: ``(P,)`` in, ``(P - 1,)`` out.
    """
    t = np.asarray(peak_times_s, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise SignalError(
            f"need at least 2 beats for an inter-beat interval, got {t.size}; use a "
            "longer or cleaner signal"
        )
    if not np.all(np.isfinite(t)):
        raise SignalError("peak times contain NaN or infinite values")
    ibi = np.diff(t)
    if np.any(ibi <= 0):
        raise SignalError("peak times must be strictly increasing")
    return ibi


def hr_from_peaks(
    x: Any,
    fs: float,
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    **peak_options: Any,
) -> float:
    """Heart rate (bpm) as 60 / mean inter-beat interval of :func:`detect_peaks`."""
    ibi = inter_beat_intervals(detect_peaks(x, fs, band_hz, **peak_options))
    return 60.0 / float(np.mean(ibi))


@dataclass(frozen=True)
class HRV:
    """Time-domain heart-rate variability (Task Force 1996).

    ``sdnn_ms``: sample standard deviation of the inter-beat intervals;
    ``rmssd_ms``: root mean square of successive interval differences;
    ``pnn50_pct``: share of successive differences larger than 50 ms, in percent
    (NaN where it was not computed).
    """

    mean_hr_bpm: float
    sdnn_ms: float
    rmssd_ms: float
    n_intervals: int
    pnn50_pct: float = float("nan")

    def as_dict(self) -> dict[str, float | int | None]:
        """Plain numbers for JSON (None for non-finite ones)."""
        def num(v: float, digits: int) -> float | None:
            return round(float(v), digits) if math.isfinite(float(v)) else None

        return {"mean_hr_bpm": num(self.mean_hr_bpm, 2), "sdnn_ms": num(self.sdnn_ms, 1),
                "rmssd_ms": num(self.rmssd_ms, 1), "pnn50_pct": num(self.pnn50_pct, 1),
                "n_intervals": int(self.n_intervals)}


def hrv(ibi_s: Any) -> HRV:
    """SDNN and RMSSD (ms) from inter-beat intervals (s), at least 2 intervals.

    ``hrv(inter_beat_intervals(detect_peaks(pulse, fs)))`` for a pulse signal.
    """
    ibi = np.asarray(ibi_s, dtype=np.float64)
    if ibi.ndim != 1 or ibi.size < 2:
        raise SignalError(
            f"HRV needs at least 2 inter-beat intervals (3 beats), got {ibi.size}"
        )
    if not np.all(np.isfinite(ibi)) or np.any(ibi <= 0):
        raise SignalError("inter-beat intervals must be finite positive seconds")
    return HRV(
        mean_hr_bpm=60.0 / float(ibi.mean()),
        sdnn_ms=1000.0 * float(np.std(ibi, ddof=1)),
        rmssd_ms=1000.0 * float(np.sqrt(np.mean(np.diff(ibi) ** 2))),
        n_intervals=int(ibi.size),
        pnn50_pct=100.0 * float(np.mean(np.abs(np.diff(ibi)) > 0.05)),
    )
