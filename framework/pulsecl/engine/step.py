"""The computation of one training step, built from the config: the sampler, backbone
and view stages as one module (:class:`TrainingModule`), the losses, and the checks that
the chosen pieces fit together (an augmentation some loss reads).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from pulsecl.config import Config
from pulsecl.errors import ConfigError
from pulsecl.plugins import get_plugin_manager

__all__ = ["PROXY_KEYS", "TrainingModule", "build_losses", "build_view", "check_augment", "check_pseudo_labels", "extra_negatives"]

#: Loss inputs that only the contrastive proxy task makes (its branches' views, the
#: negative branch, and the bank's negatives, which are read against the anchor's spectra):
#: a self-supervised run whose losses read none of them skips the proxy's backbone passes.
PROXY_KEYS = frozenset(
    {"anchor_views", "positive_views", "negative_views", "negative", "extra_negatives",
     "extra_negative_groups", "freqs"}
)


class TrainingModule(nn.Module):
    """Sampler + backbone + view generators: the forward pass of one training step.

    ``forward(x, fs, generator)`` returns a dict of loss inputs:
    contrastive: ``anchor_views``, ``positive_views``, ``negative_views`` (B, V, W),
    ``signal`` (B, T) (the anchor) and ``negative`` (the negative branch);
    supervised: ``signal`` (B, T).

    ``x`` may be longer than the anchor: with ``clip_frames = T`` set and a proxy that
    ``uses_context`` (equal-length negatives), ``x`` holds ``proxy.context_frames(T)``
    frames, the anchor is its first T frames and the negatives are cut from all of it.

    With an ``augment`` view generator it runs the sampler and backbone on ``augment(x)``
    for the first ``ceil(augment_fraction * B)`` anchors and returns ``augmented`` (B', T)
    (one more backbone pass, for the invariance loss).  Cheaper placements were measured
    and dropped (docs/measurements.md, "Stop 20" and "Stop 26"): motion on the negatives
    or on the anchor, and a half-size copy, each lost the motion result.
    """

    def __init__(
        self,
        backbone: nn.Module,
        sampler: nn.Module,
        proxy=None,
        windows=None,
        augment=None,
        augment_fraction: float = 1.0,
    ):
        super().__init__()
        self.backbone = backbone
        self.sampler = sampler
        self.proxy = proxy
        self.windows = windows
        self.augment = augment
        self.augment_fraction = float(augment_fraction)
        self.clip_frames: int | None = None  # anchor length T; None = all of x

    def forward(self, x: torch.Tensor, fs: torch.Tensor, generator: torch.Generator | None = None) -> dict:
        t = self.clip_frames or x.shape[2]
        uses_context = self.proxy is not None and bool(getattr(self.proxy, "uses_context", False))
        clip = x[:, :, :t]  # (B, C, T, H, W), the anchor clip
        augmented = None
        if self.augment is not None:
            # before the anchor, so that a sampler's regularisation (which looks at its
            # last call) sees the anchor clip
            n = max(1, math.ceil(self.augment_fraction * x.shape[0]))
            augmented = self.backbone(self.sampler(self.augment(clip[:n], fs[:n], generator=generator)))
        if self.proxy is None:
            out = {"signal": self.backbone(self.sampler(clip))}
        else:
            if uses_context:
                seen = self.sampler(x)  # (B, C, T_c, H, W)
                branches = self.proxy(seen[:, :, :t], fs, self.backbone, generator=generator, context=seen)
            else:
                branches = self.proxy(self.sampler(clip), fs, self.backbone, generator=generator)
            views = self.windows(branches, generator=generator)
            out = dict(views)
            out["signal"] = branches["anchor"]
            out["negative"] = branches["negative"]
        if augmented is not None:
            out["augmented"] = augmented
        return out


def build_losses(config: Config):
    """The weighted losses of ``[loss]``, built through the registry.  A supervised run
    needs a term that reads the reference pulse (``"target"`` in its ``requires``)."""
    from pulsecl.engine.losses import combine, reads

    losses = combine(dict(config.loss.weights), dict(config.loss.options))
    if config.train.mode == "supervised" and not reads(losses, "target"):
        raise ConfigError(
            "train.mode = 'supervised' needs a supervised loss in [loss] weights (one that reads "
            "the reference pulse), e.g. --set loss.weights='{neg_pearson = 1.0}'"
        )
    return losses


def check_pseudo_labels(config: Config, losses) -> None:
    """``data.pseudo_labels`` names a classical method, in self-supervised training, and
    some loss reads the target it makes; a self-supervised loss that reads a target needs
    it (the reference pulse is never loaded there)."""
    from pulsecl.engine.losses import reads

    method = config.data.pseudo_labels
    readers = reads(losses, "target")
    if not method:
        if readers and config.train.mode != "supervised":
            raise ConfigError(
                f"loss '{readers[0]}' compares the signal with a reference pulse, which self-supervised "
                "training never loads; set data.pseudo_labels = 'pos' (a classical method's pulse as the "
                "target), train.mode = 'supervised', or remove it from loss.weights"
            )
        return
    if config.train.mode == "supervised":
        raise ConfigError(
            f"data.pseudo_labels = '{method}' is for self-supervised training; supervised training "
            "reads the reference pulse: set data.pseudo_labels = '' or train.mode = 'contrastive'"
        )
    pm = get_plugin_manager()
    if method not in pm.table("classical_methods"):
        raise ConfigError(
            f"data.pseudo_labels = '{method}': not a classical method; give one of: "
            f"{', '.join(pm.components('classical_methods')) or 'none'}"
        )
    if not readers:
        raise ConfigError(
            f"data.pseudo_labels = '{method}' makes a target that no loss in [loss] weights reads; "
            "add neg_pearson = 1.0 to loss.weights or set data.pseudo_labels = ''"
        )


def build_view(kind: str, key: str, name: str, options: dict[str, Any]) -> Any:
    """Build ``views.<key> = name`` from the table of ``kind``; a name that belongs to
    another view stage says so (a proxy task given as the augmentation, say)."""
    from pulsecl.registry import STAGE_KINDS

    pm = get_plugin_manager()
    if name not in pm.table(kind):
        for other in STAGE_KINDS.values():
            if other != kind and name in pm.table(other):
                raise ConfigError(
                    f"views.{key} = '{name}' is one of the {other.replace('_', ' ')}, not of the "
                    f"{kind.replace('_', ' ')}; give one of: {', '.join(pm.components(kind)) or 'none'}"
                    + (" (or '' for none)" if kind == "augmentations" else "")
                )
    return pm.build(kind, name, **dict(options))


def check_augment(config: Config, augment, losses, supervised: bool, proxy=None) -> None:
    """An augmented branch costs a backbone pass: make one only when a loss reads it."""
    name = config.views.augment
    readers = [n for n, m in losses.terms.items() if "augmented" in (getattr(m, "requires", ()) or ())]
    if augment is not None:
        if "augmented" not in set(losses.requires) | set(losses.optional):
            raise ConfigError(
                f"views.augment = '{name}' makes an augmented copy of every clip that no loss "
                "in [loss] weights reads; add invariance = 1.0 to loss.weights or set views.augment = ''"
            )
        return
    if readers:
        why = "supervised training makes none" if supervised else "views.augment is ''"
        raise ConfigError(
            f"loss '{readers[0]}' compares the signal of augmented clips, but {why}; remove it "
            "from loss.weights" + ("" if supervised else " or set views.augment = 'motion'")
        )


def extra_negatives(results, device) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Concatenate the ``pulsecl_extra_negatives`` results: each a tensor (K, F), or a
    tuple ``(spectra (K, F), groups (K,))``; groups default to -1 (no group: a negative
    for every anchor).  Returns ``(spectra (sum K, F), groups (sum K,))`` or None."""
    spectra, groups = [], []
    for r in results:
        if r is None:
            continue
        if isinstance(r, (tuple, list)):
            e, g = r
        else:
            e, g = r, None
        if e is None or e.numel() == 0:
            continue
        e = e.to(device)
        spectra.append(e)
        groups.append(
            torch.full((e.shape[0],), -1, dtype=torch.long, device=device) if g is None else g.to(device, torch.long)
        )
    if not spectra:
        return None
    return torch.cat(spectra), torch.cat(groups)
