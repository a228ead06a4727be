"""The identity sampler: the video passes unchanged.

Sampler interface (every sampler plugin): an ``nn.Module`` with
``forward(x) -> x'`` of shape (B, C, T, H, W) -> (B, C, T, H, W), a method
``regularization() -> Tensor`` (a scalar the trainer adds to the loss) and an attribute
``last_saliency``: the last forward's saliency maps (B, T, h, w), detached, or None.
"""

from __future__ import annotations

import torch
from torch import nn

from pulsecl.errors import SignalError

__all__ = ["IdentitySampler"]


class IdentitySampler(nn.Module):
    """No resampling.  Shape: (B, C, T, H, W) -> (B, C, T, H, W), the same tensor."""

    last_saliency: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise SignalError(f"samplers take video (B, C, T, H, W), got shape {tuple(x.shape)}")
        return x

    def regularization(self) -> torch.Tensor:
        """Always 0 (a scalar tensor)."""
        return torch.zeros(())
