"""Heart-rate variability from a pulse: beats, normal-to-normal intervals, SDNN, RMSSD, pNN50.

::

    from pulsecl.signal.hrv import pulse_beats, pulse_hrv, trace_hrv

    res = pulse_hrv(pulse, fs)                 # a pulse on a uniform grid (rises with blood volume)
    res = trace_hrv(t_s, rgb, contact=True)    # a finger-on-camera RGB trace at frame times t_s
    res.hrv.sdnn_ms, res.hrv.rmssd_ms, res.hrv.pnn50_pct, res.beats_s, res.kept

    b = pulse_beats(pulse, fs, hr_bpm, confidence)   # what predict reports: gated, per window too
    b.times_s, b.normal, b.hrv or b.reason, b.windows

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

What ``predict`` reports (:func:`pulse_beats`) adds a quality gate, chosen against a
finger reference on real face video (ubfc-dev, ``python benchmarks/ubfc_hrv.py``;
docs/measurements.md, "Beats and HRV from face video"): no HRV figure when the pulse's
confidence is "low", when fewer than :data:`HRV_MIN_INTERVALS` intervals are normal or
when fewer than :data:`HRV_MIN_NORMAL_SHARE` of them are; the beats are timed at the
middle of each upstroke, which noise moves less on a rounded face pulse than the
steepest point.  Every filter is zero-phase: the beats keep the pulse's timing.
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
    "HRV_MIN_INTERVALS",
    "HRV_MIN_NORMAL_SHARE",
    "HRV_WINDOW_S",
    "HRV_WINDOW_STEP_S",
    "Beats",
    "PulseHRV",
    "WindowHRV",
    "beat_band",
    "detect_beats",
    "hrv_of_intervals",
    "normal_intervals",
    "pick_channel",
    "pulse_beats",
    "pulse_hrv",
    "resample_uniform",
    "trace_hrv",
]

#: The band beats are looked for in: 42-210 bpm (rest to exercise).
HRV_BAND_HZ: tuple[float, float] = (0.7, 3.5)

#: The quality gate of :func:`pulse_beats` (what ``predict`` reports): no HRV figure
#: unless the pulse's confidence is above "low", at least this share of the intervals
#: are normal (the 20 % rule), and at least :data:`HRV_MIN_INTERVALS` normal intervals
#: carry it.  The share maximised the usable figures less the unusable ones (SDNN and
#: RMSSD within 20 ms of the reference) on ubfc-dev's subjects 3, 9, 10, 12 (all
#: methods, clips and 30-s windows), the odd welltory records and 20 noise pulses, and
#: held on the others (``benchmarks/ubfc_hrv.py``; docs/measurements.md, "Beats and HRV
#: from face video").  20 intervals: SDNN's relative standard error is about
#: 1 / sqrt(2 (n - 1)), 16 % at 20, and a 30-s window at 40 bpm holds 20.
HRV_MIN_NORMAL_SHARE = 0.95
HRV_MIN_INTERVALS = 20
#: Per-window HRV: windows of this length every :data:`HRV_WINDOW_STEP_S` seconds.
HRV_WINDOW_S = 30.0
HRV_WINDOW_STEP_S = 15.0


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
    hr_hz: float | None = None,
) -> np.ndarray:
    """Beat times (s from the first sample) of a pulse that rises with blood volume, on
    a uniform grid at ``fs``.

    The pulse is band-passed over ``band_hz`` (zero-phase, order 2); its spectral heart
    rate ``f`` sets the refractory distance ``distance / f``; a beat must rise by
    ``prominence`` times the robust amplitude (the median range of two-period windows);
    its time is the steepest point of the upstroke before the peak (``fiducial =
    "upslope"``) or the peak (``"peak"``), on the signal upsampled ``upsample`` times
    (band-limited) and refined by a parabola.  ``hr_hz``, when given, is the heart rate
    that sets the refractory distance instead of the spectral peak (``predict`` gives
    the recording's rate, which its analysis tracks more robustly than one spectrum of
    a noisy face pulse).  Every filter is zero-phase: the beats keep the pulse's timing.
    Shape: ``(T,)`` -> ``(P,)``.
    """
    import scipy.signal

    fs = check_fs(fs)
    band = check_band(band_hz, fs)
    x = as_signal(pulse, fs, band, name="pulse")
    if x.ndim != 1:
        raise SignalError(f"detect_beats takes one pulse (T,), got shape {x.shape}")
    if fiducial not in ("upslope", "middle", "peak"):
        raise SignalError(f"detect_beats: fiducial={fiducial!r}; use 'upslope', 'middle' or 'peak'")
    y = _bandpassed(x, fs, band)
    if hr_hz is not None and math.isfinite(hr_hz) and hr_hz > 0:
        f_hr = float(hr_hz)
    else:
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
    if fiducial == "middle":
        return _middles(y, peaks, int(0.75 * period)) / fs_up
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


def _middles(y: np.ndarray, peaks: np.ndarray, reach: int) -> np.ndarray:
    """For each peak, the time (samples, fractional) where the upstroke crosses half-way
    between its foot (the lowest point within ``reach`` samples before the peak, after the
    previous peak) and the peak, by linear interpolation: well defined on a rounded,
    sinusoid-like pulse, where the steepest point is flat and noise moves it."""
    out = []
    previous = -1
    for k in peaks:
        a = max(0, int(k) - reach, previous + 1)
        previous = int(k)
        foot = a + int(np.argmin(y[a : k + 1]))
        if foot >= k or foot == 0:  # no upstroke, or one cut by the signal's start
            continue
        level = 0.5 * (y[foot] + y[k])
        seg = y[foot : k + 1]
        j = int(np.flatnonzero(seg >= level)[0])  # first sample at or above half-way
        if j == 0:
            out.append(float(foot))
            continue
        y0, y1 = seg[j - 1], seg[j]
        out.append(foot + j - 1 + (level - y0) / (y1 - y0) if y1 > y0 else float(foot + j))
    return np.unique(np.asarray(out, dtype=np.float64))


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
    intervals (ms), pNN50 the share of those differences over 50 ms (%); ``keep`` (N,)
    bool, default all.  Needs at least 2 kept intervals and one kept successive pair."""
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
        pnn50_pct=100.0 * float(np.mean(np.abs(pairs) > 0.05)),
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


