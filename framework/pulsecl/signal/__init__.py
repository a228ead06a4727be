"""Signal maths for rPPG: heart rate, signal quality, post-processing presets, plots.

* :mod:`pulsecl.signal.processing`: detrending, band-pass, spectra, heart rate from the
  spectral peak or from beats, heart rate over time, HRV.
* :mod:`pulsecl.signal.quality`: SNR and IPR signal-quality indices.
* :mod:`pulsecl.signal.presets`: named post-processing pipelines (``default``,
  ``rppg-toolbox``, ``gideon2021``).
* :mod:`pulsecl.signal.api`: :func:`rgb_to_pulse` and :func:`heart_rate`, also exposed
  as ``pulsecl.rgb_to_pulse`` and ``pulsecl.heart_rate``.
* :mod:`pulsecl.signal.plots`: scatter and Bland-Altman figures (PNG).

Frequencies are in Hz inside the code and every function takes the sampling rate.
"""

from pulsecl.signal.processing import (
    DEFAULT_BAND_HZ,
    HRV,
    bandpass,
    detect_peaks,
    detrend,
    hr_from_peaks,
    hr_over_time,
    hrv,
    inter_beat_intervals,
    power_spectrum,
    spectral_peak_hz,
)

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
