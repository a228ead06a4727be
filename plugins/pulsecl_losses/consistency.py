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

__all__ = ["Invariance"]


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
