"""Post-processing presets: from a pulse signal to a heart rate, step by step.

A preset is a named pipeline with four methods, all taking the sampling rate (the
:class:`pulsecl.protocols.Preset` protocol):

* ``process(pulse, fs, diff=False, band_hz=None)``: the filtered pulse;
* ``window_rates(segments, fs, band_hz)``: the heart rate (Hz) of each row of already
  processed windows ``(W, L)``, what :func:`pulsecl.signal.analysis.analyse` calls;
* ``heart_rate(pulse, fs, diff=False, band_hz=None)``: bpm, a float for ``(T,)`` and an
  array ``(B,)`` for ``(B, T)``;
* ``hr_over_time(pulse, fs, window_s, stride_s, diff=False, band_hz=None)``: the
  processed signal's heart rate on sliding windows, ``(times_s, hr_bpm)``.

``diff=True`` says the signal is a first difference of the pulse (the output of DeepPhys
or TS-CAN style models); every preset then integrates it (cumulative sum) first.
``band_hz=None`` means the preset's own band.

``default``
    1. cumulative sum if ``diff``;
    2. smoothness-priors detrend, -3 dB at 0.3 Hz whatever the frame rate;
    3. zero-phase first-order Butterworth band-pass over the band (default 40-250 bpm;
       forward and backward, so -6 dB at the band's edges);
    4. Tukey window (alpha 0.25), zero-padding to 8x the length;
    5. largest power-spectrum bin inside the band, refined by a parabola through it
       and its two neighbours.
    Chosen by measurement on synthetic pulses, then on real noise (the figures are in
    ``docs/measurements.md``): the band-pass cuts the error on noisy pulses, whose
    noise crowds the band's low edge, to a third (GREEN: 25 -> 7 bpm MAE); of orders
    1, 2 and 4, order 1 was best on real skin-patch noise with real pulses in it (and on
    the real dev set), at some cost on synthetic pulses above 120 bpm; a Tukey window
    keeps most of the narrow main lobe of no window with a third of its bias on
    sinusoids.
``rppg-toolbox``
    rPPG-Toolbox's ``calculate_metric_per_video`` (X. Liu et al., "rPPG-Toolbox: Deep
    remote PPG toolbox", NeurIPS 2023 Datasets and Benchmarks, and its public code):
    1. cumulative sum if ``diff``;
    2. smoothness-priors detrend with ``lambda = 100`` (weight ``lambda^2`` on the
       second differences, as that toolbox computes it; so its cutoff moves with the
       frame rate: 0.60 Hz at 30 fps), here solved as a banded system;
    3. first-order Butterworth band-pass 0.6-3.3 Hz (its code's default; 0.75-2.5 Hz
       as in its paper with ``band_hz=(0.75, 2.5)``), forward-backward (``filtfilt``);
    4. ``hr_method="fft"``: periodogram zero-padded to the next power of two, the largest
       bin inside the band, no interpolation; ``hr_method="peak"``: 60 / mean interval
       between all local maxima (``scipy.signal.find_peaks`` without constraints).
    Its SNR (:meth:`RppgToolbox.snr`) and MACC (:meth:`RppgToolbox.macc`) are here too.
``gideon2021``
    Gideon & Stent, ICCV 2021, ``predict_heart_rate(method="fast_ideal")``:
    1. cumulative sum if ``diff``; 2. mean removal;
    3. zero-padding to 101x the length (50x the length on each side), ``|FFT|^2``;
    4. the largest bin inside 40-250 bpm, refined by their 3-point rule: with
       ``d1 = p[k] - p[k-1]`` and ``d2 = p[k] - p[k+1]`` the peak moves by
       ``(1 - min(d1, d2) / max(d1, d2))`` bins towards the larger neighbour.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pulsecl.errors import ConfigError, SignalError, did_you_mean
from pulsecl.signal.processing import (
    DEFAULT_BAND_HZ,
    as_signal,
    check_band,
    check_fs,
    detect_peaks,
    detrend,
    inter_beat_intervals,
    power_spectrum,
    spectral_peak_hz,
)
from pulsecl.signal.common import window_starts
from pulsecl.signal.quality import macc

__all__ = [
    "PRESETS",
    "Default",
    "Gideon2021",
    "RppgToolbox",
    "get_preset",
    "presets",
]


def _integrate(x: np.ndarray, diff: bool) -> np.ndarray:
    return np.cumsum(x, axis=-1) if diff else x


class _Pipeline:
    """Shared driver: validate, ``process``, then the per-row rate estimator
    ``window_rates(segments (W, L), fs, band_hz) -> (W,) Hz`` (on processed windows)."""

    name = ""
    band_hz: tuple[float, float] = DEFAULT_BAND_HZ

    def _band(self, band_hz: Any, fs: float) -> tuple[float, float]:
        return check_band(self.band_hz if band_hz is None else band_hz, fs)

    def _prepare(self, pulse: Any, fs: Any, band_hz: Any) -> tuple[np.ndarray, float, tuple[float, float]]:
        fs = check_fs(fs)
        band = self._band(band_hz, fs)
        return as_signal(pulse, fs, band, name="pulse"), fs, band

    def heart_rate(self, pulse: Any, fs: float, diff: bool = False, band_hz: Any = None) -> Any:
        """Heart rate in bpm: a float for ``(T,)``, an array ``(B,)`` for ``(B, T)``."""
        x, fs, band = self._prepare(pulse, fs, band_hz)
        y = self.process(x, fs, diff=diff, band_hz=band)
        rates = self.window_rates(np.atleast_2d(y), fs, band) * 60.0
        return float(rates[0]) if x.ndim == 1 else rates

    def hr_over_time(
        self,
        pulse: Any,
        fs: float,
        window_s: float = 10.0,
        stride_s: float = 1.0,
        diff: bool = False,
        band_hz: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Heart rate (bpm) on windows of ``window_s`` every ``stride_s`` seconds of the
        processed signal.  Returns ``(window centres in s, hr_bpm)``, both ``(W,)``."""
        x, fs, band = self._prepare(pulse, fs, band_hz)
        if x.ndim != 1:
            raise SignalError(f"hr_over_time takes one signal (T,), got shape {x.shape}")
        if not (window_s > 0 and stride_s > 0):
            raise SignalError(f"window_s={window_s!r} and stride_s={stride_s!r} must be positive seconds")
        y = self.process(x, fs, diff=diff, band_hz=band)
        win = min(y.size, int(round(window_s * fs)))
        starts = window_starts(y.size, win, max(1, int(round(stride_s * fs))))
        segs = np.lib.stride_tricks.sliding_window_view(y, win)[starts]  # (W, win)
        as_signal(segs, fs, band, name=f"pulse window of {window_s:g} s")
        return (starts + win / 2.0) / fs, self.window_rates(segs, fs, band) * 60.0

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({opts})"


