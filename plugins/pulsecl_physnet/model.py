"""PhysNet with a temporal-interpolation decoder.

PhysNet is the spatio-temporal 3D-CNN of Yu, Li & Zhao, "Remote Photoplethysmograph
Signal Measurement from Facial Videos Using Spatio-Temporal Networks", BMVC 2019.
Gideon & Stent, "The Way to my Heart is through Contrastive Learning", ICCV 2021,
replace its decoder's transposed convolutions (which alias) by x2 temporal
interpolation followed by a Conv3d with kernel (3, 1, 1); this module follows that
variant.  At ``channels=64`` it has about 0.86 M parameters, as in the paper.

Layout (``C = channels``; every conv block is Conv3d + BatchNorm3d + ELU)::

    input norm                                 (B, 3, T, H, W)
    stem    Conv(1,5,5)  3 -> C/2   pool (1,2,2)  spatial /2
    stage1  Conv(3,3,3)  C/2 -> C, C -> C   pool (2,2,2)  time /2, spatial /4
    stage2  Conv(3,3,3)  C -> C, C -> C     pool (2,2,2)  time /4, spatial /8
    stage3  Conv(3,3,3)  C -> C, C -> C     pool (1,2,2)  spatial /16
    stage4  Conv(3,3,3)  C -> C, C -> C
    decoder interpolate to T/2, Conv(3,1,1); interpolate to T, Conv(3,1,1)
    head    spatial mean, dropout, Conv1d(C -> 1, kernel 1)    (B, T)

The network is fully convolutional in time: poolings round up (``ceil_mode``) and the
decoder interpolates to the exact lengths the encoder saw, so any clip length
``T >= MIN_FRAMES`` and any frame size give an output of exactly T samples.  That is
what lets the contrastive negative be run at its own, shorter length instead of being
zero-padded (docs/background.md, "Weak points").

Input normalisation (``norm``), inside the module, per sample: ``"zscore"`` (the
paper's), ``"temporal"`` (in a quick experiment on this project's machines it was
needed for learning to take off, docs/background.md), ``"chromatic"`` or ``"none"``; see
:mod:`pulsecl.nn.norm`, which the other built-in backbones share.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from pulsecl.errors import ConfigError, SignalError
from pulsecl.nn.norm import NORMS, InputNorm

__all__ = ["MIN_FRAMES", "NORMS", "TIME_PADDINGS", "PhysNet", "InputNorm", "ConvBlock", "TemporalUpsample"]

#: Shortest clip the backbone accepts (frames).
MIN_FRAMES = 4


#: How a convolution pads the clip in time (:class:`PhysNet`'s ``time_padding``).
TIME_PADDINGS = ("zeros", "replicate")


class ConvBlock(nn.Sequential):
    """Conv3d + BatchNorm3d + ELU, padding that keeps T, H and W.

    Space is always zero-padded; time is zero-padded (``time_padding="zeros"``, the
    paper's) or padded with the first and last frames (``"replicate"``).
    Shape: (B, C_in, T, H, W) -> (B, C_out, T, H, W).
    """

    def __init__(self, c_in: int, c_out: int, kernel: tuple[int, int, int], time_padding: str = "zeros"):
        kt, kh, kw = kernel
        self.pad_t = kt // 2 if time_padding == "replicate" else 0
        padding = (0 if self.pad_t else kt // 2, kh // 2, kw // 2)
        super().__init__(
            nn.Conv3d(c_in, c_out, kernel, padding=padding),
            nn.BatchNorm3d(c_out),
            nn.ELU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad_t:
            x = F.pad(x, (0, 0, 0, 0, self.pad_t, self.pad_t), mode="replicate")
        return super().forward(x)


class TemporalUpsample(nn.Module):
    """Interpolate along time to a given length (x2 in PhysNet), then a (3, 1, 1) block.

    Gideon & Stent's replacement for PhysNet's transposed convolution.
    Shape: (B, C, T', H, W) -> (B, C, length, H, W).
    """

    def __init__(self, channels: int, time_padding: str = "zeros"):
        super().__init__()
        self.block = ConvBlock(channels, channels, (3, 1, 1), time_padding)

    def forward(self, x: torch.Tensor, length: int) -> torch.Tensor:
        _, _, _, h, w = x.shape
        x = F.interpolate(x, size=(length, h, w), mode="trilinear", align_corners=False)
        return self.block(x)


class PhysNet(nn.Module):
    """PhysNet backbone (Yu et al. BMVC 2019; decoder of Gideon & Stent ICCV 2021).

    Args:
        channels: width C of the network (paper: 64, ~0.86 M parameters); even, >= 2.
        norm: input normalisation, ``"zscore"`` (paper), ``"temporal"``, ``"chromatic"``
            or ``"none"``.
        dropout: dropout probability on the features before the output projection.
        time_padding: how the convolutions pad the clip in time: ``"zeros"`` (the
            paper's) or ``"replicate"`` (the first and last frames repeated).  With zero
            padding the clip's ends tell the network where in the clip each frame sits,
            and a network can then draw a fixed waveform whatever its input: that is how
            self-supervised training collapsed on real video (issue 12; a grey clip gave
            the same 5-cycle wave as a real one, r = 0.90).  With ``"replicate"`` a clip
            that does not change gives an output that does not change, so every wave in
            the output comes from the input.  The default; the paper preset sets
            ``"zeros"``.

    Shape: (B, 3, T, H, W) float in [0, 1] -> (B, T), for any ``T >= MIN_FRAMES`` and
    any H, W >= 1.
    """

    def __init__(self, channels: int = 64, norm: str = "zscore", dropout: float = 0.0, time_padding: str = "replicate"):
        super().__init__()
        if time_padding not in TIME_PADDINGS:
            raise ConfigError(f"physnet time_padding = {time_padding!r}: use one of {', '.join(TIME_PADDINGS)}")
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 2 or channels % 2:
            raise ConfigError(f"physnet channels = {channels!r}: give an even integer >= 2 (paper: 64)")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"physnet dropout = {dropout!r}: give a probability in [0, 1)")
        c = channels
        self.norm = InputNorm(norm, owner="physnet")
        self.time_padding = time_padding

        def block(c_in: int, c_out: int, kernel: tuple[int, int, int] = (3, 3, 3)) -> ConvBlock:
            return ConvBlock(c_in, c_out, kernel, time_padding)

        self.stem = block(3, c // 2, (1, 5, 5))
        self.stage1 = nn.Sequential(block(c // 2, c), block(c, c))
        self.stage2 = nn.Sequential(block(c, c), block(c, c))
        self.stage3 = nn.Sequential(block(c, c), block(c, c))
        self.stage4 = nn.Sequential(block(c, c), block(c, c))
        self.pool_space = nn.MaxPool3d((1, 2, 2), stride=(1, 2, 2), ceil_mode=True)
        self.pool_spacetime = nn.MaxPool3d((2, 2, 2), stride=(2, 2, 2), ceil_mode=True)
        self.up1 = TemporalUpsample(c, time_padding)
        self.up2 = TemporalUpsample(c, time_padding)
        self.dropout = nn.Dropout(float(dropout))
        self.head = nn.Conv1d(c, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != 3:
            raise SignalError(f"physnet takes video (B, 3, T, H, W), got shape {tuple(x.shape)}")
        t = x.shape[2]
        if t < MIN_FRAMES:
            raise SignalError(f"physnet needs clips of at least {MIN_FRAMES} frames, got {t}")
        x = self.norm(x)
        x = self.pool_space(self.stem(x))  # (B, C/2, T, H/2, W/2)
        x = self.pool_spacetime(self.stage1(x))  # (B, C, ceil(T/2), H/4, W/4)
        t_half = x.shape[2]
        x = self.pool_spacetime(self.stage2(x))  # (B, C, ceil(T/4), H/8, W/8)
        x = self.pool_space(self.stage3(x))  # (B, C, ceil(T/4), H/16, W/16)
        x = self.stage4(x)
        x = self.up1(x, t_half)  # (B, C, ceil(T/2), h, w)
        x = self.up2(x, t)  # (B, C, T, h, w)
        x = x.mean(dim=(3, 4))  # spatial mean: (B, C, T)
        y = self.head(self.dropout(x))  # (B, 1, T)
        return rearrange(y, "b 1 t -> b t")
