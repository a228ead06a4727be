"""The heart-rate analysis of a pulse signal: the one route from a pulse to heart rates.

``predict``, ``evaluate``, ``bench`` and ``live`` all call :func:`analyse`, so the same
pulse gives the same heart rate whichever command reads it::

    pulse (T,) at fs
      -> the preset's processing (default: detrend, band-pass)
      -> windows of window_s every stride_s (one window when the signal is shorter)
      -> per window: the preset's own rate (window_rates), its in-band spectrum
      -> heart rate over time: the rates tracked through the windows' spectra (Viterbi,
         robust to windows swamped by an artefact at another rate)
      -> the recording's heart rate: the median of the windows' own rates (optionally a
         stated octave rule, off by default)
      -> per window: SNR at the tracked rate (processed window), IPR (raw window)
      -> a confidence level from the SNR at the recording's rate and the share of
         windows that agree with it (:func:`confidence`)

Why these choices: ``docs/measurements.md`` ("Heart rate of a recording", chosen on
real skin-patch noise with real pulses and on synthetic pulses).  The spectra
are computed a block of windows at a time, so an hour of 1-s windows holds only the
in-band spectra (W x F), never W zero-padded FFTs at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pulsecl.errors import ConfigError, SignalError
from pulsecl.signal.common import parabolic_offset, window_starts

__all__ = [
    "AGREE_BPM",
    "AGREE_HIGH",
    "Analysis",
    "Confidence",
    "SNR_HIGH_DB",
    "SNR_LOW_DB",
    "TRACK_FLOOR",
    "TRACK_JUMP_COST",
    "TRACK_MAX_RATE_BPM_S",
    "TRACK_PRIOR_BPM",
    "analyse",
    "confidence",
    "half_rate_rule",
    "min_samples",
    "normalised_spectra",
    "peak_bpm",
    "track_hr",
]

#: HR tracking over windows: a Gaussian prior of this width (bpm) around the mean heart
#: rate, and at most this change (bpm per second) between windows.
TRACK_PRIOR_BPM = 20.0
TRACK_MAX_RATE_BPM_S = 5.0
TRACK_JUMP_COST = 0.05  # log-power cost per bpm of change between windows
TRACK_FLOOR = 1e-4  # power floor of a normalised spectrum before the log

_BLOCK = 256  # windows per block of spectra

#: Confidence levels (:func:`confidence`), chosen by 12-fold subject-disjoint
#: cross-validation on real skin-patch noise with real pulses, on synthetic pulses, and
#: on the real dev set (which holds no detectable pulse: used as a null, on which at most
#: 5 % of answers may be "high"); see docs/measurements.md.  SNR is the median over 10-s
#: windows at the recording's rate: the thresholds hold for 10-s windows.
SNR_HIGH_DB = -6.0  # "high" needs at least this SNR ...
AGREE_HIGH = 0.5  # ... and at least this share of windows within AGREE_BPM of the answer
SNR_LOW_DB = -8.0  # "low" below this SNR
AGREE_BPM = 5.0


def normalised_spectra(
    segs: np.ndarray, fs: float, band: tuple[float, float], pad_factor: float = 8.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(freqs (F,) Hz, psd (W, F))``: Tukey(0.25)-windowed spectra of ``segs`` (W, L),
    zero-padded ``pad_factor`` times, each scaled to unit power inside ``band``; only the
    in-band bins are returned."""
    from pulsecl.signal.processing import power_spectrum

    freqs, psd = power_spectrum(segs, fs, pad_factor=pad_factor, window=("tukey", 0.25))
    inside = (freqs >= band[0]) & (freqs <= band[1])
    psd = np.atleast_2d(psd)[:, inside]
    total = psd.sum(axis=1, keepdims=True)
    return freqs[inside], psd / np.where(total > 0, total, 1.0)


