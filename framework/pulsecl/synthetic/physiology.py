"""Synthetic physiology: heart rate, beats, respiration and the blood-volume pulse.

The pulse is built beat by beat, so it has what real photoplethysmograms have and a
sinusoid lacks:

* a heart rate that drifts slowly (band-limited random walk around a mean),
* respiratory sinus arrhythmia (HR rises on inspiration) and beat-to-beat variability
  (each inter-beat interval jittered on its own), after the ECG model of McSharry et al.,
  "A dynamical model for generating synthetic electrocardiogram signals", IEEE TBME 2003,
  which couples RR intervals to respiration in the same way,
* a waveform with a fast systolic upstroke and peak, a dicrotic notch and a diastolic
  wave (a sum of two Gaussian waves per beat, as in the two-Gaussian PPG models reviewed
  by Tang et al., "PPGSynth", Physiol. Meas. 2020),
* respiratory modulation of the baseline (RIIV) and of the pulse amplitude (RIAV)
  (Charlton et al., "Breathing rate estimation from the ECG and PPG", Physiol. Meas.
  2016).

Times are in seconds and frequencies in Hz; heart rates are in bpm only in
:class:`PhysiologyParams` (the edge a user sets).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["PhysiologyParams", "Physiology", "pulse_shape", "sample_params", "simulate"]


@dataclass
class PhysiologyParams:
    """What one synthetic subject's heart and lungs do (saved in params.json)."""

    hr_bpm: float = 72.0  # mean heart rate, bpm
    hr_drift_bpm: float = 4.0  # std of the slow heart-rate drift, bpm
    hr_drift_hz: float = 0.02  # bandwidth of that drift, Hz
    hrv: float = 0.03  # beat-to-beat jitter: std of each RR interval / RR
    rsa_bpm: float = 3.0  # respiratory sinus arrhythmia: HR swing with breathing, bpm
    resp_hz: float = 0.25  # breathing rate, Hz
    riiv: float = 0.15  # respiratory baseline wander, fraction of the pulse amplitude
    riav: float = 0.1  # respiratory amplitude modulation, fraction
    notch_depth: float = 0.45  # diastolic wave height / systolic peak height
    systole_width: float = 0.07  # width of the systolic wave, fraction of a beat
    diastole_delay: float = 0.22  # diastolic wave after the systolic peak, fraction of a beat

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass
class Physiology:
    """A simulated pulse sampled at times ``t`` (N,) seconds.

    ``ppg`` (N,): blood-volume pulse, zero mean, unit std, systolic peaks up.
    ``hr_bpm`` (N,): instantaneous heart rate (60 / the RR interval in progress).
    ``beats`` (K,): times of the systolic onsets.  ``resp`` (N,): respiration in [-1, 1].
    """

    t: np.ndarray
    ppg: np.ndarray
    hr_bpm: np.ndarray
    beats: np.ndarray
    resp: np.ndarray


def pulse_shape(phase: np.ndarray, params: PhysiologyParams) -> np.ndarray:
    """One beat of the waveform at ``phase`` in [0, 1) (any shape), unnormalised.

    A systolic Gaussian wave peaking at phase 0.2 and a smaller, wider diastolic wave
    ``diastole_delay`` later; the dip between them is the dicrotic notch.  The Gaussians
    are wrapped around the beat so the waveform is continuous from beat to beat.
    """
    p_sys = 0.2
    p_dia = p_sys + params.diastole_delay
    w_sys = params.systole_width
    w_dia = params.systole_width * 1.6
    out = np.zeros_like(phase, dtype=np.float64)
    for shift in (-1.0, 0.0, 1.0):
        out += np.exp(-0.5 * ((phase - p_sys + shift) / w_sys) ** 2)
        out += params.notch_depth * np.exp(-0.5 * ((phase - p_dia + shift) / w_dia) ** 2)
    return out


