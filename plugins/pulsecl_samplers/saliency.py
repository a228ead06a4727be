"""Saliency-based sampler: warp each frame towards what a small CNN finds informative.

Recasens, Kellnhofer, Stent, Matusik & Torralba, "Learning to Zoom: a Saliency-Based
Sampling Layer for Neural Networks", ECCV 2018; used before the backbone by Gideon &
Stent, ICCV 2021 (section 3.3).

For every frame:

1. a small CNN gives saliency logits, pooled to a ``g x g`` grid; a softmax over the
   grid gives the saliency map ``S`` (sums to 1);
2. each output grid point ``x`` takes the sampling position
   ``u(x) = sum_x' S(x') k(x, x') x' / sum_x' S(x') k(x, x')``, with ``k`` a Gaussian
   of width ``sigma`` grid cells: salient regions attract sampling points and are
   magnified.  ``S`` is padded by replication and the coordinates ``x'`` continue
   linearly beyond the border, so a uniform ``S`` gives the identity grid exactly;
3. the ``g x g`` grid is interpolated to the frame size and the frame is resampled with
   ``grid_sample``.

Unlike the reference implementation (docs/background.md, "Weak points") the Gaussian kernel is a
fixed buffer, never trained, and the two regularisers are on by default:

* sparsity: the entropy of ``S`` over the grid divided by ``log(g^2)`` (1 for a uniform
  map, 0 for a single cell): lower means a more concentrated map;
* temporal smoothness: the total-variation distance ``0.5 * sum |S_t+1 - S_t|`` between
  consecutive frames' maps (0 to 1): lower means a steadier zoom, which matters because
  a flickering zoom adds intensity changes at video rate that compete with the pulse.

The CNN's last layer starts at zero, so the sampler starts as the identity.

Shape: (B, C, T, H, W) -> (B, C, T, H, W).  ``last_saliency`` holds the maps of the
last forward, (B, T, g, g), detached, for plotting; ``regularization()`` the weighted
regularisers of that forward (a scalar with gradient).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from pulsecl.errors import ConfigError, SignalError

__all__ = ["SaliencyNet", "SaliencySampler", "gaussian_kernel"]


def gaussian_kernel(sigma: float, radius: int) -> torch.Tensor:
    """1-D Gaussian taps ``exp(-d^2 / 2 sigma^2)`` for ``d = -radius..radius``, summing to 1.

    Shape: (2 * radius + 1,).
    """
    d = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (d / sigma) ** 2)
    return (k / k.sum()).float()


class SaliencyNet(nn.Module):
    """Small CNN: frames to saliency logits on a ``grid x grid`` grid.

    Shape: (N, 3, H, W) -> (N, grid * grid).
    """

    def __init__(self, grid: int, hidden: int = 8):
        super().__init__()
        self.grid = grid
        self.features = nn.Sequential(
            nn.Conv2d(3, hidden, 3, padding=1),
            nn.ELU(),
            nn.Conv2d(hidden, hidden, 3, padding=1),
            nn.ELU(),
        )
        self.to_logit = nn.Conv2d(hidden, 1, 1)
        nn.init.zeros_(self.to_logit.weight)  # uniform map at start: the identity sampler
        nn.init.zeros_(self.to_logit.bias)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        h, w = frames.shape[-2:]
        # work at about twice the grid resolution: cheap, and enough to place the zoom
        small = F.adaptive_avg_pool2d(frames, (min(h, 2 * self.grid), min(w, 2 * self.grid)))
        logits = self.to_logit(self.features(2.0 * small - 1.0))  # (N, 1, h', w')
        logits = F.adaptive_avg_pool2d(logits, (self.grid, self.grid))  # (N, 1, g, g)
        return rearrange(logits, "n 1 gh gw -> n (gh gw)")


class SaliencySampler(nn.Module):
    """Learning-to-Zoom sampler (Recasens et al. ECCV 2018), per frame.

    Args:
        grid_size: g, the saliency grid is g x g (>= 2).
        sigma: width of the fixed Gaussian kernel in grid cells (default g / 4).
        hidden: channels of the saliency CNN.
        sparsity_weight: weight of the entropy regulariser.
        smoothness_weight: weight of the temporal-smoothness regulariser.

    Shape: (B, C, T, H, W) -> (B, C, T, H, W).
    """

    def __init__(
        self,
        grid_size: int = 16,
        sigma: float | None = None,
        hidden: int = 8,
        sparsity_weight: float = 0.01,
        smoothness_weight: float = 0.01,
    ):
        super().__init__()
        if isinstance(grid_size, bool) or not isinstance(grid_size, int) or grid_size < 2:
            raise ConfigError(f"saliency grid_size = {grid_size!r}: give an integer >= 2")
        sigma = grid_size / 4.0 if sigma is None else float(sigma)
        if not sigma > 0:
            raise ConfigError(f"saliency sigma = {sigma!r}: give a positive width in grid cells")
        if sparsity_weight < 0 or smoothness_weight < 0:
            raise ConfigError(
                f"saliency sparsity_weight = {sparsity_weight}, smoothness_weight = "
                f"{smoothness_weight}: weights must be >= 0"
            )
        self.grid_size = grid_size
        self.sigma = sigma
        self.radius = int(math.ceil(3.0 * sigma))
        self.sparsity_weight = float(sparsity_weight)
        self.smoothness_weight = float(smoothness_weight)
        self.net = SaliencyNet(grid_size, hidden)
        # fixed, not trained: buffers carry no gradient and are saved with the model
        self.register_buffer("kernel", gaussian_kernel(sigma, self.radius))  # (2r+1,)
        p, g = self.radius, grid_size
        coords = -1.0 + 2.0 * torch.arange(-p, g + p, dtype=torch.float32) / (g - 1)
        self.register_buffer("coords", coords)  # (g + 2r,), continues linearly past [-1, 1]
        self._saliency: torch.Tensor | None = None

    @property
    def last_saliency(self) -> torch.Tensor | None:
        """Saliency maps of the last forward, detached.  Shape: (B, T, g, g); None before."""
        return None if self._saliency is None else self._saliency.detach()

    def _blur(self, maps: torch.Tensor) -> torch.Tensor:
        """Separable Gaussian, 'valid': (N, K, g + 2r, g + 2r) -> (N, K, g, g)."""
        n_ch = maps.shape[1]
        k = self.kernel.to(maps.dtype)
        kx = k.view(1, 1, 1, -1).expand(n_ch, 1, 1, k.numel())
        ky = k.view(1, 1, -1, 1).expand(n_ch, 1, k.numel(), 1)
        return F.conv2d(F.conv2d(maps, kx, groups=n_ch), ky, groups=n_ch)

    def sampling_grid(self, saliency: torch.Tensor) -> torch.Tensor:
        """Sampling positions from saliency maps, in ``grid_sample``'s [-1, 1] units.

        Shape: (N, g, g) -> (N, g, g, 2) with (x, y) last.
        """
        p = self.radius
        padded = F.pad(saliency[:, None], (p, p, p, p), mode="replicate")  # (N, 1, g+2p, g+2p)
        cx = self.coords.to(saliency.dtype).view(1, 1, 1, -1)  # x varies along width
        cy = self.coords.to(saliency.dtype).view(1, 1, -1, 1)  # y along height
        stacked = torch.cat([padded, padded * cx, padded * cy], dim=1)  # (N, 3, g+2p, g+2p)
        den, num_x, num_y = self._blur(stacked).unbind(1)  # each (N, g, g)
        grid = torch.stack([num_x / den, num_y / den], dim=-1)  # (N, g, g, 2)
        return grid.clamp(-1.0, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != 3:
            raise SignalError(f"saliency sampler takes video (B, 3, T, H, W), got shape {tuple(x.shape)}")
        b, _, t, h, w = x.shape
        g = self.grid_size
        frames = rearrange(x, "b c t h w -> (b t) c h w")
        saliency = self.net(frames).softmax(dim=-1)  # (BT, g*g), sums to 1 per frame
        saliency = rearrange(saliency, "n (gh gw) -> n gh gw", gh=g)  # (BT, g, g)
        coarse = self.sampling_grid(saliency)  # (BT, g, g, 2)
        fine = F.interpolate(
            rearrange(coarse, "n gh gw two -> n two gh gw"), size=(h, w), mode="bilinear", align_corners=True
        )  # (BT, 2, H, W)
        warped = F.grid_sample(
            frames, rearrange(fine, "n two h w -> n h w two"),
            mode="bilinear", padding_mode="border", align_corners=True,
        )  # (BT, C, H, W)
        self._saliency = rearrange(saliency, "(b t) gh gw -> b t gh gw", b=b)
        return rearrange(warped, "(b t) c h w -> b c t h w", b=b)

    # -- regularisers -----------------------------------------------------------------------
    def sparsity(self) -> torch.Tensor:
        """Mean normalised entropy of the last maps (1 uniform, 0 one cell).  Scalar."""
        s = self._require_saliency()
        entropy = -(s * s.clamp_min(1e-12).log()).sum(dim=(-2, -1))  # (B, T)
        return (entropy / math.log(self.grid_size**2)).mean()

    def smoothness(self) -> torch.Tensor:
        """Mean total-variation distance between consecutive frames' maps (0 to 1).  Scalar."""
        s = self._require_saliency()
        if s.shape[1] < 2:
            return s.new_zeros(())
        return 0.5 * (s[:, 1:] - s[:, :-1]).abs().sum(dim=(-2, -1)).mean()

    def regularization(self) -> torch.Tensor:
        """``sparsity_weight * sparsity + smoothness_weight * smoothness`` of the last
        forward (0 before any forward).  Scalar with gradient."""
        if self._saliency is None:
            return self.kernel.new_zeros(())
        return self.sparsity_weight * self.sparsity() + self.smoothness_weight * self.smoothness()

    def _require_saliency(self) -> torch.Tensor:
        if self._saliency is None:
            raise SignalError("the saliency sampler has no maps yet: call it on a clip first")
        return self._saliency

    def extra_repr(self) -> str:
        return (
            f"grid_size={self.grid_size}, sigma={self.sigma:g}, sparsity_weight="
            f"{self.sparsity_weight:g}, smoothness_weight={self.smoothness_weight:g}"
        )