def peak_bpm(freqs: np.ndarray, p: np.ndarray) -> float:
    """Largest bin of the spectrum ``p`` on ``freqs`` (Hz), refined by a parabola
    through it and its neighbours; bpm."""
    k = int(np.argmax(p))
    f = float(freqs[k])
    if 0 < k < len(p) - 1:
        f += float(parabolic_offset(p[k - 1], p[k], p[k + 1])) * float(freqs[1] - freqs[0])
    return f * 60.0


def track_hr(freqs: np.ndarray, psd: np.ndarray, centre_hz: float, stride_s: float) -> np.ndarray:
    """Heart rate (bpm) per window along the best path through the windows' spectra.

    ``psd`` (W, F) holds the windows' in-band spectra (each normalised to unit power) on
    ``freqs`` (F,) Hz.  Each spectrum is weighted by a Gaussian prior of
    :data:`TRACK_PRIOR_BPM` around ``centre_hz`` (the recording's heart rate), then a
    Viterbi path maximises the summed log-power less :data:`TRACK_JUMP_COST` per bpm of
    change, with changes limited to :data:`TRACK_MAX_RATE_BPM_S` per second of stride.
    A window swamped by an artefact at another rate then keeps the rate its neighbours
    carry; each window's rate is refined by a parabola on its own spectrum.  O(W F k)
    for k allowed steps.
    """
    bpm = freqs * 60.0
    step = float(bpm[1] - bpm[0]) if bpm.size > 1 else 1.0
    prior = np.exp(-0.5 * ((bpm - centre_hz * 60.0) / TRACK_PRIOR_BPM) ** 2)
    weighted = psd * prior[None, :]
    obs = np.log(weighted / np.maximum(weighted.sum(axis=1, keepdims=True), 1e-300) + TRACK_FLOOR)
    w_count, f_count = obs.shape
    k = max(1, int(math.ceil(TRACK_MAX_RATE_BPM_S * stride_s / step)))
    cost = TRACK_JUMP_COST * step * np.abs(np.arange(-k, k + 1))  # (2k+1,)
    back = np.zeros((w_count, f_count), dtype=np.int32)
    score = obs[0].copy()
    for w in range(1, w_count):
        padded = np.concatenate([np.full(k, -np.inf), score, np.full(k, -np.inf)])
        cand = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1) - cost[::-1][None, :]  # (F, 2k+1)
        j = np.argmax(cand, axis=1)  # the previous bin, as an offset into padded
        back[w] = np.arange(f_count) + j - k
        score = cand[np.arange(f_count), j] + obs[w]
    path = np.empty(w_count, dtype=np.int64)
    path[-1] = int(np.argmax(score))
    for w in range(w_count - 1, 0, -1):
        path[w - 1] = back[w, path[w]]
    out = bpm[path].astype(np.float64)
    rows = np.flatnonzero((path > 0) & (path < f_count - 1))
    if rows.size:
        j = path[rows]
        out[rows] += parabolic_offset(psd[rows, j - 1], psd[rows, j], psd[rows, j + 1]) * step
    return out


def min_samples(fs: float, band: tuple[float, float]) -> int:
    """Fewest samples :func:`analyse` takes: two periods of the band's lowest rate."""
    return int(math.ceil(2.0 * fs / band[0]))


@dataclass(frozen=True)
class Confidence:
    """How far an answer can be trusted: ``level`` (``"high"``, ``"medium"``, ``"low"``),
    the ``snr_db`` and ``agreement`` it rests on, and a one-line ``reason``."""

    level: str
    snr_db: float
    agreement: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "snr_db": round(float(self.snr_db), 3),
                "agreement": round(float(self.agreement), 4), "reason": self.reason}


