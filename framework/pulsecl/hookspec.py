"""Hook specifications: the whole plugin interface of pulsecl.

A plugin is a module (or any object) with functions named after these hooks, either
decorated with :data:`pulsecl.hookimpl` or simply named ``pulsecl_*``.  pluggy calls hooks
with keyword arguments only, and an implementation may accept a *subset* of a hook's
arguments, so new arguments can be added here without breaking plugins; renaming one
would break them.

Every hook is documented in CONTRIBUTING.md with its exact signature (a test checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import torch

    from pulsecl.config import Config
    from pulsecl.plugins import PulseclPluginManager
    from pulsecl.registry import Registry

PROJECT = "pulsecl"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---------------------------------------------------------------------------------------
# Component tables.  Each hook fills one named table; all implementations are called.
# ``registry.add(name, factory, description=None)`` registers a component, built later
# with ``factory(**options)``.  A name taken twice is an error that names both plugins.
# ---------------------------------------------------------------------------------------


@hookspec
def pulsecl_register_backbones(registry: Registry) -> None:
    """Register backbones: ``torch.nn.Module`` mapping video (B, C, T, H, W), float in
    [0, 1], to a pulse signal (B, T).  The module normalises its own input."""


@hookspec
def pulsecl_register_proxy_tasks(registry: Registry) -> None:
    """Register contrastive proxy tasks (:class:`pulsecl.protocols.ProxyTask`): make the
    anchor, positive and negative branches of a batch (e.g. frequency resampling)."""


@hookspec
def pulsecl_register_view_windows(registry: Registry) -> None:
    """Register view windows (:class:`pulsecl.protocols.ViewWindows`): cut the
    branches' signals into views (e.g. multi-view temporal windows)."""


@hookspec
def pulsecl_register_augmentations(registry: Registry) -> None:
    """Register augmentations (:class:`pulsecl.protocols.Augmentation`): a nuisance
    added to a clip that leaves its pulse alone (e.g. periodic head motion)."""


@hookspec
def pulsecl_register_view_generators(registry: Registry) -> None:
    """Deprecated (goes away in pulsecl 0.3): register proxy tasks, view windows and
    augmentations in one table, told apart by each component's ``stage`` attribute
    (``"proxy"``, ``"views"``, ``"augment"``); each is moved to the table of its stage,
    with a DeprecationWarning.  Use the three hooks above."""


@hookspec
def pulsecl_register_samplers(registry: Registry) -> None:
    """Register samplers: ``torch.nn.Module`` mapping video (B, C, T, H, W) to video of
    the same shape before the backbone (identity, saliency-based zoom, ...)."""


@hookspec
def pulsecl_register_losses(registry: Registry) -> None:
    """Register losses: ``torch.nn.Module`` returning a scalar; combined with weights
    from the config (``[loss] weights``)."""


@hookspec
def pulsecl_register_negative_banks(registry: Registry) -> None:
    """Register negative banks: stores of past spectra that supply extra negatives."""


@hookspec
def pulsecl_register_datasets(registry: Registry) -> None:
    """Register datasets: loaders that list a dataset's videos, subjects and reference
    pulses from a root folder."""


@hookspec
def pulsecl_register_face_detectors(registry: Registry) -> None:
    """Register face detectors: objects with ``detect(frame_rgb) -> (x, y, w, h) | None``
    (frame uint8 RGB (H, W, 3); the largest face, in pixels)."""


@hookspec
def pulsecl_register_classical_methods(registry: Registry) -> None:
    """Register classical rPPG methods: callables mapping an RGB trace (T, 3) sampled at
    ``fs`` Hz to a pulse signal (T,)."""


@hookspec
def pulsecl_register_metrics(registry: Registry) -> None:
    """Register metrics: callables comparing predictions with references."""


# ---------------------------------------------------------------------------------------
# Lifecycle hooks called by the trainer.
# ---------------------------------------------------------------------------------------


@hookspec
def pulsecl_configure(config: Config, manager: PulseclPluginManager) -> None:
    """Called once the config is final, before training starts.

    A helper that matters only when an option is on registers itself here with
    ``manager.register(obj, name)`` (the negative bank does this when
    ``config.bank.size > 0``).
    """


@hookspec
def pulsecl_extra_negatives(
    spectra: torch.Tensor, freqs: torch.Tensor, step: int, groups: torch.Tensor | None
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None:
    """Return extra negative spectra for this batch, or None.

    ``spectra`` (B, F) are the batch's anchor power spectra, normalised to sum 1 over the
    band, on the frequency grid ``freqs`` (F,) in Hz; ``groups`` (B,) int64 the group
    (subject index) of each anchor's video, or None.  Return a tensor (K, F) on the same
    grid and device (no gradient needed), or a tuple ``(spectra (K, F), groups (K,))``
    giving each entry's group (-1 = none): an anchor is never contrasted with entries of
    its own group.  Results of all implementations are concatenated along the first
    dimension.
    """


@hookspec
def pulsecl_train_step_end(step: int, outputs: dict[str, Any]) -> None:
    """Called after each optimiser step.

    ``outputs`` holds at least ``"loss"`` (float), ``"anchor_spectra"`` and
    ``"negative_spectra"`` ((B, F) tensors, detached, on the grid ``"freqs"`` (F,) Hz),
    and ``"groups"`` ((B,) int64, the group of each anchor's video, or None).
    """


# ---------------------------------------------------------------------------------------
# Reporting.
# ---------------------------------------------------------------------------------------


@hookspec
def pulsecl_report_header(config: Config) -> list[str] | None:
    """Return lines that go into every run's metadata (training runs, benchmark
    records, predictions), e.g. ``["myplugin: cache at /data/x"]``."""


def hook_signatures() -> dict[str, str]:
    """``{hook name: "def name(arg: type, ...) -> type"}`` for every hook, exactly as
    written above (CONTRIBUTING.md quotes them; a test keeps the two equal)."""
    import inspect
    import sys

    module = sys.modules[__name__]
    out = {}
    for name in sorted(dir(module)):
        if not name.startswith("pulsecl_"):
            continue
        fn = getattr(module, name)
        ann = fn.__annotations__
        args = ", ".join(
            f"{p}: {ann[p]}" if p in ann else p for p in inspect.signature(fn).parameters
        )
        out[name] = f"def {name}({args}) -> {ann.get('return', 'None')}"
    return out