def sample_params(
    rng: np.random.Generator, hr_range_bpm: tuple[float, float] = (40.0, 180.0)
) -> PhysiologyParams:
    """Draw a subject: mean HR uniform in ``hr_range_bpm`` and plausible variability."""
    lo, hi = hr_range_bpm
    return PhysiologyParams(
        hr_bpm=float(rng.uniform(lo, hi)),
        hr_drift_bpm=float(rng.uniform(1.0, 6.0)),
        hr_drift_hz=float(rng.uniform(0.01, 0.04)),
        hrv=float(rng.uniform(0.01, 0.05)),
        rsa_bpm=float(rng.uniform(1.0, 5.0)),
        resp_hz=float(rng.uniform(0.15, 0.4)),
        riiv=float(rng.uniform(0.05, 0.25)),
        riav=float(rng.uniform(0.05, 0.2)),
        notch_depth=float(rng.uniform(0.3, 0.6)),
        systole_width=float(rng.uniform(0.055, 0.085)),
        diastole_delay=float(rng.uniform(0.18, 0.26)),
    )


def _slow_noise(rng: np.random.Generator, t: np.ndarray, bandwidth_hz: float) -> np.ndarray:
    """Zero-mean, unit-std random signal on ``t`` with power below ``bandwidth_hz``.

    A sum of sinusoids with random phases at frequencies up to the bandwidth: smooth,
    cheap, and defined at any time.
    """
    n = 8
    freqs = rng.uniform(0.1, 1.0, n) * bandwidth_hz
    phases = rng.uniform(0.0, 2 * np.pi, n)
    amps = rng.rayleigh(1.0, n)
    sig = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None])).sum(0)
    return sig / np.sqrt(0.5 * (amps**2).sum())


def simulate(
    t: np.ndarray,
    params: PhysiologyParams,
    rng: np.random.Generator,
    hr_limits_bpm: tuple[float, float] = (35.0, 200.0),
) -> Physiology:
    """Simulate the pulse at sample times ``t`` (N,) seconds, increasing.

    Beats are placed one after the other: each RR interval is 60 / HR(t) from the
    drifting, breathing-modulated heart rate, times (1 + hrv * N(0, 1)).  The pulse phase
    runs linearly from 0 to 1 between consecutive beats and goes through
    :func:`pulse_shape`; respiration then modulates baseline and amplitude.
    """
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError("simulate: t must be a 1-D increasing array of at least 2 times")
    t0, t1 = float(t[0]), float(t[-1])
    resp_phase0 = rng.uniform(0, 2 * np.pi)
    resp_of = lambda tt: np.sin(2 * np.pi * params.resp_hz * tt + resp_phase0)  # noqa: E731

    # Heart rate on a fine control grid, then the beats.
    grid = np.arange(t0 - 2.0, t1 + 4.0, 0.05)
    hr = params.hr_bpm + params.hr_drift_bpm * _slow_noise(rng, grid, params.hr_drift_hz)
    hr = hr + params.rsa_bpm * resp_of(grid)
    hr = np.clip(hr, *hr_limits_bpm)
    beats = [grid[0]]
    while beats[-1] < t1 + 2.0:
        rr = 60.0 / float(np.interp(beats[-1], grid, hr))
        rr *= max(1.0 + params.hrv * rng.standard_normal(), 0.5)
        beats.append(beats[-1] + rr)
    beats_a = np.asarray(beats)

    k = np.clip(np.searchsorted(beats_a, t, side="right") - 1, 0, len(beats_a) - 2)
    rr_now = beats_a[k + 1] - beats_a[k]
    phase = (t - beats_a[k]) / rr_now
    resp = resp_of(t)
    wave = pulse_shape(phase, params)
    ref = pulse_shape(np.linspace(0, 1, 256, endpoint=False), params)
    wave = (wave - ref.mean()) / ref.std()
    ppg = wave * (1.0 + params.riav * resp) + params.riiv * resp
    ppg = (ppg - ppg.mean()) / max(float(ppg.std()), 1e-12)
    inside = (beats_a >= t0) & (beats_a <= t1)
    return Physiology(t=t, ppg=ppg, hr_bpm=60.0 / rr_now, beats=beats_a[inside], resp=resp)