def beat_band(hr_hz: float | None, fs: float) -> tuple[float, float]:
    """The band :func:`pulse_beats` looks for beats in: :data:`HRV_BAND_HZ`, widened to
    hold 0.7 and 2 times ``hr_hz`` (a heart rate outside 60-105 bpm keeps its fundamental
    and second harmonic), its top below 0.45 ``fs``."""
    lo, hi = HRV_BAND_HZ
    if hr_hz is not None and math.isfinite(hr_hz) and hr_hz > 0:
        lo, hi = min(lo, 0.7 * hr_hz), max(hi, 2.0 * hr_hz)
    return lo, min(hi, 0.45 * fs)


def _hrv_or_none(ibi: np.ndarray, kept: np.ndarray) -> HRV | None:
    try:
        return hrv_of_intervals(ibi, kept)
    except SignalError:
        return None


@dataclass(frozen=True)
class WindowHRV:
    """HRV over one window ``[start_s, end_s)`` of the recording: the intervals whose
    two beats lie inside it; ``hrv`` None with a one-line ``reason`` where the gate
    refuses it."""

    start_s: float
    end_s: float
    intervals: int
    normal_share: float
    hrv: HRV | None
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        share = round(self.normal_share, 4) if math.isfinite(self.normal_share) else None
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "intervals": self.intervals,
                "normal_share": share, "hrv": self.hrv.as_dict() if self.hrv is not None else None,
                "reason": self.reason}


@dataclass(frozen=True)
class Beats:
    """The beats of a pulse and the HRV they carry, through the quality gate.

    ``times_s`` (P,) beat times (s from the first sample); ``ibi_s`` (P - 1,) the
    intervals, each ending at the beat of the same index + 1; ``normal`` (P - 1,) bool,
    the normal-to-normal ones (:func:`normal_intervals`); ``hrv``: SDNN, RMSSD and pNN50
    of the recording, or None with the gate's one-line ``reason``; ``windows``: the same
    per window of ``window_s`` every ``step_s`` seconds.
    """

    times_s: np.ndarray
    ibi_s: np.ndarray
    normal: np.ndarray
    hrv: HRV | None
    reason: str | None
    windows: list[WindowHRV]
    window_s: float = HRV_WINDOW_S
    step_s: float = HRV_WINDOW_STEP_S
    band_hz: tuple[float, float] = HRV_BAND_HZ
    fiducial: str = "middle"

    @property
    def count(self) -> int:
        return int(self.times_s.size)

    @property
    def normal_share(self) -> float:
        """Share of the intervals that are normal (NaN without intervals)."""
        return float(self.normal.mean()) if self.normal.size else float("nan")

    @property
    def text(self) -> str:
        """One line: the HRV, or why there is none."""
        if self.hrv is None:
            return f"no HRV: {self.reason}"
        h = self.hrv
        return (f"HRV: SDNN {h.sdnn_ms:.0f} ms, RMSSD {h.rmssd_ms:.0f} ms, pNN50 {h.pnn50_pct:.0f} % "
                f"({self.count} beats, {100 * self.normal_share:.0f} % of intervals normal)")

    def as_dict(self) -> dict[str, Any]:
        """Plain types for JSON: the gate's figures and the beats themselves."""
        share = self.normal_share
        return {
            "count": self.count,
            "normal_share": round(share, 4) if math.isfinite(share) else None,
            "band_hz": [round(float(v), 4) for v in self.band_hz],
            "fiducial": self.fiducial,
            "window_s": float(self.window_s),
            "step_s": float(self.step_s),
            "times_s": [round(float(v), 4) for v in self.times_s],
            "ibi_ms": [round(1000.0 * float(v), 1) for v in self.ibi_s],
            "normal": [bool(v) for v in self.normal],
            "windows": [w.as_dict() for w in self.windows],
        }


