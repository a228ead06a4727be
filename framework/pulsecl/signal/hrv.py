"""Heart-rate variability from a pulse: beats, normal-to-normal intervals, SDNN, RMSSD.

::

    from pulsecl.signal.hrv import pulse_hrv, trace_hrv

    res = pulse_hrv(pulse, fs)                 # a pulse on a uniform grid (rises with blood volume)
    res = trace_hrv(t_s, rgb, contact=True)    # a finger-on-camera RGB trace at frame times t_s
    res.hrv.sdnn_ms, res.hrv.rmssd_ms, res.beats_s, res.kept

The steps, each measured on 21 finger-camera records against a Polar H10 chest strap
(welltory-ppg; ``python benchmarks/hrv_welltory.py``; figures in docs/measurements.md):

1. frames at irregular times go onto a uniform grid first (:func:`resample_uniform`):
   phone cameras jitter by tens of ms, which RMSSD, a difference of differences,
   amplifies;
2. for a contact trace, the channel that is neither clipped nor flat and has the
   sharpest in-band spectrum (:func:`pick_channel`): a finger on a phone camera often
   saturates red;
3. beats (:func:`detect_beats`): a refractory distance set by the signal's own heart
   rate (one period of the band's top lets dicrotic notches through at rest), a
   prominence relative to the signal's robust beat-to-beat amplitude (half the standard
   deviation misses beats), and the steepest point of the upstroke as the beat's time
   (better timed than the rounded peak on a 30-fps grid);
4. normal-to-normal intervals (:func:`normal_intervals`): an interval more than 20 %
   from the median of its neighbours is a missed or a double beat, and is left out; a
   successive difference counts only between two kept intervals (Task Force of the ESC
   and NASPE, Circulation 1996).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pulsecl.errors import SignalError
from pulsecl.signal.common import parabolic_offset
from pulsecl.signal.processing import HRV, as_signal, check_band, check_fs

__all__ = [
    "HRV_BAND_HZ",
    "PulseHRV",
    "detect_beats",
    "hrv_of_intervals",
    "normal_intervals",
    "pick_channel",
    "pulse_hrv",
    "resample_uniform",
    "trace_hrv",
]

#: The band beats are looked for in: 42-210 bpm (rest to exercise).
HRV_BAND_HZ: tuple[float, float] = (0.7, 3.5)


def resample_uniform(t_s: Any, values: Any, fs: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Samples at increasing (irregular) times ``t_s`` -> a uniform grid at ``fs`` Hz
    (default: the median sample rate) by linear interpolation; repeated times keep their
    first sample.  Shape: ``(T,)`` and ``(T,)`` or ``(T, C)`` -> ``(grid (N,), values (N,
    ...), fs)``."""
    t = np.asarray(t_s, dtype=np.float64).ravel()
    x = np.asarray(values, dtype=np.float64)
    if t.size < 2 or x.shape[0] != t.size:
        raise SignalError(f"resample_uniform: {t.size} times for {x.shape[0]} samples; give one time per sample")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
        raise SignalError("resample_uniform: sample times must be finite and increasing")
    keep = np.concatenate([[True], np.diff(t) > 0])
    t, x = t[keep], x[keep]
    if fs is None:
        fs = 1.0 / float(np.median(np.diff(t)))
    fs = check_fs(fs)
    grid = t[0] + np.arange(int(math.floor((t[-1] - t[0]) * fs)) + 1) / fs
    if x.ndim == 1:
        return grid, np.interp(grid, t, x), fs
    return grid, np.stack([np.interp(grid, t, x[:, c]) for c in range(x.shape[1])], axis=1), fs


def _bandpassed(x: np.ndarray, fs: float, band: tuple[float, float]) -> np.ndarray:
    import scipy.signal

    sos = scipy.signal.butter(2, band, btype="bandpass", fs=fs, output="sos")
    return scipy.signal.sosfiltfilt(sos, x)


def _peak_share(x: np.ndarray, fs: float, band: tuple[float, float]) -> tuple[float, float]:
    """``(largest in-band bin / in-band power, its frequency in Hz)`` of a Hann-windowed,
    4x zero-padded spectrum."""
    from pulsecl.signal.processing import power_spectrum

    freqs, psd = power_spectrum(x, fs, pad_factor=4.0, window="hann")
    inside = np.flatnonzero((freqs >= band[0]) & (freqs <= band[1]))
    if inside.size == 0 or psd[inside].sum() <= 0:
        return 0.0, band[0]
    k = int(inside[np.argmax(psd[inside])])
    return float(psd[k] / psd[inside].sum()), float(freqs[k])