class Default(_Pipeline):
    """pulsecl's default: detrend, band-pass, Tukey window, zero-padded spectrum,
    parabolic peak.

    Args:
        detrend_hz: -3 dB point of the smoothness-priors detrend (None: no detrend).
        bandpass_order: Butterworth order of the zero-phase band-pass over the band
            before the spectrum (None: no band-pass).
        window: spectral window (a scipy ``get_window`` spec: ``"hann"``,
            ``("tukey", 0.25)``, ...).
        pad_factor: zero-padding factor of the FFT.
        interpolation: ``parabolic``, ``gaussian`` or ``none``.
        hr_method: ``fft`` (spectral peak) or ``peak`` (60 / mean inter-beat interval of
            :func:`pulsecl.signal.processing.detect_peaks` on the band-passed signal).
        band_hz: the preset's band, Hz.
    """

    name = "default"

    def __init__(
        self,
        detrend_hz: float | None = 0.3,
        bandpass_order: int | None = 1,
        window: Any = ("tukey", 0.25),
        pad_factor: float = 8.0,
        interpolation: str = "parabolic",
        hr_method: str = "fft",
        band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
    ):
        if hr_method not in ("fft", "peak"):
            raise ConfigError(f"default preset: hr_method='{hr_method}' must be 'fft' or 'peak'")
        if interpolation not in ("parabolic", "gaussian", "none"):
            raise ConfigError(
                f"default preset: interpolation='{interpolation}' must be parabolic, gaussian or none"
            )
        self.detrend_hz = detrend_hz
        self.bandpass_order = bandpass_order
        self.window = tuple(window) if isinstance(window, list) else window
        self.pad_factor = pad_factor
        self.interpolation = interpolation
        self.hr_method = hr_method
        self.band_hz = check_band(band_hz)

    def process(self, pulse: Any, fs: float, diff: bool = False, band_hz: Any = None) -> np.ndarray:
        """Steps 1-2 (and the optional band-pass).  Shape: ``(T,)``/``(B, T)`` kept."""
        x, fs, band = self._prepare(pulse, fs, band_hz)
        y = _integrate(x, diff)
        if self.detrend_hz is not None:
            y = detrend(y, fs, self.detrend_hz)
        if self.bandpass_order is not None or self.hr_method == "peak":
            import scipy.signal

            sos = scipy.signal.butter(self.bandpass_order or 2, band, btype="bandpass", fs=fs, output="sos")
            y = scipy.signal.sosfiltfilt(sos, y, axis=-1)
        return y

    def window_rates(self, y: np.ndarray, fs: float, band: tuple[float, float]) -> np.ndarray:
        if self.hr_method == "peak":
            return np.array(
                [1.0 / np.mean(inter_beat_intervals(detect_peaks(row, fs, band))) for row in y]
            )
        return np.atleast_1d(
            spectral_peak_hz(
                y, fs, band, pad_factor=self.pad_factor, window=self.window,
                interpolation=self.interpolation,
            )
        )


