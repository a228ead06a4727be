"""PhysFormer-lite: a small temporal-difference transformer for clips of any length.

After Yu, Shen, Shi, Zhao, Torr & Zhao, "PhysFormer: Facial Video-based Physiological
Measurement with Temporal Difference Transformer", CVPR 2022.  Kept from PhysFormer:
the 3-D CNN stem; temporal-difference multi-head self-attention (TD-MHSA: queries and
keys come from a temporal convolution with a central-difference term, so attention
compares local *changes*, which is what the pulse is); the spatio-temporal feed-forward
(a depthwise temporal convolution between the two projections); no positional
embedding (the convolutions carry the order); a temporal-interpolation decoder.

Why a transformer, and why this one, for CPU training at 32x32-64x64 crops and
128-300 frames:

* Attention is matrix products, which oneDNN runs at full speed on a CPU; at a few
  hundred tokens its cost is small next to the convolutional stem.  A state-space model
  (PhysMamba) needs a selective scan, a sequential recurrence over time with no fused
  CPU kernel in PyTorch: written in plain PyTorch it is a Python-level loop or a
  memory-hungry parallel scan, and it exports to ONNX awkwardly.  RhythmFormer's
  hierarchical periodic sparse attention needs token routing (top-k gathers) that is
  slow on a CPU and awkward to export.  PhysFormer's ingredients are convolutions,
  matrix products and softmax, all of which trace and export.
* PhysFormer's tokens are 4x4 spatial patches of every 4 frames: 640 tokens for
  160 frames, and its 12 layers of width 96 (about 7 M parameters) take minutes a step
  on a CPU.  Here each token is one time step (every second frame) of the whole face:
  the stem's features are pooled over space with a learnt soft attention mask (one
  weight per position and frame, softmax over space), so a 300-frame clip is 150
  tokens and attention over them is cheap; the stem does the spatial work.  Heart rate
  is a property of time, not of where on the face; the stem and the mask find the skin.
* No positional embedding, absolute or relative: the central-difference convolutions
  in the queries and keys and the depthwise convolution of the feed-forward give each
  token its neighbourhood, and attention itself is content-based, so nothing is tied
  to a training length and any ``T >= MIN_FRAMES`` works, as does any frame rate.

Layout (``D = channels``; stem convs are Conv3d + ELU; blocks are pre-LayerNorm)::

    input norm                                                   (B, 3, T, H, W)
    stem    Conv(1,5,5) 3 -> D/4, pool (1,2,2)                   space /2
            Conv(3,3,3) D/4 -> D/2, pool (2,2,2)                 time /2, space /4
            Conv(3,3,3) D/2 -> D, pool (1,2,2)                   space /8
    tokens  soft spatial attention pooling                       (B, ceil(T/2), D)
    blocks  L x [x + TD-MHSA(LN x);  x + ST-FF(LN x)]
    decoder interpolate to T, Conv1d(3) D -> D/2, ELU
    head    Conv1d(1) D/2 -> 1                                   (B, T)

At ``channels=64`` (4 layers, 4 heads, feed-forward 2D) it has about 0.27 M
parameters; at the small default's ``channels=32`` about 0.07 M.  No BatchNorm
(LayerNorm only): nothing depends on the other clips of a batch, so training and
evaluation compute the same function and N DistributedDataParallel processes give what
one process gives on the whole batch.  :func:`pulsecl.models.optimise_for_inference`
has no Conv3d + BatchNorm3d pair to fold; it moves the stem to the channels-last 3-D
layout, which this module runs unchanged (the tokens are ordinary (B, N, D) tensors).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from pulsecl.errors import ConfigError, SignalError
from pulsecl.nn.norm import NORMS, InputNorm

__all__ = ["MIN_FRAMES", "NORMS", "CDConv1d", "PhysFormerLite", "SpatialAttentionPool", "TDAttention", "TDBlock"]

#: Shortest clip the backbone accepts (frames).
MIN_FRAMES = 4


class CDConv1d(nn.Module):
    """Temporal convolution with a central-difference term (PhysFormer's CDC_T, 1-D).

    ``y(t) = sum_k w_k x(t+k) - theta * sum_{k != 0} w_k x(t)``: at ``theta = 1`` the
    response to a constant input is only the centre tap's; the others see differences
    ``x(t+k) - x(t)``.

    Shape: (B, C_in, N) -> (B, C_out, N).
    """

    def __init__(self, c_in: int, c_out: int, theta: float, kernel: int = 3, padding_mode: str = "zeros"):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2, bias=False, padding_mode=padding_mode)
        self.theta = float(theta)
        self.centre = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.theta == 0.0:
            return y
        w = self.conv.weight  # (C_out, C_in, K)
        off_centre = w.sum(dim=2) - w[:, :, self.centre]  # (C_out, C_in)
        return y - self.theta * F.conv1d(x, off_centre.unsqueeze(-1))

    def extra_repr(self) -> str:
        return f"theta={self.theta}"


class TDAttention(nn.Module):
    """Temporal-difference multi-head self-attention over time tokens.

    Shape: (B, N, D) -> (B, N, D).
    """

    def __init__(self, dim: int, heads: int, theta: float, dropout: float, padding_mode: str = "zeros"):
        super().__init__()
        self.heads = heads
        self.q = CDConv1d(dim, dim, theta, padding_mode=padding_mode)
        self.k = CDConv1d(dim, dim, theta, padding_mode=padding_mode)
        self.v = nn.Linear(dim, dim, bias=False)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)
        self.scale = 1.0 / math.sqrt(dim // heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xc = rearrange(x, "b n d -> b d n")
        q = rearrange(self.q(xc), "b (h e) n -> b h n e", h=self.heads)
        k = rearrange(self.k(xc), "b (h e) n -> b h n e", h=self.heads)
        v = rearrange(self.v(x), "b n (h e) -> b h n e", h=self.heads)
        scores = torch.softmax(q @ k.transpose(-2, -1) * self.scale, dim=-1)  # (B, h, N, N)
        out = rearrange(self.drop(scores) @ v, "b h n e -> b n (h e)")
        return self.drop(self.proj(out))


class STFeedForward(nn.Module):
    """PhysFormer's spatio-temporal feed-forward on time tokens: Linear, ELU, depthwise
    temporal conv (kernel 3), ELU, Linear.

    Shape: (B, N, D) -> (B, N, D).
    """

    def __init__(self, dim: int, hidden: int, dropout: float, padding_mode: str = "zeros"):
        super().__init__()
        self.up = nn.Linear(dim, hidden)
        self.temporal = nn.Conv1d(hidden, hidden, 3, padding=1, groups=hidden, padding_mode=padding_mode)
        self.down = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.elu(self.up(x))  # (B, N, F)
        h = F.elu(rearrange(self.temporal(rearrange(h, "b n f -> b f n")), "b f n -> b n f"))
        return self.drop(self.down(h))


class TDBlock(nn.Module):
    """Pre-LayerNorm transformer block: TD-MHSA, then the ST feed-forward.

    Shape: (B, N, D) -> (B, N, D).
    """

    def __init__(self, dim: int, heads: int, hidden: int, theta: float, dropout: float, padding_mode: str = "zeros"):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = TDAttention(dim, heads, theta, dropout, padding_mode)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = STFeedForward(dim, hidden, dropout, padding_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ff(self.norm2(x))


class SpatialAttentionPool(nn.Module):
    """One token per frame: features averaged over space with a learnt soft mask
    (a 1x1x1 conv, softmax over the H*W positions of each frame).

    Shape: (B, D, T, H, W) -> (B, T, D).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.logits = nn.Conv3d(dim, 1, kernel_size=1, bias=False)  # a bias cancels in the softmax

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.softmax(rearrange(self.logits(x), "b 1 t h w -> b t (h w)"), dim=-1)  # (B, T, HW)
        f = rearrange(x, "b d t h w -> b t (h w) d")
        return (w.unsqueeze(-1) * f).sum(dim=2)  # (B, T, D)


def _stem_conv(c_in: int, c_out: int, kernel: tuple[int, int, int], padding_mode: str = "zeros") -> nn.Sequential:
    conv = nn.Conv3d(c_in, c_out, kernel, padding=tuple(k // 2 for k in kernel), padding_mode=padding_mode)
    return nn.Sequential(conv, nn.ELU(inplace=True))


class PhysFormerLite(nn.Module):
    """PhysFormer-lite backbone (module docstring).

    Args:
        channels: token width D; the stem has D/4 and D/2 channels.  A multiple of 4 and
            of ``heads`` (64: about 0.27 M parameters; 32: about 0.07 M).
        norm: input normalisation (:mod:`pulsecl.nn.norm`): ``"zscore"`` (default, as
            PhysFormer's standardised frames), ``"temporal"``, ``"chromatic"`` or
            ``"none"``.
        layers: transformer blocks (PhysFormer: 12).
        heads: attention heads (PhysFormer: 4).
        theta: weight of the central-difference term in the queries and keys
            (PhysFormer: 0.7).
        ff_mult: feed-forward width as a multiple of D (PhysFormer: 1.5).
        dropout: dropout probability in the blocks and before the head.
        time_padding: how every convolution pads its input: ``"replicate"`` (default;
            the edge values repeated) or ``"zeros"``.  With zero padding the clip's ends
            tell the network where each frame sits, and the attention spreads that to
            every token: an untrained model gave a still clip an output 15x as wide as
            its output on noise, a fixed wave that self-supervised training can settle
            on (issue 12, as PhysNet's ``time_padding``).  With ``"replicate"`` a still
            clip gives a flat output.

    Shape: (B, 3, T, H, W) float in [0, 1] -> (B, T), for any ``T >= MIN_FRAMES`` and any
    H, W >= 1.
    """

    def __init__(
        self,
        channels: int = 64,
        norm: str = "zscore",
        layers: int = 4,
        heads: int = 4,
        theta: float = 0.7,
        ff_mult: float = 2.0,
        dropout: float = 0.0,
        time_padding: str = "replicate",
    ):
        super().__init__()
        if time_padding not in ("zeros", "replicate"):
            raise ConfigError(f"physformer_lite time_padding = {time_padding!r}: use one of zeros, replicate")
        self.time_padding = time_padding
        pm = time_padding
        for key, value, least in (("channels", channels, 4), ("layers", layers, 1), ("heads", heads, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"physformer_lite {key} = {value!r}: give an integer >= {least}")
        if channels % 4 or channels % heads:
            raise ConfigError(
                f"physformer_lite channels = {channels}: give a multiple of 4 and of heads = {heads} (e.g. 32 or 64)"
            )
        if not 0.0 <= float(theta) <= 1.0:
            raise ConfigError(f"physformer_lite theta = {theta!r}: give a weight in [0, 1] (PhysFormer: 0.7)")
        if not float(ff_mult) > 0:
            raise ConfigError(f"physformer_lite ff_mult = {ff_mult!r}: give a positive number (PhysFormer: 1.5)")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"physformer_lite dropout = {dropout!r}: give a probability in [0, 1)")
        d = channels
        self.norm = InputNorm(norm, owner="physformer_lite")
        self.stem0 = _stem_conv(3, d // 4, (1, 5, 5), pm)
        self.stem1 = _stem_conv(d // 4, d // 2, (3, 3, 3), pm)
        self.stem2 = _stem_conv(d // 2, d, (3, 3, 3), pm)
        self.pool_space = nn.MaxPool3d((1, 2, 2), stride=(1, 2, 2), ceil_mode=True)
        self.pool_spacetime = nn.MaxPool3d((2, 2, 2), stride=(2, 2, 2), ceil_mode=True)
        self.tokens = SpatialAttentionPool(d)
        hidden = max(1, int(round(ff_mult * d)))
        self.blocks = nn.ModuleList(TDBlock(d, heads, hidden, float(theta), float(dropout), pm) for _ in range(layers))
        self.norm_out = nn.LayerNorm(d)
        self.decoder = nn.Conv1d(d, d // 2, 3, padding=1, padding_mode=pm)
        self.dropout = nn.Dropout(float(dropout))
        self.head = nn.Conv1d(d // 2, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != 3:
            raise SignalError(f"physformer_lite takes video (B, 3, T, H, W), got shape {tuple(x.shape)}")
        t = x.shape[2]
        if t < MIN_FRAMES:
            raise SignalError(f"physformer_lite needs clips of at least {MIN_FRAMES} frames, got {t}")
        x = self.pool_space(self.stem0(self.norm(x)))  # (B, D/4, T, H/2, W/2)
        x = self.pool_spacetime(self.stem1(x))  # (B, D/2, ceil(T/2), H/4, W/4)
        x = self.pool_space(self.stem2(x))  # (B, D, ceil(T/2), H/8, W/8)
        z = self.tokens(x)  # (B, N, D), N = ceil(T/2)
        for block in self.blocks:
            z = block(z)
        z = rearrange(self.norm_out(z), "b n d -> b d n")
        z = F.interpolate(z, size=t, mode="linear", align_corners=False)  # (B, D, T)
        z = F.elu(self.decoder(z))  # (B, D/2, T)
        y = self.head(self.dropout(z))  # (B, 1, T)
        return rearrange(y, "b 1 t -> b t")
