"""Signal maths for rPPG: heart rate, signal quality, post-processing presets, plots.

* :mod:`pulsecl.signal.processing`: detrending, band-pass, spectra, heart rate from the
  spectral peak or from beats, heart rate over time, HRV.
* :mod:`pulsecl.signal.quality`: SNR and IPR signal-quality indices.
* :mod:`pulsecl.signal.presets`: named post-processing pipelines (``default``,
  ``rppg-toolbox``, ``gideon2021``).
* :mod:`pulsecl.signal.api`: :func:`rgb_to_pulse` and :func:`heart_rate`, also exposed
  as ``pulsecl.rgb_to_pulse`` and ``pulsecl.heart_rate``.
* :mod:`pulsecl.signal.plots`: scatter and Bland-Altman figures (PNG).

* :mod:`pulsecl.signal.analysis`: the one heart-rate analysis of a pulse (windows,
  tracking, the recording's rate, quality) that predict, evaluate, bench and live share.
* :mod:`pulsecl.signal.common`: the band, window layout, peak refinement, Pearson r.

Frequencies are in Hz inside the code and every function takes the sampling rate.
The names below load :mod:`pulsecl.signal.processing` (and scipy) on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DEFAULT_BAND_HZ",
    "HRV",
    "bandpass",
    "detect_peaks",
    "detrend",
    "hr_from_peaks",
    "hr_over_time",
    "hrv",
    "inter_beat_intervals",
    "power_spectrum",
    "spectral_peak_hz",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("pulsecl.signal.processing"), name)
    raise AttributeError(f"module 'pulsecl.signal' has no attribute '{name}'")