def _gate(confidence: Any, intervals: int, normal: int, min_share: float, min_intervals: int) -> str | None:
    """Why HRV is not reported (one line), or None when it is."""
    level = getattr(confidence, "level", confidence)
    if level == "low":
        why = getattr(confidence, "reason", "")
        return "the pulse's confidence is low" + (f" ({why})" if why else "")
    if normal < min_intervals:
        return f"{normal} normal intervals, fewer than the {min_intervals} HRV needs"
    share = normal / intervals
    if share < min_share:
        return (f"only {math.floor(100 * share)} % of {intervals} intervals are normal (at least "
                f"{100 * min_share:.0f} % needed): the beats are not clean enough")
    return None


def pulse_beats(
    pulse: Any,
    fs: float,
    hr_bpm: float | None = None,
    confidence: Any = None,
    *,
    window_s: float = HRV_WINDOW_S,
    step_s: float = HRV_WINDOW_STEP_S,
    min_share: float = HRV_MIN_NORMAL_SHARE,
    min_intervals: int = HRV_MIN_INTERVALS,
    max_deviation: float = 0.2,
    fiducial: str = "middle",
) -> Beats:
    """Beats, normal intervals and gated HRV of a pulse on a uniform grid at ``fs``
    (rising with blood volume), for the recording and per window: what ``predict``
    reports.

    Beats: :func:`detect_beats` in :func:`beat_band`, its refractory distance from
    ``hr_bpm`` (the recording's heart rate; None: the pulse's spectral peak), each beat
    timed at the middle of its upstroke (``fiducial``; on face pulses it matched more
    finger beats than the steepest point, docs/measurements.md); normal
    intervals: :func:`normal_intervals` (the 20 % rule).  The gate gives no HRV (None,
    with a one-line reason) when ``confidence`` (a
    :class:`pulsecl.signal.analysis.Confidence` or a level) is ``"low"``, when fewer than
    ``min_intervals`` intervals are normal, or when fewer than ``min_share`` of them are;
    each window of ``window_s`` every ``step_s`` seconds passes the same gate on its own
    intervals.  A pulse without beats (constant, too short, no heart rate) gives no beats
    and the reason.  Never raises for a bad pulse: HRV is an extra to the heart rate.
    Shape: ``(T,)``.
    """
    fs = check_fs(fs)
    hr_hz = hr_bpm / 60.0 if hr_bpm is not None and math.isfinite(hr_bpm) and hr_bpm > 0 else None
    band = beat_band(hr_hz, fs)
    empty = np.zeros(0)

    def none(reason: str) -> Beats:
        return Beats(empty, empty, np.zeros(0, dtype=bool), None, reason, [], float(window_s), float(step_s), band,
                     fiducial)

    if hr_bpm is not None and not (math.isfinite(hr_bpm) and hr_bpm > 0):
        return none("the pulse has no heart rate")
    x = np.asarray(pulse, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)) or float(np.std(x)) < 1e-12:
        return none("the pulse is constant or not a finite signal: it has no beats")
    try:
        beats = detect_beats(x, fs, band, hr_hz=hr_hz, fiducial=fiducial)
    except SignalError as exc:
        return none(f"no beats: {exc}")
    ibi = np.diff(beats)
    normal = normal_intervals(ibi, max_deviation) if ibi.size else np.zeros(0, dtype=bool)
    reason = _gate(confidence, ibi.size, int(normal.sum()), min_share, min_intervals) if ibi.size else (
        f"{beats.size} beat(s): too few for an interval")
    hrv = None
    if reason is None:
        hrv = _hrv_or_none(ibi, normal)
        if hrv is None:
            reason = "no two successive normal intervals"
    windows = []
    duration = x.size / fs
    if window_s > 0 and step_s > 0:
        start = 0.0
        while start + window_s <= duration + 1e-9:
            end = start + window_s
            inside = (beats[:-1] >= start) & (beats[1:] < end)  # both beats of the interval
            n = int(inside.sum())
            kept = normal & inside
            why = _gate(confidence, n, int(kept.sum()), min_share, min_intervals) if n else "no beats in the window"
            h = None
            if why is None:
                h = _hrv_or_none(ibi, kept)
                if h is None:
                    why = "no two successive normal intervals"
            windows.append(WindowHRV(start, end, n, float(kept.sum() / n) if n else float("nan"), h, why))
            start += step_s
    return Beats(beats, ibi, normal, hrv, reason, windows, float(window_s), float(step_s), band, fiducial)
