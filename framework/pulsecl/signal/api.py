"""pulsecl's two-line API: RGB trace -> pulse, pulse -> heart rate.

    >>> import pulsecl
    >>> pulse = pulsecl.rgb_to_pulse(trace, fs=30.0, method="pos")   # (T, 3) -> (T,)
    >>> pulsecl.heart_rate(pulse, fs=30.0)                           # bpm
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulsecl.errors import SignalError
from pulsecl.signal.presets import get_preset

__all__ = ["heart_rate", "rgb_to_pulse"]


class _DefaultBand(tuple):
    """The default ``band_bpm``: tells "not given" (use the preset's band) from an
    explicit ``(40, 250)``."""


_DEFAULT_BAND_BPM = _DefaultBand((40, 250))


def rgb_to_pulse(trace: Any, fs: float, method: str = "pos", **options: Any) -> np.ndarray:
    """Pulse signal from an RGB trace with a classical method.

    Builds ``pulsecl.build("classical_methods", method, **options)`` and applies it.

    Args:
        trace: mean skin colour per frame, ``(T, 3)`` RGB, any positive scale.
        fs: frame rate in Hz.
        method: ``green``, ``ica``, ``chrom``, ``pbv``, ``pos``, ``lgi``, ``omit`` or a
            plugin's method.
        options: the method's options (e.g. ``window_s=1.6``).

    Returns:
        The pulse ``(T,)``, rising with blood volume.
    """
    from pulsecl import build

    return np.asarray(build("classical_methods", method, **options)(trace, fs))


def heart_rate(
    pulse: Any,
    fs: float,
    preset: Any = None,
    diff: bool = False,
    band_bpm: tuple[float, float] = _DEFAULT_BAND_BPM,
) -> float:
    """Heart rate in bpm of a pulse signal.

    Args:
        pulse: ``(T,)`` (a float comes back) or ``(B, T)`` (an array ``(B,)``).
        fs: sampling rate in Hz.
        preset: ``None``/``"default"``, ``"rppg-toolbox"``, ``"gideon2021"`` (see
            :mod:`pulsecl.signal.presets`), or a preset object.
        diff: the signal is a first difference of the pulse (integrated first).
        band_bpm: heart-rate band in bpm.  Left at its default, each preset uses its
            own band (40-250 bpm; rppg-toolbox 0.6-3.3 Hz = 36-198 bpm, part of what
            it reproduces); given explicitly, it overrides the preset's.

    Raises:
        SignalError: NaN/constant/too short a signal, a sampling rate too low for the
            band.
    """
    p = get_preset(preset)
    if band_bpm is _DEFAULT_BAND_BPM:
        band_hz = None
    else:
        try:
            low, high = (float(v) for v in band_bpm)
        except (TypeError, ValueError):
            raise SignalError(f"band_bpm={band_bpm!r} must be a pair (low, high) in bpm") from None
        band_hz = (low / 60.0, high / 60.0)
    return p.heart_rate(pulse, fs, diff=bool(diff), band_hz=band_hz)
