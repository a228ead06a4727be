"""A weighted sum of registered losses, built from the config's ``[loss]`` section.

The core names no loss: every term is built through the ``losses`` table, so a
plugin's losses train exactly as the built-in ones do.

``combine({"mvtl": 1.0, "bandwidth": 1.0}, {"mvtl": {"pad_factor": 2}})`` builds each
named loss through the registry (``pulsecl.build("losses", name, **options)``) and
returns a :class:`CombinedLoss` whose forward gives ``(total, terms)``:
``total = sum_k weight_k * loss_k`` (scalar with gradient) and ``terms`` the
unweighted value of every loss, detached, for logging.

Config mistakes are :class:`~pulsecl.errors.ConfigError`: an unknown loss name (with the
registry's list and suggestion), options for a loss that has no weight, a weight that is
not a finite number, and, at the first forward, a loss whose required input the run does
not provide (e.g. a supervised loss in a contrastive run).  Losses with weight 0 are
not built.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from pulsecl.errors import ConfigError, UnknownComponentError

__all__ = ["CombinedLoss", "combine", "reads"]


class CombinedLoss(nn.Module):
    """``total = sum_k weights[k] * terms[k](inputs)``.

    ``requires`` is the union of the terms' required input keys, ``optional`` the union
    of their optional ones.  Forward: ``inputs`` dict -> ``(total, {name: value})``.
    """

    def __init__(self, terms: Mapping[str, nn.Module], weights: Mapping[str, float]):
        super().__init__()
        self.terms = nn.ModuleDict(dict(terms))
        self.weights = {name: float(weights[name]) for name in self.terms}
        self.requires = tuple(dict.fromkeys(k for m in self.terms.values() for k in _keys(m, "requires")))
        self.optional = tuple(dict.fromkeys(k for m in self.terms.values() for k in _keys(m, "optional")))

    def check_inputs(self, keys: Iterable[str]) -> None:
        """Raise :class:`ConfigError` if any term needs a key not in ``keys``."""
        have = set(keys)
        for name, module in self.terms.items():
            missing = [k for k in _keys(module, "requires") if k not in have]
            if missing:
                raise ConfigError(
                    f"loss '{name}' (weight {self.weights[name]:g}) needs input "
                    f"{', '.join(repr(k) for k in missing)}, which this run does not provide "
                    f"(it provides: {', '.join(sorted(have)) or 'nothing'}); remove it from "
                    "[loss] weights or change train.mode"
                )

    def forward(self, inputs: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self.check_inputs(inputs.keys())
        total: torch.Tensor | None = None
        terms: dict[str, torch.Tensor] = {}
        for name, module in self.terms.items():
            value = module(dict(inputs))
            terms[name] = value.detach()
            weighted = self.weights[name] * value
            total = weighted if total is None else total + weighted
        if total is None:
            total = torch.zeros(())
        return total, terms

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={w:g}" for k, w in self.weights.items())


def _keys(module: nn.Module, attr: str) -> tuple[str, ...]:
    return tuple(getattr(module, attr, ()) or ())


def reads(loss: CombinedLoss, key: str) -> list[str]:
    """Names of the terms of ``loss`` that require input ``key`` (e.g. ``"target"``:
    the supervised ones)."""
    return [name for name, m in loss.terms.items() if key in _keys(m, "requires")]


def combine(
    weights: Mapping[str, float], options: Mapping[str, Mapping[str, Any]] | None = None
) -> CombinedLoss:
    """Build the losses named in ``weights`` with their ``options`` and combine them."""
    from pulsecl import build

    options = dict(options or {})
    stray = [name for name in options if name not in weights]
    if stray:
        raise ConfigError(
            f"loss.options has options for {', '.join(repr(s) for s in stray)}, which "
            f"loss.weights does not list (weights: {', '.join(weights) or 'none'}); add a "
            "weight or remove the options"
        )
    terms: dict[str, nn.Module] = {}
    for name, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
            raise ConfigError(f"loss.weights.{name} = {weight!r}: give a finite number")
        opts = options.get(name, {})
        if not isinstance(opts, Mapping):
            raise ConfigError(f"loss.options.{name} = {opts!r}: give a table of options")
        try:
            module = build("losses", name, **dict(opts))
        except UnknownComponentError as exc:
            raise ConfigError(f"loss.weights: {exc}") from None
        if weight == 0:
            continue
        if not isinstance(module, nn.Module):
            raise ConfigError(f"loss '{name}' built a {type(module).__name__}, not a torch.nn.Module")
        terms[name] = module
    return CombinedLoss(terms, {name: weights[name] for name in terms})
