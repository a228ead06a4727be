"""The identity and saliency samplers."""

from __future__ import annotations

import math

import pytest
import torch

import pulsecl
from pulsecl.errors import ConfigError


class FixedLogits(torch.nn.Module):
    """Stands in for the saliency CNN: the same logits (g*g,) for every frame, or one
    row per frame when given (N, g*g)."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, frames):
        if self.logits.dim() == 1:
            return self.logits.expand(frames.shape[0], -1)
        return self.logits


def saliency(grid=8, **options):
    torch.manual_seed(0)
    return pulsecl.build("samplers", "saliency", grid_size=grid, **options)


def test_identity_sampler_passes_video_unchanged():
    sampler = pulsecl.build("samplers", "identity")
    x = torch.rand(2, 3, 5, 8, 8)
    assert sampler(x) is x
    assert float(sampler.regularization().detach()) == 0.0
    assert sampler.last_saliency is None


def test_new_saliency_sampler_is_the_identity():
    """The CNN's last layer starts at zero: a uniform map, hence the identity grid."""
    sampler = saliency()
    x = torch.rand(2, 3, 4, 16, 12)
    assert torch.allclose(sampler(x), x, atol=1e-5)
    assert torch.allclose(sampler.last_saliency, torch.full((2, 4, 8, 8), 1 / 64))


@pytest.mark.parametrize("grid, sigma", [(4, None), (8, 1.0), (16, 6.0)])
def test_uniform_saliency_is_the_identity_for_any_kernel(grid, sigma):
    sampler = saliency(grid, sigma=sigma)
    sampler.net = FixedLogits(torch.full((grid * grid,), 3.7))  # constant logits -> uniform
    x = torch.rand(1, 3, 3, 20, 20)
    assert torch.allclose(sampler(x), x, atol=1e-5)
    coarse = sampler.sampling_grid(torch.full((1, grid, grid), 1 / grid**2))
    line = torch.linspace(-1, 1, grid)
    assert torch.allclose(coarse[0, :, :, 0], line.expand(grid, grid), atol=1e-6)  # x along width
    assert torch.allclose(coarse[0, :, :, 1], line[:, None].expand(grid, grid), atol=1e-6)


def test_gaussian_kernel_is_a_fixed_buffer():
    sampler = saliency(sigma=2.0)
    names = dict(sampler.named_parameters())
    assert not any("kernel" in n for n in names)
    assert "kernel" in dict(sampler.named_buffers())
    kernel = sampler.kernel
    assert not kernel.requires_grad
    radius = (kernel.numel() - 1) // 2
    d = torch.arange(-radius, radius + 1, dtype=torch.float32)
    expected = torch.exp(-0.5 * (d / 2.0) ** 2)
    assert torch.allclose(kernel, expected / expected.sum(), atol=1e-6)
    torch.nn.init.normal_(sampler.net.to_logit.weight)
    out = sampler(torch.rand(1, 3, 3, 16, 16))
    (out.sum() + sampler.regularization()).backward()
    assert sampler.kernel.grad is None
    assert sampler.net.to_logit.weight.grad is not None


def test_salient_corner_attracts_sampling_points():
    """Mass in the top-left cell pulls the sampling grid towards (-1, -1): that corner
    is magnified."""
    sampler = saliency(8, sigma=2.0)
    s = torch.full((1, 8, 8), 1.0)
    s[0, 0, 0] = 200.0
    s = s / s.sum()
    grid = sampler.sampling_grid(s)  # (1, 8, 8, 2)
    assert float(grid[..., 0].mean()) < -0.05 and float(grid[..., 1].mean()) < -0.05
    uniform = sampler.sampling_grid(torch.full((1, 8, 8), 1 / 64))
    assert torch.all(grid[0, :4, :4] <= uniform[0, :4, :4] + 1e-6)


def test_regularisers_against_known_maps():
    g = 4
    sampler = saliency(g, sparsity_weight=0.5, smoothness_weight=0.25)
    # frame 0: almost one-hot at cell 0; frame 1: almost one-hot at cell 5; frame 2 = frame 0
    logits = torch.full((3, g * g), -50.0)
    logits[0, 0] = logits[1, 5] = logits[2, 0] = 50.0
    sampler.net = FixedLogits(logits)
    sampler(torch.rand(1, 3, 3, 8, 8))
    assert float(sampler.sparsity().detach()) == pytest.approx(0.0, abs=1e-4)
    assert float(sampler.smoothness().detach()) == pytest.approx(1.0, abs=1e-4)  # disjoint maps
    assert float(sampler.regularization().detach()) == pytest.approx(0.5 * 0 + 0.25 * 1.0, abs=1e-4)
    # uniform maps, still: entropy is maximal (1), change is 0
    sampler.net = FixedLogits(torch.zeros(g * g))
    sampler(torch.rand(1, 3, 3, 8, 8))
    assert float(sampler.sparsity().detach()) == pytest.approx(1.0, abs=1e-6)
    assert float(sampler.smoothness().detach()) == pytest.approx(0.0, abs=1e-7)


def test_entropy_regulariser_matches_a_hand_computation():
    g = 2
    sampler = saliency(g, sparsity_weight=1.0, smoothness_weight=0.0)
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    sampler.net = FixedLogits(logits)
    sampler(torch.rand(1, 3, 1, 4, 4))
    p = torch.softmax(logits[0].double(), 0)
    entropy = float(-(p * p.log()).sum() / math.log(4))
    assert float(sampler.regularization().detach()) == pytest.approx(entropy, rel=1e-5)


def test_regularisers_are_on_by_default_and_saliency_is_kept_for_plots():
    sampler = pulsecl.build("samplers", "saliency")
    assert sampler.sparsity_weight > 0 and sampler.smoothness_weight > 0
    assert float(sampler.regularization().detach()) == 0.0  # nothing seen yet
    sampler(torch.rand(2, 3, 5, 32, 32))
    assert sampler.last_saliency.shape == (2, 5, 16, 16)
    assert not sampler.last_saliency.requires_grad
    assert float(sampler.regularization().detach()) > 0


@pytest.mark.parametrize(
    "options, message",
    [({"grid_size": 1}, "grid_size"), ({"sigma": 0.0}, "sigma"), ({"sparsity_weight": -1.0}, ">= 0")],
)
def test_saliency_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        pulsecl.build("samplers", "saliency", **options)
