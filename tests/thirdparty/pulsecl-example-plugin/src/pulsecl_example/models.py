"""The example plugin's components (imported only when built)."""

import torch
from torch import nn


class GreenMean(nn.Module):
    """Green-channel spatial mean, then a learnt temporal filter.

    Shape: (B, C, T, H, W) -> (B, T).
    """

    def __init__(self, taps: int = 5):
        super().__init__()
        self.filter = nn.Conv1d(1, 1, taps, padding=taps // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = x[:, 1].mean(dim=(-2, -1))  # (B, T)
        g = g / g.mean(dim=1, keepdim=True).clamp_min(1e-6) - 1.0
        return self.filter(g.unsqueeze(1)).squeeze(1)


class Smoothness(nn.Module):
    """Mean squared first difference of ``inputs["signal"]`` (B, T)."""

    requires = ("signal",)

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = scale

    def forward(self, inputs: dict) -> torch.Tensor:
        y = inputs["signal"]
        return self.scale * (y[:, 1:] - y[:, :-1]).pow(2).mean()
