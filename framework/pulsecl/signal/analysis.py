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
    "HARMONIC_COUPLING",
    "HARMONIC_PROMINENCE",
    "HARMONIC_SEGMENTS",
    "HARMONIC_SHARE",
    "MIN_SEGMENT_S",
    "PULSE_FLOOR",
    "Analysis",
    "Confidence",
    "NOISE_MARGIN_DB",
    "TRACK_FLOOR",
    "TRACK_JUMP_COST",
    "TRACK_MAX_RATE_BPM_S",
    "TRACK_PRIOR_BPM",
    "analyse",
    "analyse_with",
    "confidence",
    "Harmonic",
    "harmonic_rule",
    "independent_segments",
    "min_samples",
    "noise_floor_db",
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

#: Confidence levels (:func:`confidence`): the noise floor's margin over the fit to
#: simulated noise (no noise pulse of 6800 reached it), and the share of independent
#: segments that must agree for "high", chosen in 4 subject-disjoint folds of real face
#: video (ubfc-dev); see docs/measurements.md, "Confidence on real faces".
NOISE_MARGIN_DB = 2.5
AGREE_HIGH = 0.5
AGREE_BPM = 5.0
MIN_SEGMENT_S = 5.0  # shortest independent segment (a clip of 10 s or more gives two halves)

#: The harmonic rule (:func:`harmonic_rule`): at half the answer, the least share of the
#: answer's power, prominence over its neighbourhood and phase coupling to halve it.
HARMONIC_SHARE = 0.15
HARMONIC_PROMINENCE = 10.0
HARMONIC_COUPLING = 0.2  # over chance (the Rayleigh test's 5 % level for the segments)
HARMONIC_SEGMENTS = 4  # fewest segments (of two periods of the half rate) to judge the coupling