def pick_channel(rgb: Any, fs: float, band_hz: tuple[float, float] = HRV_BAND_HZ, clip_share: float = 0.05,
                 levels: tuple[float, float] = (0.0, 255.0)) -> int:
    """Index of the channel of an RGB trace ``(T, 3)`` to read the pulse from: of the
    channels with at most ``clip_share`` of samples at the ends of ``levels`` (clipped)
    and not flat, the one whose band-passed spectrum has the largest peak share; the
    least clipped one when none qualifies."""
    x = np.asarray(rgb, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 8:
        raise SignalError(f"pick_channel takes an RGB trace (T, 3) of at least 8 samples, got {x.shape}")
    fs = check_fs(fs)
    lo, hi = levels
    scores, clipped = [], []
    for c in range(x.shape[1]):
        v = x[:, c]
        share = float(np.mean((v <= lo + 0.5) | (v >= hi - 0.5)))
        clipped.append(share)
        if share > clip_share or np.std(v) < 1e-3:
            scores.append(-1.0)
            continue
        scores.append(_peak_share(_bandpassed(v, fs, band_hz), fs, band_hz)[0])
    if max(scores) < 0:
        return int(np.argmin(clipped))
    return int(np.argmax(scores))


def detect_beats(
    pulse: Any,
    fs: float,
    band_hz: tuple[float, float] = HRV_BAND_HZ,
    *,
    fiducial: str = "upslope",
    distance: float = 0.6,
    prominence: float = 0.3,
    upsample: int = 4,
) -> np.ndarray:
    """Beat times (s from the first sample) of a pulse that rises with blood volume, on
    a uniform grid at ``fs``.

    The pulse is band-passed over ``band_hz`` (zero-phase, order 2); its spectral heart
    rate ``f`` sets the refractory distance ``distance / f``; a beat must rise by
    ``prominence`` times the robust amplitude (the median range of two-period windows);
    its time is the steepest point of the upstroke before the peak (``fiducial =
    "upslope"``) or the peak (``"peak"``), on the signal upsampled ``upsample`` times
    (band-limited) and refined by a parabola.  Shape: ``(T,)`` -> ``(P,)``.
    """
    import scipy.signal

    fs = check_fs(fs)
    band = check_band(band_hz, fs)
    x = as_signal(pulse, fs, band, name="pulse")
    if x.ndim != 1:
        raise SignalError(f"detect_beats takes one pulse (T,), got shape {x.shape}")
    if fiducial not in ("upslope", "peak"):
        raise SignalError(f"detect_beats: fiducial={fiducial!r}; use 'upslope' or 'peak'")
    y = _bandpassed(x, fs, band)
    _, f_hr = _peak_share(y, fs, band)
    up = max(1, int(upsample))
    if up > 1:
        y = scipy.signal.resample(y, y.size * up)
    fs_up = fs * up
    period = fs_up / max(f_hr, band[0])
    width = max(3, int(2 * period))
    ranges = [np.ptp(y[i : i + width]) for i in range(0, max(1, y.size - width), max(1, width // 2))]
    amplitude = float(np.median(ranges)) if ranges else float(np.ptp(y))
    peaks, _ = scipy.signal.find_peaks(y, distance=max(1, int(distance * period)), prominence=prominence * amplitude)
    if fiducial == "upslope":
        slope = np.gradient(y)
        idx = np.array([max(0, k - int(0.5 * period)) + int(np.argmax(slope[max(0, k - int(0.5 * period)) : k + 1]))
                        for k in peaks], dtype=np.int64)
        sig = slope
    else:
        idx, sig = peaks.astype(np.int64), y
    pos = idx.astype(np.float64)
    inner = (idx > 0) & (idx < sig.size - 1)
    if inner.any():
        k = idx[inner]
        pos[inner] += parabolic_offset(sig[k - 1], sig[k], sig[k + 1])
    return np.unique(pos) / fs_up


def normal_intervals(ibi_s: Any, max_deviation: float = 0.2, neighbours: int = 5) -> np.ndarray:
    """Mask (N,) of the inter-beat intervals to keep: those within ``max_deviation``
    (relative) of the median of the ``2 * neighbours + 1`` intervals around them.  A
    missed beat makes one interval about twice as long, a double detection two about
    half; both are left out."""
    import scipy.ndimage

    ibi = np.asarray(ibi_s, dtype=np.float64)
    if ibi.ndim != 1 or ibi.size == 0:
        return np.zeros(0, dtype=bool)
    med = scipy.ndimage.median_filter(ibi, size=2 * int(neighbours) + 1, mode="nearest")
    return np.abs(ibi / med - 1.0) <= max_deviation


def hrv_of_intervals(ibi_s: Any, keep: Any = None) -> HRV:
    """SDNN over the kept intervals, RMSSD over the successive differences of two kept
    intervals (ms); ``keep`` (N,) bool, default all.  Needs at least 2 kept intervals and
    one kept successive pair."""
    ibi = np.asarray(ibi_s, dtype=np.float64)
    keep = np.ones(ibi.size, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    nn = ibi[keep]
    pairs = np.diff(ibi)[keep[1:] & keep[:-1]]
    if nn.size < 2 or pairs.size < 1:
        raise SignalError(
            f"HRV needs at least 2 normal intervals and one successive pair of them, got {nn.size} "
            f"of {ibi.size} intervals kept; use a longer or cleaner recording"
        )
    return HRV(
        mean_hr_bpm=60.0 / float(nn.mean()),
        sdnn_ms=1000.0 * float(np.std(nn, ddof=1)),
        rmssd_ms=1000.0 * float(np.sqrt(np.mean(pairs**2))),
        n_intervals=int(nn.size),
    )


@dataclass(frozen=True)
class PulseHRV:
    """HRV of a recording and what it rests on: ``beats_s`` (P,), the inter-beat
    intervals ``ibi_s`` (P - 1,), ``kept`` (P - 1,) bool (normal-to-normal), and for a
    trace the ``channel`` read."""

    hrv: HRV
    beats_s: np.ndarray
    ibi_s: np.ndarray
    kept: np.ndarray
    channel: int | None = None

    @property
    def rejected(self) -> int:
        return int((~self.kept).sum())


def pulse_hrv(pulse: Any, fs: float, band_hz: tuple[float, float] = HRV_BAND_HZ, *, fiducial: str = "upslope",
              max_deviation: float = 0.2) -> PulseHRV:
    """HRV of a pulse on a uniform grid (rising with blood volume): :func:`detect_beats`,
    :func:`normal_intervals`, :func:`hrv_of_intervals`."""
    beats = detect_beats(pulse, fs, band_hz, fiducial=fiducial)
    if beats.size < 4:
        raise SignalError(f"{beats.size} beats found; HRV needs at least 4 (3 intervals): use a longer recording")
    ibi = np.diff(beats)
    kept = normal_intervals(ibi, max_deviation)
    return PulseHRV(hrv_of_intervals(ibi, kept), beats, ibi, kept)


def trace_hrv(t_s: Any, rgb: Any, *, contact: bool = True, fs: float | None = None,
              band_hz: tuple[float, float] = HRV_BAND_HZ, fiducial: str = "upslope") -> PulseHRV:
    """HRV of an RGB trace ``(T, 3)`` at frame times ``t_s`` (s): resampled onto a
    uniform grid (:func:`resample_uniform`), then for a ``contact`` trace (a finger on a
    camera: more blood, less light) the best channel (:func:`pick_channel`), inverted;
    for a remote (face) trace, give the pulse of a method to :func:`pulse_hrv` instead."""
    if not contact:
        raise SignalError("trace_hrv reads contact PPG traces; for face video use pulse_hrv on the method's pulse")
    _, x, rate = resample_uniform(t_s, rgb, fs)
    if x.ndim != 2:
        raise SignalError(f"trace_hrv takes an RGB trace (T, 3), got shape {x.shape}")
    channel = pick_channel(x, rate, band_hz)
    res = pulse_hrv(-x[:, channel], rate, band_hz, fiducial=fiducial)
    return PulseHRV(res.hrv, res.beats_s, res.ibi_s, res.kept, channel)
