"""Invariance: the backbone's signal for an augmented clip should equal its signal for
the clip itself.

The ``augment`` stage of the view generators (:mod:`pulsecl_views.augment`) makes a copy
of every anchor clip with a nuisance added that leaves the pulse alone (periodic head
motion, by default); the trainer runs the sampler and backbone on it and passes the
result as ``"augmented"`` (B', T), time-aligned with the first B' rows of ``"signal"``
(B, T), the anchor (B' < B when only a share of the batch is augmented).  The
loss is ``1 - r``, r the Pearson correlation over time, averaged over the batch: 0 when
the two signals are equal up to scale and offset, 1 when uncorrelated, 2 when opposite.

With ``stop_gradient=True`` (the default) the anchor is the target: gradients flow only
through the augmented branch, so the loss pulls the signal of the moving clip towards
that of the still one and never the other way round (the still clip's signal is shaped
by the contrastive losses alone).
"""

from __future__ import annotations

import torch
from torch import nn

from pulsecl.errors import SignalError
from pulsecl_losses.supervised import pearson

__all__ = ["Decorrelation", "Invariance"]


class Invariance(nn.Module):
    """``1 - pearson(augmented, signal)`` (module docstring).

    Args:
        stop_gradient: treat the anchor ``signal`` as a constant target.
        eps: guard against a constant signal.
    """

    requires = ("augmented", "signal")

    def __init__(self, stop_gradient: bool = True, eps: float = 1e-8):
        super().__init__()
        self.stop_gradient = bool(stop_gradient)
        self.eps = float(eps)

    def extra_repr(self) -> str:
        return f"stop_gradient={self.stop_gradient}"

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        aug, sig = inputs["augmented"], inputs["signal"]
        if aug.dim() != 2 or sig.dim() != 2 or aug.shape[1] != sig.shape[1] or aug.shape[0] > sig.shape[0]:
            raise SignalError(
                f"invariance: 'augmented' {tuple(aug.shape)} must be (B', T) for 'signal' "
                f"{tuple(sig.shape)} (B, T), B' <= B"
            )
        sig = sig[: aug.shape[0]]  # copies of the first B' clips (views.augment_fraction)
        if self.stop_gradient:
            sig = sig.detach()
        return (1.0 - pearson(aug, sig, self.eps)).mean()


class Decorrelation(nn.Module):
    """Mean squared Pearson r between the signals of clips of different groups.

    A collapsed model gives every clip the same waveform, whatever it shows (issue 12:
    pairwise r = 1.000 between two real clips, noise and a grey frame); the clips of a
    batch come from different videos, whose pulses are independent, so their signals
    should be uncorrelated over time.  The loss is ``mean_{i, j: g_i != g_j} r(y_i,
    y_j)^2`` over the anchors ``signal`` (B, T), with ``groups`` (B,) from the trainer
    (the subject of each clip's video: clips of one group may share a pulse and are
    skipped); without groups every pair counts.  1 for a collapsed model, about 1/T for
    independent noise, small for real pulses at different rates or phases.  It is the
    collapse probe's ``probe_cross_r`` (:mod:`pulsecl.engine.probe`) made a loss.

    Args:
        eps: guard against a constant signal.
    """

    requires = ("signal",)
    optional = ("groups",)

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = float(eps)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        y = inputs["signal"]
        if y.dim() != 2:
            raise SignalError(f"decorrelation: 'signal' must be (B, T), got {tuple(y.shape)}")
        b = y.shape[0]
        y = y - y.mean(dim=-1, keepdim=True)
        y = y / y.norm(dim=-1, keepdim=True).clamp_min(self.eps)
        r = y @ y.T  # (B, B) Pearson r of every pair
        groups = inputs.get("groups")
        if groups is not None:
            g = torch.as_tensor(groups, device=y.device).reshape(-1)
            if g.shape[0] != b:
                raise SignalError(f"decorrelation: 'groups' has {g.shape[0]} entries for a batch of {b}")
            use = g[None] != g[:, None]  # (B, B), other groups only
        else:
            use = ~torch.eye(b, dtype=torch.bool, device=y.device)
        if not bool(use.any()):
            return (y * 0).sum()  # one group only: nothing to compare, zero with a gradient path
        return r.square()[use].mean()

