"""Checkpoints: written atomically, loaded with ``weights_only=True``.

A checkpoint is a plain dict of tensors and plain data (no pickled objects), so loading
one can never run code::

    {
      "format": "pulsecl-checkpoint", "format_version": 1, "pulsecl_version": "0.1.0",
      "model": {"backbone": str, "options": dict, "sampler": str, "sampler_options": dict},
      "state_dict": {...}, "sampler_state_dict": {...},
      "config": {...},                 # the resolved config (pulsecl.config.config_to_dict)
      "fs": float, "clip_frames": int, # what the model was trained on
      "train_state": {...} | None,     # optimiser, RNG, epoch/step, best score, bank: resume
    }
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

from pulsecl._version import __version__
from pulsecl.errors import CheckpointError

FORMAT = "pulsecl-checkpoint"
FORMAT_VERSION = 1

__all__ = ["FORMAT", "save_checkpoint", "load_checkpoint", "build_from_checkpoint"]


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (see module docstring) to ``path`` atomically."""
    import torch

    from pulsecl.io import atomic_write

    data = {"format": FORMAT, "format_version": FORMAT_VERSION, "pulsecl_version": __version__}
    data.update(payload)
    with atomic_write(path, "wb") as fh:
        torch.save(data, fh)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and validate a checkpoint; every failure is a one-line CheckpointError."""
    import torch

    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    if path.is_dir():
        if (path / "best.pt").is_file():
            return load_checkpoint(path / "best.pt")
        if (path / "last.pt").is_file():
            data = load_checkpoint(path / "last.pt")
            if data.get("collapsed"):
                # the trainer wrote no best.pt because every epoch's model looked collapsed
                raise CheckpointError(
                    f"run '{path}' has no best.pt: the model of every epoch looked collapsed (its "
                    f"output barely depends on its input; probe_* in epochs.csv); give "
                    f"'{path / 'last.pt'}' to use it anyway"
                )
            return data
        raise CheckpointError(f"'{path}' is a folder without best.pt or last.pt; give a checkpoint file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if found is None:
            raise CheckpointError(f"'{path}' is not a readable checkpoint (not a torch file)") from None
        raise CheckpointError(
            f"'{path}' holds objects other than tensors and plain data ({found.group(1)}), "
            "so it was not loaded (weights_only=True); only use checkpoints written by pulsecl"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"'{path}' is not a readable checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(
            f"'{path}' is not a pulsecl checkpoint (a state dict or other file without "
            f"the '{FORMAT}' header); train with `pulsecl train` to make one"
        )
    for key in ("model", "state_dict"):
        if key not in data:
            raise CheckpointError(f"checkpoint '{path}' has no '{key}' entry; it is damaged")
    return data


def build_from_checkpoint(data: dict[str, Any], path: str | Path = "checkpoint"):
    """Rebuild (backbone, sampler) from a loaded checkpoint, weights in, eval mode."""
    import pulsecl

    spec = data["model"]
    try:
        model = pulsecl.build("backbones", spec["backbone"], **spec.get("options", {}))
        sampler = pulsecl.build("samplers", spec.get("sampler", "identity"), **spec.get("sampler_options", {}))
    except pulsecl.PulseclError as exc:
        raise CheckpointError(f"checkpoint '{path}': cannot rebuild its model: {exc}") from None
    _load_state(model, data["state_dict"], f"backbone '{spec['backbone']}'", path)
    if data.get("sampler_state_dict"):
        _load_state(sampler, data["sampler_state_dict"], f"sampler '{spec.get('sampler')}'", path)
    model.eval()
    sampler.eval()
    return model, sampler


def _load_state(module, state: dict, what: str, path) -> None:
    missing, unexpected = [], []
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} (e.g. {unexpected[0]})")
        if shapes:
            k = shapes[0]
            parts.append(f"shape mismatch at {k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)}")
        raise CheckpointError(
            f"checkpoint '{path}' does not fit {what}: {'; '.join(parts)}; it comes from a "
            "different backbone or options"
        )
    module.load_state_dict(state)