#: A pulse whose standard deviation is below this is rounding noise (pulsecl's methods
#: give 1e-4 to 1 on real video): its confidence is "low".
PULSE_FLOOR = 1e-9


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
    the ``snr_db``, ``agreement`` and independent ``segments`` it rests on, and a one-line
    ``reason``."""

    level: str
    snr_db: float
    agreement: float
    reason: str
    segments: int = 1
    peak_db: float = float("nan")  # the answer's peak over the median of the average spectrum
    floor_db: float = float("nan")  # the highest such peak pure noise of this length gives

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "snr_db": _rounded(self.snr_db),
                "agreement": _rounded(self.agreement, 4), "segments": int(self.segments),
                "peak_db": _rounded(self.peak_db), "noise_floor_db": _rounded(self.floor_db), "reason": self.reason}

    def capped(self, reason: str) -> "Confidence":
        """The same figures at level "low" because of ``reason`` (an input that cannot
        carry a pulse, whatever its spectrum says)."""
        return Confidence("low", self.snr_db, self.agreement, reason, self.segments, self.peak_db, self.floor_db)


def _rounded(v: float, digits: int = 3) -> float | None:
    return round(float(v), digits) if np.isfinite(v) else None


def noise_floor_db(duration_s: float, band: tuple[float, float], window_s: float = 10.0) -> float:
    """The highest peak-to-median ratio (dB) of the average window spectrum that a pulse
    of pure noise (white or pink) of ``duration_s`` reaches in :func:`analyse` with
    ``band`` (Hz) and ``window_s``: ``10.5 + 0.9 ln(n) - 3.5 ln(k) + NOISE_MARGIN_DB``
    with ``n`` = band width x window length (independent bins of a window) and ``k`` =
    duration / window (independent windows averaged, at least 1), fitted to simulated
    noise over bands of 30-250 bpm, 8-120 s, 15 and 30 fps (``docs/measurements.md``,
    "Confidence on real faces")."""
    win = min(float(window_s), float(duration_s))
    n = max((band[1] - band[0]) * win, 2.0)
    k = max(float(duration_s) / float(window_s), 1.0)
    return 10.5 + 0.9 * math.log(n) - 3.5 * math.log(k) + NOISE_MARGIN_DB


def confidence(peak_db: float, floor_db: float, agreement: float, segments: int, snr_db: float = float("nan")) -> Confidence:
    """The level of an answer whose peak in the average spectrum stands ``peak_db`` over
    the spectrum's median, where noise reaches at most ``floor_db`` (:func:`noise_floor_db`),
    and of whose ``segments`` independent segments a share ``agreement`` have their own rate
    within :data:`AGREE_BPM` of it:

    * **low**: ``peak_db < floor_db``: pure noise could have made this answer;
    * **high**: over the floor, ``agreement >= AGREE_HIGH`` and at least two independent
      segments (one segment cannot agree with anything);
    * **medium**: otherwise.

    ``snr_db`` (the windows' median SNR at the answer) is reported, not used: on real
    compressed face video it separated right from wrong answers less well than the peak
    ratio.  The thresholds and what they gave held out: ``docs/measurements.md``,
    "Confidence on real faces".
    """
    peak_db, floor_db, agreement = float(peak_db), float(floor_db), float(agreement)
    args = (snr_db, agreement)
    if not peak_db >= floor_db:
        return Confidence("low", *args, f"the pulse's peak stands {peak_db:.1f} dB over its spectrum, no more than "
                          f"noise of this length reaches ({floor_db:.1f} dB)", segments, peak_db, floor_db)
    if agreement >= AGREE_HIGH and segments >= 2:
        return Confidence("high", *args, f"peak {peak_db - floor_db:.1f} dB over the noise floor and "
                          f"{100 * agreement:.0f} % of {segments} independent segments agree", segments, peak_db, floor_db)
    if segments < 2:
        why = "one independent segment (too short to check the rate against itself)"
    else:
        why = f"{100 * agreement:.0f} % of {segments} independent segments within {AGREE_BPM:g} bpm"
    return Confidence("medium", *args, f"peak {peak_db - floor_db:.1f} dB over the noise floor, {why}", segments,
                      peak_db, floor_db)


@dataclass(frozen=True)
class Harmonic:
    """What :func:`harmonic_rule` found at half the answer: the power there as a share of
    the power at the answer (``share``), how far it stands above its neighbourhood
    (``prominence``), its phase coupling with the answer over segments (``coupling``,
    0-1), and whether the answer was halved (``moved``)."""

    moved: bool
    share: float
    prominence: float
    coupling: float

    def as_dict(self) -> dict[str, Any]:
        return {"moved": self.moved, "share": round(self.share, 4), "prominence": round(self.prominence, 3),
                "coupling": round(self.coupling, 4)}


def _phase_coupling(processed: np.ndarray, fs: float, half_hz: float) -> float:
    """|sum of X(h)^2 conj(X(2h))| / sum of |X(h)^2 X(2h)| over non-overlapping segments of
    two periods of ``half_hz`` (at least 2 s) of ``processed``: 1 when the components at
    ``h`` and ``2h`` keep one phase relation (one waveform of rate ``h``), near 0 for
    unrelated ones.  Unrelated phases still give about ``1 / sqrt(n)`` over ``n`` segments,
    so the value is returned less the Rayleigh test's 5 % level ``sqrt(3 / n)`` (0 when not
    above it), and 0 with fewer than :data:`HARMONIC_SEGMENTS` segments."""
    seg = int(round(max(2.0 / half_hz, 2.0) * fs))
    n = processed.size // seg
    if n < HARMONIC_SEGMENTS:
        return 0.0
    rows = processed[: n * seg].reshape(n, seg) * np.hanning(seg)
    t = (np.arange(seg) - (seg - 1) / 2.0) / fs  # centred: the phases do not depend on the rate's offset
    xh = rows @ np.exp(-2j * np.pi * half_hz * t)
    xf = rows @ np.exp(-4j * np.pi * half_hz * t)
    b = xh**2 * np.conj(xf)
    total = float(np.abs(b).sum())
    if not total > 0:
        return 0.0
    return max(0.0, float(abs(b.sum()) / total) - math.sqrt(3.0 / n))


def harmonic_rule(raw: np.ndarray, processed: np.ndarray, fs: float, hr_bpm: float, band: tuple[float, float],
                  window_s: float = 10.0, stride_s: float = 1.0) -> Harmonic:
    """The harmonic rule: is ``hr_bpm`` the second harmonic of a pulse at half that rate?

    A pulse with a pronounced second (dicrotic) wave can carry more power at twice its
    rate than at its rate, most of all after the band-pass, which weakens the band's low
    end.  The answer is halved when, at half the rate (inside ``band``):

    * the spectrum of the detrended pulse (no band-pass; 10-s windows averaged) has a
      peak holding at least :data:`HARMONIC_SHARE` of the power at the answer,
    * standing at least :data:`HARMONIC_PROMINENCE` times above the median of the bins 6-20
      bpm away from it (a narrow line, not the low end's broad noise), and
    * phase-coupled with the answer (:data:`HARMONIC_COUPLING`; :func:`_phase_coupling`):
      the two are one waveform, not a pulse and an unrelated rhythm.

    Chosen on pulses with known harmonics (``tests/signal/test_signal_harmonics.py``;
    ``docs/measurements.md``, "Harmonics"): it halves all of 45 pulses of 45-110 bpm at
    15, 25 and 30 fps whose dicrotic wave outgrew the beat (read at twice their rate
    without it), and none of 60 pulses of 100-180 bpm in white and pink noise.  ``raw`` and
    ``processed`` (T,)
    are the pulse before and after the preset's processing.
    """
    from pulsecl.signal.processing import detrend

    f = hr_bpm / 60.0
    half = f / 2.0
    if half < band[0]:
        return Harmonic(False, 0.0, 0.0, 0.0)
    y = detrend(raw, fs, 0.3)
    win = min(y.size, int(round(window_s * fs)))
    starts = window_starts(y.size, win, max(1, int(round(stride_s * fs))))
    segs = np.lib.stride_tricks.sliding_window_view(y, win)[starts]
    top = min(2.2 * f, 0.95 * fs / 2.0)
    freqs, psd = normalised_spectra(segs, fs, (max(half - 30.0 / 60.0, 0.1), top))
    spectrum = psd.mean(axis=0)
    bpm = freqs * 60.0

    def power(centre: float) -> float:
        near = np.abs(bpm - centre) <= 3.0
        return float(spectrum[near].max()) if near.any() else 0.0

    p_half, p_top = power(hr_bpm / 2.0), power(hr_bpm)
    ring = (np.abs(bpm - hr_bpm / 2.0) > 6.0) & (np.abs(bpm - hr_bpm / 2.0) <= 20.0)
    floor = float(np.median(spectrum[ring])) if ring.any() else 0.0
    share = p_half / p_top if p_top > 0 else 0.0
    prominence = p_half / floor if floor > 0 else 0.0
    coupling = _phase_coupling(processed, fs, half)
    moved = share >= HARMONIC_SHARE and prominence >= HARMONIC_PROMINENCE and coupling >= HARMONIC_COUPLING
    return Harmonic(bool(moved), share, prominence, coupling)


@dataclass
class Analysis:
    """Heart rate and quality of one pulse signal (see :func:`analyse`).

    Heart rates in bpm; ``window_times_s`` are window centres from the first sample.
    """

    hr_bpm: float  # the recording's heart rate: median of the tracked windows' rates
    window_times_s: np.ndarray  # (W,)
    window_hr_bpm: np.ndarray  # (W,) tracked rate
    window_peak_bpm: np.ndarray  # (W,) each window's own rate (the preset's estimator)
    window_snr_db: np.ndarray  # (W,) SNR at the tracked rate, processed window
    window_ipr: np.ndarray  # (W,) irrelevant power ratio of the raw window
    spectrum_bpm: np.ndarray  # (F,) in-band frequencies
    spectrum: np.ndarray  # (F,) average of the windows' normalised spectra
    confidence: Confidence | None = None  # SNR at hr_bpm, independent segments that agree
    harmonic: Harmonic | None = None  # the harmonic rule's findings (None: not applied)
    segments: int = 1  # independent (non-overlapping) segments behind the confidence
    window_low: np.ndarray | None = None  # (W,) bool: the window's peak is within noise's reach


def independent_segments(n: int, fs: float, window_s: float) -> tuple[int, int]:
    """``(count, length in samples)`` of the non-overlapping segments that count as
    independent evidence for the confidence: windows of ``window_s`` when the signal holds
    two or more; else two halves when each is at least :data:`MIN_SEGMENT_S` long; else the
    whole signal (one segment, never enough for "high")."""
    win = int(round(window_s * fs))
    if n >= 2 * win:
        return n // win, win
    half = n // 2
    if half >= MIN_SEGMENT_S * fs:
        return 2, half
    return 1, n


def _peak_near(freqs: np.ndarray, spectrum: np.ndarray, centre_bpm: float, tol_bpm: float) -> float:
    """The largest bin within ``tol_bpm`` of ``centre_bpm``, refined by a parabola; bpm."""
    bpm = freqs * 60.0
    idx = np.flatnonzero(np.abs(bpm - centre_bpm) <= tol_bpm)
    if idx.size == 0:
        return centre_bpm
    k = int(idx[np.argmax(spectrum[idx])])
    lo, hi = max(k - 1, 0), min(k + 2, spectrum.size)
    return peak_bpm(freqs[lo:hi], spectrum[lo:hi]) if hi - lo == 3 else float(bpm[k])


def analyse(
    pulse: Any,
    fs: float,
    band_hz: tuple[float, float],
    window_s: float = 10.0,
    stride_s: float = 1.0,
    preset: Any = None,
    track: bool = True,
    harmonics: bool = True,
) -> Analysis:
    """Heart rate over time, SNR and IPR per window, and the recording's heart rate.

    The pulse is post-processed by ``preset`` (:func:`pulsecl.signal.presets.get_preset`;
    default: detrend and band-pass) and cut into windows of ``window_s`` every
    ``stride_s`` seconds (one window over the whole signal when it is shorter).  Per
    window: its own rate (the preset's ``window_rates``), the tracked rate
    (:func:`track_hr`; the own rate when ``track`` is False or there is one window), SNR
    (dB, power near the tracked rate and its harmonic against the rest of the band) of
    the processed window, and IPR (share of spectral magnitude outside the band) of the
    raw one.  The track's prior is centred on the median of the windows' own rates, and
    the recording's rate is the median of the tracked rates; with ``harmonics``,
    :func:`harmonic_rule` may halve it (and the windows are tracked again around the half).
    Its :func:`confidence` comes from the windows' median SNR at that rate and from the
    independent segments (:func:`independent_segments`) whose own rate agrees with the
    tracked rate at their time.  A pulse whose standard deviation is below
    :data:`PULSE_FLOOR` is rounding noise (or constant): it has no heart rate (NaN) and its
    level is "low", with that reason.

    Raises:
        SignalError: fewer samples than two periods of the band's lowest rate
            (:func:`min_samples`), NaN samples, a rate too low for the band.
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
    x = as_signal(x, fs, band, name="pulse", allow_constant=True)
    if float(np.std(x)) < PULSE_FLOOR:
        return _no_pulse(x.size, fs, band, window_s, stride_s)
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
    tracking = track and len(starts) > 1

    def rates(centre_bpm: float) -> np.ndarray:
        return track_hr(freqs, psd, centre_bpm / 60.0, step / fs) if tracking else peaks

    hr = rates(float(np.median(peaks)))  # the track's prior sits at the windows' own median rate
    answer = float(np.median(hr))
    harmonic = None
    if harmonics:
        harmonic = harmonic_rule(x, processed, fs, answer, band, window_s, stride_s)
        if harmonic.moved:
            half = _peak_near(freqs, spectrum, answer / 2.0, 0.1 * answer)
            hr = rates(half) if tracking else np.full_like(peaks, half)
            answer = float(np.median(hr))
    snrs = np.concatenate([np.atleast_1d(snr(segs[b], fs, hr[b], band)) for b in blocks]).astype(np.float64)
    at_answer = np.concatenate([np.atleast_1d(snr(segs[b], fs, answer, band)) for b in blocks])
    iprs = np.concatenate([np.atleast_1d(ipr(raw[b], fs, band, demean=True)) for b in blocks]).astype(np.float64)
    count, length = independent_segments(x.size, fs, window_s)
    pieces = processed[: count * length].reshape(count, length)
    own = np.atleast_1d(p.window_rates(pieces, fs, band)) * 60.0
    agreement = float(np.mean(np.abs(own - answer) <= AGREE_BPM))
    near = np.abs(freqs * 60.0 - answer) <= AGREE_BPM
    peak = float(spectrum[near].max()) if near.any() else 0.0
    median = float(np.median(spectrum))
    peak_db = 10.0 * math.log10(peak / median) if peak > 0 and median > 0 else float("-inf")
    floor_db = noise_floor_db(x.size / fs, band, window_s)
    conf = confidence(peak_db, floor_db, agreement, count, float(np.median(at_answer)))
    bpm = freqs * 60.0
    at_track = np.abs(bpm[None, :] - np.asarray(hr)[:, None]) <= AGREE_BPM  # (W, F)
    window_peak = np.where(at_track, psd, 0.0).max(axis=1)
    window_db = 10.0 * np.log10(np.maximum(window_peak, 1e-30) / np.maximum(np.median(psd, axis=1), 1e-30))
    window_low = window_db < noise_floor_db(win / fs, band, window_s)
    return Analysis(answer, times, np.asarray(hr, dtype=np.float64), peaks, snrs, iprs, bpm, spectrum,
                    conf, harmonic, count, window_low)


def _no_pulse(n: int, fs: float, band: tuple[float, float], window_s: float, stride_s: float) -> Analysis:
    """The analysis of a pulse that is (numerically) constant: no heart rate (NaN, null in
    JSON), every window low, and the reason."""
    win = min(n, int(round(window_s * fs)))
    starts = window_starts(n, win, max(1, int(round(stride_s * fs))))
    times = (starts + win / 2.0) / fs
    nan = np.full(len(starts), np.nan)
    count, _ = independent_segments(n, fs, window_s)
    reason = f"the pulse is numerically constant (sd below {PULSE_FLOOR:g}): it carries no heart rate"
    conf = Confidence("low", float("nan"), 0.0, reason, count)
    bpm = np.array([band[0], band[1]]) * 60.0
    return Analysis(float("nan"), times, nan, nan.copy(), nan.copy(), nan.copy(), bpm, np.zeros(2), conf, None,
                    count, np.ones(len(starts), dtype=bool))


def analyse_with(pulse: Any, fs: float, signal: Any) -> Analysis:
    """:func:`analyse` with the settings of a :class:`pulsecl.config.SignalConfig`: what
    ``predict``, ``live``, ``evaluate`` and ``bench`` all call."""
    from pulsecl.signal.common import band_hz

    band = band_hz(signal.band_bpm, what="signal.band_bpm")
    return analyse(pulse, fs, band, signal.window_s, signal.stride_s, signal.preset, harmonics=signal.harmonic_rule)
