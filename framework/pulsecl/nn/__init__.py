"""Torch building blocks shared by the core and the built-in plugins.

* :mod:`pulsecl.nn.spectral`: power spectra of signals with a per-sample frame rate,
  band cutting and normalisation, resampling spectra onto a common frequency grid, and
  anti-aliased temporal resampling of video and signals.
* :mod:`pulsecl.nn.norm`: per-sample input normalisation of video (``InputNorm``:
  zscore, temporal, chromatic, none), shared by the built-in backbones.

Importing this package imports torch; the CLI and the plugin loader never do.
"""