def next_power_of_two(n: int) -> int:
    """Smallest power of two >= ``n`` (rPPG-Toolbox's periodogram length)."""
    return 1 if n <= 1 else 1 << (int(n) - 1).bit_length()


class RppgToolbox(_Pipeline):
    """rPPG-Toolbox's post-processing and its SNR and MACC (see the module docs).

    Args:
        band_hz: band-pass and HR search band; (0.6, 3.3) as its code, (0.75, 2.5) as
            its paper.
        hr_method: ``fft`` or ``peak``.
        lam: the detrend's lambda (100 in the toolbox).
    """

    name = "rppg-toolbox"

    def __init__(self, band_hz: tuple[float, float] = (0.6, 3.3), hr_method: str = "fft", lam: float = 100.0):
        if hr_method not in ("fft", "peak"):
            raise ConfigError(f"rppg-toolbox preset: hr_method='{hr_method}' must be 'fft' or 'peak'")
        self.band_hz = check_band(band_hz)
        self.hr_method = hr_method
        self.lam = float(lam)

    def process(self, pulse: Any, fs: float, diff: bool = False, band_hz: Any = None) -> np.ndarray:
        """Cumulative sum (``diff``), detrend (``lam``), first-order ``filtfilt``."""
        x, fs, band = self._prepare(pulse, fs, band_hz)
        y = detrend(_integrate(x, diff), fs, lam=self.lam)
        import scipy.signal

        b, a = scipy.signal.butter(1, [band[0] / fs * 2, band[1] / fs * 2], btype="bandpass")
        if y.shape[-1] <= 3 * max(len(a), len(b)):
            raise SignalError(f"pulse has {y.shape[-1]} samples; rppg-toolbox's filter needs at least 10")
        return scipy.signal.filtfilt(b, a, y, axis=-1)

    def window_rates(self, y: np.ndarray, fs: float, band: tuple[float, float]) -> np.ndarray:
        if self.hr_method == "peak":
            import scipy.signal

            out = []
            for row in y:
                peaks, _ = scipy.signal.find_peaks(row)
                if peaks.size < 2:
                    raise SignalError("pulse has fewer than 2 peaks; no heart rate by peak detection")
                out.append(fs / np.mean(np.diff(peaks)))
            return np.asarray(out)
        nfft = next_power_of_two(y.shape[-1])
        freqs, psd = power_spectrum(y, fs, nfft=nfft, demean=False)
        inside = np.flatnonzero((freqs >= band[0]) & (freqs <= band[1]))
        if inside.size == 0:
            raise SignalError(f"no periodogram bin inside {band[0]}-{band[1]} Hz; use a longer signal")
        return freqs[inside[np.argmax(psd[:, inside], axis=-1)]]

    def snr(self, processed: Any, fs: float, hr_bpm: float, band_hz: Any = None) -> float:
        """rPPG-Toolbox's SNR (dB) of an already processed pulse at ``hr_bpm``.

        Periodogram zero-padded to the next power of two; power within +-6 bpm of the
        HR and of twice the HR against the rest of the band; ``10 log10`` of the ratio;
        0 when no power is left in the rest of the band (the toolbox's convention).
        """
        fs = check_fs(fs)
        band = self._band(band_hz, fs)
        y = as_signal(processed, fs, name="processed pulse")
        if y.ndim != 1:
            raise SignalError(f"snr takes one signal (T,), got shape {y.shape}")
        freqs, psd = power_spectrum(y, fs, nfft=next_power_of_two(y.size), demean=False)
        f1, dev = hr_bpm / 60.0, 6.0 / 60.0
        near1 = (freqs >= f1 - dev) & (freqs <= f1 + dev)
        near2 = (freqs >= 2 * f1 - dev) & (freqs <= 2 * f1 + dev)
        rest = (freqs >= band[0]) & (freqs <= band[1]) & ~near1 & ~near2
        p_rest = float(psd[rest].sum())
        if p_rest == 0:
            return 0.0
        return 10.0 * math.log10(float(psd[near1].sum() + psd[near2].sum()) / p_rest)

    @staticmethod
    def macc(pred: Any, ref: Any) -> float:
        """rPPG-Toolbox's MACC: the largest ``|Pearson r|`` between ``pred`` and ``ref``
        circularly shifted by 0 .. N-2 samples (both cut to the shorter length).

        Computed as one circular cross-correlation by FFT (O(N log N)); the toolbox
        loops over lags (O(N^2)) and gives the same value.
        """
        return macc(pred, ref)

    def evaluate(self, pred: Any, ref: Any, fs: float, diff: bool = False) -> dict[str, float]:
        """``calculate_metric_per_video``: heart rates of prediction and reference, the
        prediction's SNR at the reference's rate, and MACC, all on processed signals."""
        p = self.process(pred, fs, diff=diff)
        r = self.process(ref, fs, diff=diff)
        fs = check_fs(fs)
        band = self._band(None, fs)
        hr_pred = float(self.window_rates(np.atleast_2d(p), fs, band)[0] * 60.0)
        hr_ref = float(self.window_rates(np.atleast_2d(r), fs, band)[0] * 60.0)
        return {
            "hr_pred_bpm": hr_pred,
            "hr_ref_bpm": hr_ref,
            "snr_db": self.snr(p, fs, hr_ref),
            "macc": self.macc(p, r),
        }


