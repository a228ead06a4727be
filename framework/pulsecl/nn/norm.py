"""Per-sample input normalisation of video, shared by the built-in backbones.

A backbone normalises its own input (the plugin interface: video in [0, 1] in, pulse
out).  :class:`InputNorm` offers the normalisations the built-ins use, per sample, with
no statistics kept between calls (the same in training and evaluation, and the same on
one rank as on many):

* ``"zscore"``: the clip minus its mean, over its standard deviation (one mean and one
  deviation over all of C, T, H, W); PhysNet's in Gideon & Stent (ICCV 2021).
* ``"temporal"``: per pixel and channel, ``x / mean_over_time(x) - 1``: the relative
  change of each pixel's colour, which is what the pulse modulates.  Its first
  difference along time is, to first order, the normalised frame difference
  ``(c(t+1) - c(t)) / (c(t+1) + c(t))`` of DeepPhys and TS-CAN (times two).
* ``"chromatic"``: per pixel, the chromaticity ``x / sum_over_channels(x)`` and then its
  relative change over time as in ``"temporal"``.  Brightness changes that scale all
  three channels alike (shading from head motion, illumination drift) cancel; the
  pulse, which changes the colour, stays.
* ``"none"``: the input as given.

Shape: (B, C, T, H, W) -> (B, C, T, H, W).
"""

from __future__ import annotations

import torch
from torch import nn

from pulsecl.errors import ConfigError

__all__ = ["NORMS", "InputNorm"]

#: The input normalisations :class:`InputNorm` offers.
NORMS = ("zscore", "temporal", "chromatic", "none")


class InputNorm(nn.Module):
    """Per-sample input normalisation (module docstring).

    Args:
        kind: one of :data:`NORMS`.
        eps: floor of the denominators.
        owner: the backbone's name, for the error message of a bad ``kind``.

    Shape: (B, C, T, H, W) -> (B, C, T, H, W).
    """

    def __init__(self, kind: str = "temporal", eps: float = 1e-3, owner: str = "backbone"):
        super().__init__()
        if kind not in NORMS:
            raise ConfigError(f"{owner} norm = {kind!r}: use one of {', '.join(NORMS)}")
        self.kind = kind
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "zscore":
            mean = x.mean(dim=(1, 2, 3, 4), keepdim=True)  # (B, 1, 1, 1, 1)
            std = x.std(dim=(1, 2, 3, 4), keepdim=True)
            return (x - mean) / (std + self.eps)
        if self.kind == "chromatic":
            x = x / x.sum(dim=1, keepdim=True).clamp_min(self.eps)  # (B, C, T, H, W) chromaticity
        if self.kind in ("temporal", "chromatic"):
            mean_t = x.mean(dim=2, keepdim=True).clamp_min(self.eps)  # (B, C, 1, H, W)
            return x / mean_t - 1.0
        return x

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"
