"""Synthetic RGB traces with a known pulse, after the skin reflection model.

W. Wang, A. C. den Brinker, S. Stuijk, G. de Haan, "Algorithmic principles of remote
PPG", IEEE TBME 64(7), 2017, Section II: the colour of a skin pixel is

    C(t) = I(t) * (u_s (s0 + s(t)) + u_d d0 + u_p p(t)) + n(t)

with ``I`` the light intensity (slow drift, slow fluctuation, optional broadband
flicker), ``u_s`` the light's colour (specular reflection, here white), ``u_d d0`` the
skin's colour (depends on skin tone), ``u_p p(t)`` the pulse: the skin darkens, along a
skin-tone-dependent direction, when blood volume ``p`` rises, and ``n`` sensor noise.

Used by the signal and classical-method tests (and by benchmarks/hr_presets.py); test
files outside tests/signal put this folder on sys.path to import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LIGHT_SKIN = np.array([0.78, 0.57, 0.47])
DARK_SKIN = np.array([0.42, 0.27, 0.19])
# Relative pulse amplitude per channel (normalised colour change per unit blood volume);
# darker skin absorbs more in blue/green, shifting the direction a little.
LIGHT_PULSE_DIR = np.array([0.33, 0.77, 0.53])
DARK_PULSE_DIR = np.array([0.42, 0.76, 0.45])


@dataclass
class Trace:
    rgb: np.ndarray  # (T, 3)
    pulse: np.ndarray  # (T,) blood-volume pulse, zero mean, unit peak
    fs: float
    hr_bpm: float


def pulse_wave(hr_bpm: float, fs: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """A PPG-like wave at ``hr_bpm``: fundamental plus a weaker second harmonic."""
    t = np.arange(n) / fs
    f = hr_bpm / 60.0
    phase = 2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)
    wave = np.sin(phase) + 0.3 * np.sin(2 * phase + 0.8)
    return wave / np.max(np.abs(wave))


def _smooth_noise(n: int, fs: float, cutoff_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise low-passed at ``cutoff_hz`` (moving average), unit std."""
    width = max(1, int(round(fs / cutoff_hz)))
    x = np.convolve(rng.standard_normal(n + width), np.ones(width) / width, mode="valid")[:n]
    return (x - x.mean()) / x.std()


def skin_trace(
    hr_bpm: float,
    fs: float,
    duration_s: float = 20.0,
    *,
    skin_tone: float = 0.3,
    pulse_amp: float = 0.004,
    intensity_noise: float = 0.001,
    specular_noise: float = 0.001,
    drift: float = 0.05,
    flicker: float = 0.0,
    sensor_noise: float = 3e-4,
    seed: int = 0,
) -> Trace:
    """An RGB trace ``(T, 3)`` in [0, 1] carrying a pulse at ``hr_bpm``.

    Args:
        skin_tone: 0 (light) .. 1 (dark): skin colour and pulse direction.
        pulse_amp: relative colour change at the pulse peak (0.4 % by default).
        intensity_noise: std of slow (< 1 Hz) relative intensity fluctuation.
        specular_noise: std of slow (< 1 Hz) specular change, white light.
        drift: amplitude of the slow illumination drift (linear + 0.03-Hz sinusoid).
        flicker: std of broadband (white) relative intensity flicker.
        sensor_noise: std of white noise per channel.
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fs))
    t = np.arange(n) / fs
    skin = (1 - skin_tone) * LIGHT_SKIN + skin_tone * DARK_SKIN
    direction = (1 - skin_tone) * LIGHT_PULSE_DIR + skin_tone * DARK_PULSE_DIR
    p = pulse_wave(hr_bpm, fs, n, rng)
    intensity = (
        1.0
        + drift * (t / duration_s - 0.5)
        + drift * np.sin(2 * np.pi * 0.03 * t + rng.uniform(0, 2 * np.pi))
        + intensity_noise * _smooth_noise(n, fs, 1.0, rng)
        + flicker * rng.standard_normal(n)
    )
    specular = 0.05 + specular_noise * _smooth_noise(n, fs, 1.0, rng)
    diffuse = skin[None, :] * (1.0 - pulse_amp * direction[None, :] * p[:, None])
    rgb = intensity[:, None] * (specular[:, None] * np.ones(3)[None, :] + diffuse)
    rgb = rgb + sensor_noise * rng.standard_normal((n, 3))
    return Trace(rgb=rgb, pulse=p, fs=float(fs), hr_bpm=float(hr_bpm))


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise of ``n`` samples whose power falls as 1/f (its spectrum's
    amplitude as 1/sqrt(f)): the slow drift and low-frequency noise of real traces."""
    f = np.fft.rfftfreq(n)
    spec = rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    x = np.fft.irfft(spec, n)
    return x / x.std()