class Gideon2021(_Pipeline):
    """Gideon & Stent (ICCV 2021)'s heart-rate estimator (see the module docs).

    Args:
        band_hz: search band, 40-250 bpm as in the paper.
        pad_factor: total length / signal length after zero-padding (101).
    """

    name = "gideon2021"

    def __init__(self, band_hz: tuple[float, float] = DEFAULT_BAND_HZ, pad_factor: int = 101):
        if int(pad_factor) != pad_factor or pad_factor < 1 or pad_factor % 2 == 0:
            raise ConfigError(f"gideon2021 preset: pad_factor={pad_factor!r} must be an odd positive integer")
        self.band_hz = check_band(band_hz)
        self.pad_factor = int(pad_factor)

    def process(self, pulse: Any, fs: float, diff: bool = False, band_hz: Any = None) -> np.ndarray:
        """Cumulative sum (``diff``) and mean removal."""
        x, fs, _ = self._prepare(pulse, fs, band_hz)
        y = _integrate(x, diff)
        return y - y.mean(axis=-1, keepdims=True)

    def window_rates(self, y: np.ndarray, fs: float, band: tuple[float, float]) -> np.ndarray:
        n = y.shape[-1]
        nfft = self.pad_factor * n
        freqs = np.fft.fftfreq(nfft, 1.0 / fs)[: nfft // 2]
        inside = np.flatnonzero((freqs >= band[0]) & (freqs <= band[1]))
        if inside.size < 2:
            raise SignalError(f"fewer than 2 spectral bins inside {band[0]:.3g}-{band[1]:.3g} Hz")
        f = freqs[inside]
        df = f[1] - f[0]
        out = np.empty(y.shape[0])
        for i, row in enumerate(y):  # one row at a time: 101x padding is large
            spec = np.fft.rfft(row, n=nfft)[inside]
            p = spec.real**2 + spec.imag**2
            k = int(np.argmax(p))
            if 0 < k < p.size - 1:
                d1, d2 = p[k] - p[k - 1], p[k] - p[k + 1]
                big = max(d1, d2)
                offset = (1.0 - min(d1, d2) / big) * df if big > 0 else 0.0
                out[i] = f[k] - offset if d2 > d1 else f[k] + offset
            elif k == 0:
                out[i] = f[0] + p[1] / (p[0] + p[1]) * df
            else:
                out[i] = f[-2] + p[-1] / (p[-2] + p[-1]) * df
        return out


PRESETS: dict[str, type] = {"default": Default, "rppg-toolbox": RppgToolbox, "gideon2021": Gideon2021}


def presets() -> list[str]:
    """Names of the post-processing presets."""
    return sorted(PRESETS)


def get_preset(preset: Any = None, **options: Any) -> Any:
    """The preset called ``preset`` (``None``: ``default``) built with ``options``, or
    ``preset`` itself when it already is a preset object."""
    if preset is None:
        preset = "default"
    if not isinstance(preset, str):
        if options:
            raise ConfigError("options can only be given with a preset name, not a preset object")
        for attr in ("process", "window_rates", "heart_rate", "hr_over_time"):
            if not callable(getattr(preset, attr, None)):
                raise ConfigError(f"{preset!r} is not a preset: it has no {attr}() method")
        return preset
    cls = PRESETS.get(preset)
    if cls is None:
        raise ConfigError(
            f"unknown signal preset '{preset}'{did_you_mean(preset, PRESETS)} "
            f"(presets: {', '.join(presets())})"
        )
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError(f"signal preset '{preset}': {exc}") from None
