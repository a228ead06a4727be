"""Motion augmentation: the same clip with synthetic periodic head motion added.

The frequency-contrast proxy task rewards *any* periodic signal that scales with
resampling, so a model trained on it follows periodic head motion inside the heart-rate
band as readily as the pulse (docs/background.md; ``benchmarks/proof_selfsupervised.py``).  This
view generator makes a second copy of each anchor clip that moves: every frame is shifted
by a sub-pixel translation ``d(t) = a sin(2 pi f t + phi) (cos theta, sin theta)`` with,
per sample, ``f`` drawn in ``band_bpm``, ``a ~ U[0, amplitude]`` (a fraction of the crop
side), a random phase ``phi`` and a random direction ``theta``.  The pulse is left as it
was, so the backbone's signal for the moving copy should equal its signal for the clip;
the ``invariance`` loss (:mod:`pulsecl_losses.consistency`) asks for that, which teaches
the model to ignore motion without a label.

Interface (stage ``"augment"``)::

    gen = MotionAugment(amplitude=0.06, band_bpm=(42, 210))
    x_aug = gen(x, fs, generator=None)

* ``x`` (B, C, T, H, W) video; ``fs`` frame rate, float or (B,) tensor, Hz;
  ``generator`` an optional CPU ``torch.Generator`` for the draws.
* ``x_aug``: same shape, dtype and device as ``x``.  The trainer runs the sampler and the
  backbone on it and hands the result to the losses as ``"augmented"`` (B, T).

:meth:`MotionAugment.draw` gives the displacements (B, T, 2) in pixels and
:meth:`MotionAugment.shift` applies given displacements, for tests and for users who want
their own motion model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from pulsecl.errors import ConfigError, SignalError
from pulsecl.nn.spectral import as_fs, band_hz

__all__ = ["MotionAugment"]

_PADDING = ("border", "reflection", "zeros")


class MotionAugment:
    """Sub-pixel periodic translation of every frame (module docstring).

    Args:
        amplitude: largest displacement, a fraction of the crop side (0.06 of 32 pixels
            is about 2 pixels); each sample draws its own in ``[0, amplitude]``.
        band_bpm: ``(low, high)`` of the motion frequency, per minute; drawn uniformly.
        padding: what fills the edge that a shift uncovers: ``"border"`` (repeat the edge
            pixel), ``"reflection"`` or ``"zeros"``.
    """

    stage = "augment"

    def __init__(
        self,
        amplitude: float = 0.06,
        band_bpm: Sequence[float] = (42.0, 210.0),
        padding: str = "border",
    ):
        if isinstance(amplitude, bool) or not isinstance(amplitude, (int, float)) or not 0.0 <= amplitude <= 0.5:
            raise ConfigError(
                f"motion amplitude = {amplitude!r}: give the largest shift as a fraction of "
                "the crop side in [0, 0.5] (e.g. 0.06)"
            )
        if padding not in _PADDING:
            raise ConfigError(f"motion padding = {padding!r}: use one of {', '.join(_PADDING)}")
        self.amplitude = float(amplitude)
        self.band = band_hz(band_bpm)
        self.padding = padding

    def __repr__(self) -> str:
        return (
            f"MotionAugment(amplitude={self.amplitude:g}, band_bpm=({self.band[0] * 60:g}, "
            f"{self.band[1] * 60:g}), padding={self.padding!r})"
        )

    def draw(
        self, batch: int, frames: int, fs: torch.Tensor, size: tuple[int, int], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Displacements (B, T, 2) in pixels, ``[..., 0]`` along x (width), ``[..., 1]`` along y."""
        lo, hi = self.band
        u = torch.rand(batch, 4, generator=generator, dtype=torch.float64)  # (B, 4)
        freq = lo + (hi - lo) * u[:, 0]  # (B,) Hz
        amp = self.amplitude * u[:, 1] * min(size)  # (B,) pixels
        phase = 2 * math.pi * u[:, 2]
        theta = 2 * math.pi * u[:, 3]
        t = torch.arange(frames, dtype=torch.float64)[None] / fs.detach().cpu().double()[:, None]  # (B, T) s
        d = amp[:, None] * torch.sin(2 * math.pi * freq[:, None] * t + phase[:, None])  # (B, T)
        return torch.stack([d * torch.cos(theta)[:, None], d * torch.sin(theta)[:, None]], dim=-1)

    def shift(self, x: torch.Tensor, displacement: torch.Tensor) -> torch.Tensor:
        """Move frame t of sample b by ``displacement[b, t]`` pixels (x, y); bilinear."""
        b, c, t, h, w = x.shape
        if tuple(displacement.shape) != (b, t, 2):
            raise SignalError(
                f"motion displacement must be ({b}, {t}, 2) for video {tuple(x.shape)}, "
                f"got {tuple(displacement.shape)}"
            )
        d = displacement.to(device=x.device, dtype=torch.float32).reshape(b * t, 2)
        theta = torch.zeros(b * t, 2, 3, device=x.device, dtype=torch.float32)
        theta[:, 0, 0] = 1.0
        theta[:, 1, 1] = 1.0
        # affine_grid samples the input at output + offset, in [-1, 1] units: moving the
        # content by +d pixels samples at -d.
        theta[:, 0, 2] = -d[:, 0] * 2.0 / w
        theta[:, 1, 2] = -d[:, 1] * 2.0 / h
        frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        grid = F.affine_grid(theta, [b * t, c, h, w], align_corners=False)
        moved = F.grid_sample(frames.float(), grid, mode="bilinear", padding_mode=self.padding, align_corners=False)
        return moved.to(x.dtype).reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4)

    def __call__(
        self, x: torch.Tensor, fs: float | torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        if x.dim() != 5:
            raise SignalError(f"motion augmentation takes video (B, C, T, H, W), got shape {tuple(x.shape)}")
        b, _, t, h, w = x.shape
        fs_t = as_fs(fs, b, device=x.device)
        return self.shift(x, self.draw(b, t, fs_t, (h, w), generator))
