"""Torch building blocks shared by the core and the built-in plugins.

* :mod:`pulsecl.nn.spectral`: power spectra of signals with a per-sample frame rate,
  band cutting and normalisation, resampling spectra onto a common frequency grid, and
  anti-aliased temporal resampling of video and signals.
* :mod:`pulsecl.nn.norm`: per-sample input normalisation of video (``InputNorm``:
  zscore, temporal, chromatic, none), shared by the built-in backbones.
* :mod:`pulsecl.nn.layout`: the channels-last 3-D layout for the 5-D weights of a
  model that may also hold 2-D layers.

Importing this package imports torch; the CLI and the plugin loader never do.
"""