def confidence(snr_db: float, agreement: float) -> Confidence:
    """The level of an answer whose 10-s windows have median SNR ``snr_db`` at it and of
    which a share ``agreement`` have their own rate within :data:`AGREE_BPM` of it:

    * **high**: ``snr_db >= SNR_HIGH_DB`` (-6 dB) and ``agreement >= AGREE_HIGH`` (50 %);
    * **low**: ``snr_db < SNR_LOW_DB`` (-8 dB);
    * **medium**: otherwise.

    Held out in the cross-validation that chose them (docs/measurements.md), 95 % of the
    "high" answers were within 5 bpm and 92 % of the "low" ones were not.
    """
    snr_db, agreement = float(snr_db), float(agreement)
    if snr_db >= SNR_HIGH_DB and agreement >= AGREE_HIGH:
        return Confidence("high", snr_db, agreement,
                          f"SNR {snr_db:.1f} dB >= {SNR_HIGH_DB:g} dB and {100 * agreement:.0f} % of windows agree")
    if snr_db < SNR_LOW_DB:
        return Confidence("low", snr_db, agreement,
                          f"SNR {snr_db:.1f} dB < {SNR_LOW_DB:g} dB: the pulse barely stands out of the noise")
    return Confidence("medium", snr_db, agreement,
                      f"SNR {snr_db:.1f} dB, {100 * agreement:.0f} % of windows within {AGREE_BPM:g} bpm")


def half_rate_rule(freqs: np.ndarray, spectrum: np.ndarray, hr_bpm: float, band: tuple[float, float],
                   ratio: float, tol_bpm: float = 3.0) -> tuple[float, bool]:
    """The octave rule: when half the rate ``hr_bpm`` lies in the band and the spectrum's
    largest power within ``tol_bpm`` of it is at least ``ratio`` times the power at
    ``hr_bpm`` (the top peak may be the pulse's second harmonic), answer that
    half-rate peak.  ``ratio >= 1`` or ``<= 0`` turns the rule off.  Returns
    ``(hr_bpm, moved)``.  ``spectrum`` (F,) on ``freqs`` (F,) Hz.

    Measured not to help on real and synthetic data (it moves as many right answers to
    half their rate as it corrects): off by default (``signal.half_ratio = 0``).
    """
    if not 0.0 < ratio < 1.0:
        return hr_bpm, False
    f_top = hr_bpm / 60.0
    if f_top / 2 < band[0]:
        return hr_bpm, False
    tol = tol_bpm / 60.0

    def near(hz: float) -> tuple[float, int]:
        idx = np.flatnonzero(np.abs(freqs - hz) <= tol)
        if idx.size == 0:
            return 0.0, -1
        k = int(idx[np.argmax(spectrum[idx])])
        return float(spectrum[k]), k

    p_top, _ = near(f_top)
    p_half, k = near(f_top / 2)
    if p_top <= 0 or k < 0 or p_half < ratio * p_top:
        return hr_bpm, False
    return peak_bpm(freqs[max(k - 1, 0) : k + 2], spectrum[max(k - 1, 0) : k + 2]), True


@dataclass
class Analysis:
    """Heart rate and quality of one pulse signal (see :func:`analyse`).

    Heart rates in bpm; ``window_times_s`` are window centres from the first sample.
    """

    hr_bpm: float  # the recording's heart rate: median of the windows' own rates
    window_times_s: np.ndarray  # (W,)
    window_hr_bpm: np.ndarray  # (W,) tracked rate
    window_peak_bpm: np.ndarray  # (W,) each window's own rate (the preset's estimator)
    window_snr_db: np.ndarray  # (W,) SNR at the tracked rate, processed window
    window_ipr: np.ndarray  # (W,) irrelevant power ratio of the raw window
    spectrum_bpm: np.ndarray  # (F,) in-band frequencies
    spectrum: np.ndarray  # (F,) average of the windows' normalised spectra
    confidence: Confidence | None = None  # from the SNR at hr_bpm and the windows' agreement
    octave_moved: bool = False  # the octave rule answered half the top rate


