"""TS-CAN: a temporal-shift 2-D CNN with attention masks, for clips of any length.

Liu, Fromm, Patel & McDuff, "Multi-Task Temporal Shift Attention Networks for On-Device
Contactless Vitals Measurement", NeurIPS 2020 (TS-CAN), and its one-branch successor
Liu, Hill, Jiang, Patel & McDuff, "EfficientPhys: Enabling Simple, Fast and Accurate
Camera-Based Cardiac Measurement", WACV 2023 (``attention="self"``).

What makes it fast on a CPU is kept: only 2-D convolutions, run on all frames of all
clips as one batch ``(B*T, C, H, W)``; temporal information comes from temporal shift
modules (Lin, Gan & Han, ICCV 2019), which move a third of the channels one frame
forward and a third one frame back at no arithmetic cost (one copy, forward and
backward); soft attention masks gate the motion features.  Measured against PhysNet at
pulsecl's sizes (``benchmarks/speed.py --parts backbones``, README) it trains about
1.2-1.4x as many clips a second and infers at about PhysNet's speed: every frame stays
at full resolution through two convolutions and their elementwise passes, where PhysNet
pools space at once.  What ties the published models to one clip length is gone: they
reshape the batch into fixed segments of ``frame_depth`` frames and shift inside each
segment (zeros or wrap-around at segment edges); here the shift runs along each clip's
own time axis, with zeros at the clip's two ends only, so any ``T >= MIN_FRAMES`` works,
and nothing in the network depends on the frame rate (the appearance segments below are
counted in frames; they only smooth the attention masks).  The published dense head flattens
a fixed-size feature map; here the attention-gated features are averaged over space, so
any frame size works too.

Layout (``C = channels``; C/2 and C are the published nb_filters1 and nb_filters2 at
``channels=64``; every conv is 3x3, padding 1, tanh)::

    motion input   norm(x), first difference along time, / its std per clip
                                                        (B, 3, T-1, H, W) -> (B*(T-1), 3, H, W)
    motion         shift, conv 3 -> C/2, shift, conv C/2 -> C/2     x mask 1, avg pool 2
                   shift, conv C/2 -> C, shift, conv C -> C         x mask 2
    head           spatial mean, Linear(C -> 2C), tanh, dropout, Linear(2C -> 1)   (B, T-1)
    output         the pulse: integral of the predicted difference (below)         (B, T)

The attention masks are sigmoid(1x1 conv), scaled so that each sums to H*W/2 over the
frame (TS-CAN's L1 normalisation).  ``attention="appearance"`` (TS-CAN) computes them in
an appearance branch of the same shape as the motion branch (conv C/2, conv C/2 -> mask
1, pool, conv C, conv C -> mask 2) from the mean raw frame of each ``segment_frames``
frames, z-scored per clip: TS-CAN's data generator averages the appearance frames over
each segment the same way.  The branch runs once per segment, not once per frame, so it
costs about ``1/segment_frames`` of the motion branch; the masks are interpolated
linearly in time between segments (no step in the gating at segment edges).
``attention="self"`` (EfficientPhys) computes them from the motion features themselves
(a 1x1 conv on the second and fourth conv's output) and has no appearance branch.

Output: TS-CAN regresses the *first difference* of the pulse (its labels are the
differenced PPG), and with a receptive field of a few frames it could not do otherwise.
pulsecl's losses, metrics and predict take a pulse, so the module integrates: with the
predicted differences ``d(0..T-2)``, the output is ``y(t) = sum_{s<t} (d(s) - mean(d))``
minus its mean.  Removing the mean of ``d`` first keeps a constant bias from becoming a
ramp.  ``y`` is the pulse up to an additive constant, which every loss and predict
ignore (they remove the mean or z-score); ``torch.diff(y)`` gives back the network's
difference prediction minus its mean.  ``integrate=False`` returns the differences
themselves, padded with a leading zero to T samples (for training against differenced
labels only: their spectrum is the pulse's times ``(2 sin(pi f / fs))^2``).

No BatchNorm: nothing depends on the other clips of a batch, so training and
evaluation compute the same function, and DistributedDataParallel on N processes gives
what one process gives on the whole batch.  There is nothing for
:func:`pulsecl.models.optimise_for_inference` to fold, and it leaves the memory layout
alone (it switches to channels-last only for 3-D convolutions); the module runs its 2-D
convolutions in channels-last itself, which oneDNN runs faster on CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from pulsecl.errors import ConfigError, SignalError
from pulsecl.nn.norm import NORMS, InputNorm

__all__ = [
    "ATTENTIONS", "MIN_FRAMES", "NORMS", "AttentionMask", "TSCAN", "TemporalShift",
    "integrate", "segment_means", "shift_traceable",
]

#: Shortest clip the backbone accepts (frames).
MIN_FRAMES = 4

#: Where the attention masks come from.
ATTENTIONS = ("appearance", "self")


def _shift(x: torch.Tensor, frames: int, fold: int, reverse: bool) -> torch.Tensor:
    """The shift into one new tensor of ``x``'s layout: channels ``[0, fold)`` from the
    next frame, ``[fold, 2 fold)`` from the previous one (swapped with ``reverse``, which
    is the shift's gradient), the rest in place; zeros past each clip's ends.

    Shape: (B*T, C, H, W) with ``frames = T`` -> (B*T, C, H, W).
    """
    v = x.reshape(-1, frames, *x.shape[1:])  # (B, T, C, H, W); a view for contiguous or channels-last x
    out = torch.empty_like(x)
    o = out.view(-1, frames, *out.shape[1:])
    take_next, take_prev = slice(0, fold), slice(fold, 2 * fold)
    if reverse:
        take_next, take_prev = take_prev, take_next
    o[:, :-1, take_next] = v[:, 1:, take_next]
    o[:, -1, take_next] = 0.0
    o[:, 1:, take_prev] = v[:, :-1, take_prev]
    o[:, 0, take_prev] = 0.0
    o[:, :, 2 * fold :] = v[:, :, 2 * fold :]
    return out


def shift_traceable(x: torch.Tensor, frames: int, fold: int) -> torch.Tensor:
    """The same shift in slicing, padding and concatenation (what tracing records), to
    channels-last output.

    Shape: (B*T, C, H, W) with ``frames = T`` -> (B*T, C, H, W).
    """
    v = rearrange(x, "(b t) c h w -> b t c h w", t=frames)
    back = F.pad(v[:, 1:, :fold], (0, 0, 0, 0, 0, 0, 0, 1))  # frame t gets t+1; zeros at the end
    fwd = F.pad(v[:, :-1, fold : 2 * fold], (0, 0, 0, 0, 0, 0, 1, 0))  # t gets t-1; zeros at the start
    out = torch.cat([back, fwd, v[:, :, 2 * fold :]], dim=2)  # (B, T, C, H, W)
    return rearrange(out, "b t c h w -> (b t) c h w").contiguous(memory_format=torch.channels_last)


class _ShiftFunction(torch.autograd.Function):
    """The shift with its own backward (the opposite shift): one copy each way, where
    slicing, padding and concatenating under autograd cost several full copies and
    zero fills of the activations, in training the largest cost after the convolutions."""

    @staticmethod
    def forward(ctx, x, frames, fold):  # noqa: D102
        ctx.frames, ctx.fold = frames, fold
        return _shift(x, frames, fold, reverse=False)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        return _shift(grad, ctx.frames, ctx.fold, reverse=True), None, None


class TemporalShift(nn.Module):
    """Temporal shift module (Lin et al. 2019) along each clip's own time axis.

    Of C channels, the first ``C // fold_div`` take the next frame's values, the next
    ``C // fold_div`` the previous frame's, the rest stay; the frames shifted in past a
    clip's ends are zeros (no wrap-around, nothing crosses from one clip to the next).
    The output keeps the input's memory layout (channels-last here).

    Shape: (B*T, C, H, W) with ``frames = T`` -> (B*T, C, H, W).
    """

    def __init__(self, fold_div: int = 3):
        super().__init__()
        self.fold_div = fold_div

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        fold = x.shape[1] // self.fold_div
        if fold == 0:
            return x
        if torch.jit.is_tracing():  # TorchScript and ONNX export: traceable ops, lengths left free
            return shift_traceable(x, frames, fold)
        return _ShiftFunction.apply(x, frames, fold)

    def extra_repr(self) -> str:
        return f"fold_div={self.fold_div}"


class AttentionMask(nn.Module):
    """Soft attention mask: sigmoid of a 1x1 conv, scaled to sum H*W/2 over each frame.

    Shape: (N, C, H, W) -> (N, 1, H, W).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(self.conv(x))  # (N, 1, H, W)
        h, w = g.shape[-2], g.shape[-1]
        return g / g.sum(dim=(2, 3), keepdim=True) * (0.5 * h * w)


def integrate(d: torch.Tensor) -> torch.Tensor:
    """A pulse from its predicted first differences (module docstring).

    Shape: (B, T-1) -> (B, T), mean zero.
    """
    d = d - d.mean(dim=1, keepdim=True)
    y = F.pad(torch.cumsum(d, dim=1), (1, 0))  # y(0) = 0, y(t) = sum of d(0..t-1)
    return y - y.mean(dim=1, keepdim=True)


def segment_means(x: torch.Tensor, frames: int) -> torch.Tensor:
    """The mean frame of each run of ``frames`` frames; the last run may be shorter.

    Shape: (B, C, T, H, W) -> (B, C, ceil(T / frames), H, W).
    """
    b, c, t, h, w = x.shape
    segments = (t + frames - 1) // frames
    pad = segments * frames - t
    sums = rearrange(F.pad(x, (0, 0, 0, 0, 0, pad)), "b c (s k) h w -> b c s k h w", k=frames).sum(dim=3)
    ones = F.pad(torch.ones_like(x[:, :1, :, :1, :1]), (0, 0, 0, 0, 0, pad))  # (B, 1, S*frames, 1, 1)
    counts = rearrange(ones, "b c (s k) h w -> b c s k h w", k=frames).sum(dim=3)  # (B, 1, S, 1, 1)
    return sums / counts


def _conv(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)


class TSCAN(nn.Module):
    """TS-CAN backbone for any clip length (module docstring).

    Args:
        channels: width C (the second stage's filters; the first has C/2; the head's
            hidden layer 2C).  64 is the published size (32 and 64 filters, about 0.14 M
            parameters with the appearance branch); even, >= 2.
        norm: input normalisation before the frame difference (:mod:`pulsecl.nn.norm`):
            ``"temporal"`` (default; its difference is TS-CAN's normalised frame
            difference), ``"chromatic"``, ``"zscore"`` or ``"none"``.
        attention: ``"appearance"`` (TS-CAN: masks from an appearance branch on
            segment-mean frames) or ``"self"`` (EfficientPhys: masks from the motion
            features; no appearance branch).
        segment_frames: frames averaged into one appearance frame (TS-CAN's frame_depth
            is 10 or 20); ``attention="appearance"`` only.
        dropout: dropout probability on the head's hidden layer.
        integrate: output the pulse (the integral of the predicted differences; default)
            or the differences themselves (module docstring).

    Shape: (B, 3, T, H, W) float in [0, 1] -> (B, T), for any ``T >= MIN_FRAMES`` and any
    H, W >= 1.
    """

    def __init__(
        self,
        channels: int = 64,
        norm: str = "temporal",
        attention: str = "appearance",
        segment_frames: int = 20,
        dropout: float = 0.0,
        integrate: bool = True,
    ):
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 2 or channels % 2:
            raise ConfigError(f"tscan channels = {channels!r}: give an even integer >= 2 (published size: 64)")
        if attention not in ATTENTIONS:
            raise ConfigError(f"tscan attention = {attention!r}: use one of {', '.join(ATTENTIONS)}")
        if isinstance(segment_frames, bool) or not isinstance(segment_frames, int) or segment_frames < 1:
            raise ConfigError(f"tscan segment_frames = {segment_frames!r}: give an integer >= 1 (TS-CAN: 10 or 20)")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"tscan dropout = {dropout!r}: give a probability in [0, 1)")
        c1, c2 = channels // 2, channels
        self.attention = attention
        self.segment_frames = segment_frames
        self.integrate = bool(integrate)
        self.norm = InputNorm(norm, owner="tscan")
        self.shift = TemporalShift()
        self.motion1, self.motion2 = _conv(3, c1), _conv(c1, c1)
        self.motion3, self.motion4 = _conv(c1, c2), _conv(c2, c2)
        if attention == "appearance":
            self.appearance1, self.appearance2 = _conv(3, c1), _conv(c1, c1)
            self.appearance3, self.appearance4 = _conv(c1, c2), _conv(c2, c2)
        self.mask1, self.mask2 = AttentionMask(c1), AttentionMask(c2)
        self.pool = nn.AvgPool2d(2, ceil_mode=True)
        self.hidden = nn.Linear(c2, 2 * c2)
        self.dropout = nn.Dropout(float(dropout))
        self.out = nn.Linear(2 * c2, 1, bias=not self.integrate)  # integrating removes a bias anyway
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """TS-CAN's initialisation (Keras defaults): Glorot-uniform weights, zero biases.
        PyTorch's default (uniform biases, weights that shrink the signal at every tanh
        layer) leaves an untrained network's output almost constant: a bias of the
        predicted difference that integration removes, over a variation a thousand
        times smaller."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def _appearance_masks(self, x: torch.Tensor, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Masks from segment-mean raw frames, interpolated to ``frames`` frames.

        Shape: (B, 3, T, H, W) -> (B*frames, 1, H, W), (B*frames, 1, H/2, W/2).
        """
        a = segment_means(x, self.segment_frames)  # (B, 3, S, H, W)
        mean = a.mean(dim=(1, 2, 3, 4), keepdim=True)
        std = a.std(dim=(1, 2, 3, 4), unbiased=False, keepdim=True)
        a = (a - mean) / (std + 1e-3)  # z-scored per clip, as TS-CAN's appearance input
        segments = a.shape[2]
        a = rearrange(a, "b c s h w -> (b s) c h w").contiguous(memory_format=torch.channels_last)
        r2 = torch.tanh(self.appearance2(torch.tanh(self.appearance1(a))))
        r4 = torch.tanh(self.appearance4(torch.tanh(self.appearance3(self.pool(r2)))))
        masks = []
        for m in (self.mask1(r2), self.mask2(r4)):  # (B*S, 1, h, w)
            m = rearrange(m, "(b s) 1 h w -> b 1 s h w", s=segments)
            m = F.interpolate(m, size=(frames, m.shape[3], m.shape[4]), mode="trilinear", align_corners=False)
            masks.append(rearrange(m, "b 1 t h w -> (b t) 1 h w"))
        return masks[0], masks[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != 3:
            raise SignalError(f"tscan takes video (B, 3, T, H, W), got shape {tuple(x.shape)}")
        if x.shape[2] < MIN_FRAMES:
            raise SignalError(f"tscan needs clips of at least {MIN_FRAMES} frames, got {x.shape[2]}")
        b = x.shape[0]
        z = self.norm(x)
        d = z[:, :, 1:] - z[:, :, :-1]  # (B, 3, T-1, H, W) frame differences (torch.diff has no ONNX export)
        d = d / (d.std(dim=(1, 2, 3, 4), unbiased=False, keepdim=True) + 1e-6)
        n = d.shape[2]  # T - 1
        m = rearrange(d, "b c t h w -> (b t) c h w").contiguous(memory_format=torch.channels_last)
        m1 = torch.tanh_(self.motion1(self.shift(m, n)))
        m2 = torch.tanh_(self.motion2(self.shift(m1, n)))  # (B*n, C/2, H, W)
        if self.attention == "appearance":
            g1, g2 = self._appearance_masks(x, n)
        else:
            g1 = self.mask1(m2)
        m3 = self.pool(m2 * g1)  # (B*n, C/2, H/2, W/2)
        m4 = torch.tanh_(self.motion3(self.shift(m3, n)))
        m5 = torch.tanh_(self.motion4(self.shift(m4, n)))  # (B*n, C, H/2, W/2)
        if self.attention == "self":
            g2 = self.mask2(m5)
        f = (m5 * g2).mean(dim=(2, 3))  # (B*n, C): attention-weighted spatial mean
        h = self.dropout(torch.tanh(self.hidden(f)))
        diff = rearrange(self.out(h), "(b t) 1 -> b t", b=b)  # (B, T-1) predicted differences
        if self.integrate:
            return integrate(diff)
        return F.pad(diff, (1, 0))

    def extra_repr(self) -> str:
        return f"attention={self.attention!r}, segment_frames={self.segment_frames}, integrate={self.integrate}"