def analyse(
    pulse: Any,
    fs: float,
    band_hz: tuple[float, float],
    window_s: float = 10.0,
    stride_s: float = 1.0,
    preset: Any = None,
    track: bool = True,
    half_ratio: float = 0.0,
) -> Analysis:
    """Heart rate over time, SNR and IPR per window, and the recording's heart rate.

    The pulse is post-processed by ``preset`` (:func:`pulsecl.signal.presets.get_preset`;
    default: detrend and band-pass) and cut into windows of ``window_s`` every
    ``stride_s`` seconds (one window over the whole signal when it is shorter).  Per
    window: its own rate (the preset's ``window_rates``), the tracked rate
    (:func:`track_hr`; the own rate when ``track`` is False or there is one window), SNR
    (dB, power near the tracked rate and its harmonic against the rest of the band) of
    the processed window, and IPR (share of spectral magnitude outside the band) of the
    raw one.  The recording's rate is the median of the windows' own rates (then, with
    ``0 < half_ratio < 1``, :func:`half_rate_rule` on the average spectrum), and its
    :func:`confidence` comes from the windows' median SNR at that rate and the share of
    windows whose own rate is within :data:`AGREE_BPM` of it.

    Raises:
        SignalError: fewer samples than two periods of the band's lowest rate
            (:func:`min_samples`), NaN or constant samples, a rate too low for the band.
        ConfigError: a window or stride that is not a positive number of seconds.
    """
    from pulsecl.signal.presets import get_preset
    from pulsecl.signal.processing import as_signal, check_band, check_fs
    from pulsecl.signal.quality import ipr, snr

    fs = check_fs(fs)
    band = check_band(band_hz, fs)
    x = np.asarray(pulse, dtype=np.float64)
    need = min_samples(fs, band)
    if x.ndim != 1 or x.size < need:
        raise SignalError(
            f"{x.size} frames ({x.size / fs:.1f} s at {fs:.3g} fps) are too few for a heart rate down to "
            f"{band[0] * 60:.0f} bpm; give at least {need / fs:.1f} s of video"
        )
    if not (window_s > 0 and stride_s > 0):
        raise ConfigError(f"window {window_s!r} s and stride {stride_s!r} s must be positive")
    x = as_signal(x, fs, band, name="pulse")
    p = get_preset(preset)
    processed = p.process(x, fs, band_hz=band)
    win = min(x.size, int(round(window_s * fs)))
    step = max(1, int(round(stride_s * fs)))
    starts = window_starts(x.size, win, step)
    times = (starts + win / 2.0) / fs
    segs = np.lib.stride_tricks.sliding_window_view(processed, win)[starts]  # (W, win) views
    raw = np.lib.stride_tricks.sliding_window_view(x, win)[starts]
    blocks = [slice(i, i + _BLOCK) for i in range(0, len(starts), _BLOCK)]
    peaks = np.concatenate([np.atleast_1d(p.window_rates(segs[b], fs, band)) for b in blocks]) * 60.0
    spectra = []
    for b in blocks:
        as_signal(segs[b], fs, band, name=f"pulse window of {window_s:g} s")
        spectra.append(normalised_spectra(segs[b], fs, band))
    freqs = spectra[0][0]
    psd = np.concatenate([s[1] for s in spectra]).astype(np.float32)  # (W, F) in band
    spectrum = psd.mean(axis=0, dtype=np.float64)
    centre = peak_bpm(freqs, spectrum)
    hr = track_hr(freqs, psd, centre / 60.0, step / fs) if track and len(starts) > 1 else peaks
    answer = float(np.median(peaks))
    answer, moved = half_rate_rule(freqs, spectrum, answer, band, half_ratio)
    snrs = np.concatenate([np.atleast_1d(snr(segs[b], fs, hr[b], band)) for b in blocks]).astype(np.float64)
    at_answer = np.concatenate([np.atleast_1d(snr(segs[b], fs, answer, band)) for b in blocks])
    iprs = np.concatenate([np.atleast_1d(ipr(raw[b], fs, band, demean=True)) for b in blocks]).astype(np.float64)
    agreement = float(np.mean(np.abs(peaks - answer) <= AGREE_BPM))
    conf = confidence(float(np.median(at_answer)), agreement)
    return Analysis(answer, times, np.asarray(hr, dtype=np.float64), peaks, snrs, iprs, freqs * 60.0, spectrum,
                    conf, moved)
