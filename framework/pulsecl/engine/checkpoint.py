"""Checkpoints: written atomically, loaded with ``weights_only=True``.

A checkpoint is a plain dict of tensors and plain data (no pickled objects), so loading
one can never run code::

    {
      "format": "pulsecl-checkpoint", "format_version": 2, "pulsecl_version": "0.1.0",
      "model": {"backbone": str, "options": dict, "sampler": str, "sampler_options": dict},
      "state_dict": {...}, "sampler_state_dict": {...},
      "config": {...},                 # the resolved config (pulsecl.config.config_to_dict)
      "fs": float, "clip_frames": int, # what the model was trained on
      "train_state": {...} | None,     # optimiser, RNG, epoch/step, best score, bank: resume
    }

Format 2 records every constructor option of the backbone and sampler, the defaults
included (:func:`resolved_options`), so that a checkpoint rebuilds the model it was
trained as when a later pulsecl changes a default.  Format 1 recorded only the options
the config gave; the one default changed since is ``time_padding`` of PhysNet and
PhysFormer-lite (``"zeros"`` before, ``"replicate"`` now), so a format-1 checkpoint of
either without it is rebuilt with ``"zeros"`` (:data:`FORMAT_1_DEFAULTS`).
"""

from __future__ import annotations

import io
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

from pulsecl._version import __version__
from pulsecl.errors import CheckpointError

FORMAT = "pulsecl-checkpoint"
FORMAT_VERSION = 2
#: Options a format-1 checkpoint left to a default that has changed since (module docstring).
FORMAT_1_DEFAULTS: dict[str, dict[str, Any]] = {
    "physnet": {"time_padding": "zeros"},
    "physformer_lite": {"time_padding": "zeros"},
}

__all__ = ["FORMAT", "FORMAT_VERSION", "build_from_checkpoint", "resolved_options", "checkpoint_file", "load_checkpoint",
           "peek_config", "pickle_globals", "save_checkpoint"]


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` (see module docstring) to ``path`` atomically."""
    import torch

    from pulsecl.io import atomic_write

    data = {"format": FORMAT, "format_version": FORMAT_VERSION, "pulsecl_version": __version__}
    data.update(payload)
    # Serialise in memory first: torch.save turns a failing write (a full disk) into a
    # RuntimeError that does not say why; our own write raises the OSError itself, which
    # atomic_write reports as a StorageError naming the file.
    buf = io.BytesIO()
    torch.save(data, buf)
    with atomic_write(path, "wb") as fh:
        fh.write(buf.getbuffer())


def checkpoint_file(path: str | Path) -> Path:
    """The checkpoint file ``path`` names: the file itself, or a run folder's ``best.pt``
    (else ``last.pt``).  CheckpointError when there is none."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return path / name
        raise CheckpointError(f"'{path}' is a folder without best.pt or last.pt; give a checkpoint file")
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and validate a checkpoint (a file or a run folder, :func:`checkpoint_file`);
    every failure is a one-line CheckpointError."""
    import torch

    given = Path(path)
    path = checkpoint_file(given)
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols of foreign files
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        calls = [g for g in pickle_globals(path) if not g.startswith(_SAFE_MODULES)]
        found = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) (\S+)", str(exc))
        if calls or found is not None:
            raise CheckpointError(
                f"'{path}' would run code when loaded (it calls {calls[0] if calls else found.group(1)}): "
                "refused, nothing was run (checkpoints load with weights_only=True); "
                "use only checkpoints written by pulsecl"
            ) from None
        raise CheckpointError(f"'{path}' is not a readable checkpoint (not a torch file)") from None
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
    _check_payload(data, str(path))
    if given.is_dir() and path.name == "last.pt" and data.get("collapsed"):
        # the trainer wrote no best.pt because every epoch's model looked collapsed
        raise CheckpointError(
            f"run '{given}' has no best.pt: the model of every epoch looked collapsed (its "
            f"output barely depends on its input; probe_* in epochs.csv); give "
            f"'{path}' to use it anyway"
        )
    return data


def _check_payload(data: dict[str, Any], path: str) -> None:
    """CheckpointError for entries that are not what a pulsecl checkpoint holds."""
    import torch

    spec = data.get("model")
    if not isinstance(spec, dict) or not isinstance(spec.get("backbone"), str):
        raise CheckpointError(
            f"checkpoint '{path}': its 'model' entry is not a model spec (a dict naming a backbone); the file was altered"
        )
    for key in ("state_dict", "sampler_state_dict"):
        state = data.get(key)
        if key == "sampler_state_dict" and not state:
            continue
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            raise CheckpointError(
                f"checkpoint '{path}': '{key}' is a {type(state).__name__}, not a state dict "
                "(names -> tensors); the file was altered or not written by pulsecl"
            )
    for key in ("options", "sampler_options"):
        if not isinstance(spec.get(key, {}), dict):
            raise CheckpointError(f"checkpoint '{path}': model '{key}' is not a table; the file was altered")
    clip = data.get("clip_frames")
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, int) or clip < 4):
        raise CheckpointError(f"checkpoint '{path}': clip_frames = {clip!r} is not a clip length in frames")
    fs = data.get("fs")
    if fs is not None and (isinstance(fs, bool) or not isinstance(fs, (int, float)) or not fs > 0):
        raise CheckpointError(f"checkpoint '{path}': fs = {fs!r} is not a frame rate")


def peek_config(path: str | Path) -> dict[str, Any] | None:
    """The ``config`` entry of a checkpoint file or run folder, read without torch: for
    work that needs the model's settings while torch is still being imported (``predict``
    starts cropping the video then, :mod:`pulsecl.video.worker`).  None for anything that
    is not a torch zip holding a pulsecl checkpoint with a config table.

    Nothing is run: the unpickler makes plain containers only and refuses any global
    outside torch (tensors and storages become None; no data file is read).  It is no
    check of the file either: :func:`load_checkpoint` still loads and checks it.
    """
    try:
        path = checkpoint_file(path)
        blob = _zip_pickle(path) if zipfile.is_zipfile(path) else None
        if blob is None:
            return None
        data = _Peek(io.BytesIO(blob)).load()
    except (CheckpointError, OSError, zipfile.BadZipFile, pickle.UnpicklingError, EOFError, ValueError,
            TypeError, AttributeError, IndexError, KeyError, RuntimeError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("config"), dict):
        return None
    return data["config"]


def _zip_pickle(path: str | Path) -> bytes | None:
    """The ``data.pkl`` of a torch zip file (None when it has none)."""
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith("data.pkl")]
        return zf.read(names[0]) if names else None


def _nothing(*args: Any, **kwargs: Any) -> None:
    """What :class:`_Peek` makes of torch's tensor and storage builders."""
    return None


class _Peek(pickle.Unpickler):
    """Unpickles a torch checkpoint's ``data.pkl`` into plain containers (tensors None)."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            import collections

            return collections.OrderedDict
        if module == "torch" or module.startswith("torch."):
            return _nothing
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not read without torch")

    def persistent_load(self, pid: Any) -> None:
        return None


# Globals every torch checkpoint names (tensor rebuilding, ordered dicts): not "code".
_SAFE_MODULES = ("torch.", "collections.", "_codecs.")


def pickle_globals(path: str | Path, limit: int = 10_000) -> list[str]:
    """The ``module.name`` callables a pickle would import when loaded (a torch zip's
    ``data.pkl``, or a plain pickle file, or a legacy torch file's pickles), read with
    :mod:`pickletools` without loading anything; [] if it cannot be parsed."""
    import io
    import pickletools

    try:
        if zipfile.is_zipfile(path):
            blob = _zip_pickle(path)
            if blob is None:
                return []
        else:
            with open(path, "rb") as fh:
                blob = fh.read(64 * 2**20)
    except (OSError, zipfile.BadZipFile, RuntimeError):
        return []
    found: list[str] = []
    stream = io.BytesIO(blob)
    strings: list[str] = []
    try:
        while stream.tell() < len(blob) and len(found) < limit:  # a legacy file holds several pickles
            for op, arg, _ in pickletools.genops(stream):
                if op.name in ("GLOBAL", "INST"):
                    found.append(str(arg).replace(" ", "."))
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.append(f"{strings[-2]}.{strings[-1]}")
                elif isinstance(arg, str):
                    strings.append(arg)
    except Exception:  # noqa: BLE001 - not a pickle (or not any more): what was found stands
        pass
    # protocols < 3 spell some modules the Python 2 way
    py2 = {"__builtin__": "builtins", "copy_reg": "copyreg"}
    return [py2.get(g.split(".", 1)[0], g.split(".", 1)[0]) + g[len(g.split(".", 1)[0]):] for g in found]


def resolved_options(component: Any, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` plus the defaults of every other keyword of ``type(component)``'s
    constructor that has a plain default (a number, string, bool, None or a list or
    tuple of them): the options that rebuild the component as it is."""
    import inspect

    def plain(v: Any) -> bool:
        if isinstance(v, (list, tuple)):
            return all(plain(x) for x in v)
        return v is None or isinstance(v, (bool, int, float, str))

    out = dict(options)
    try:
        params = inspect.signature(type(component).__init__).parameters.values()
    except (TypeError, ValueError):
        return out
    for p in params:
        if p.name == "self" or p.name in out or p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            continue
        if p.default is not inspect.Parameter.empty and plain(p.default):
            out[p.name] = list(p.default) if isinstance(p.default, tuple) else p.default
    return out


def build_from_checkpoint(data: dict[str, Any], path: str | Path = "checkpoint", what: str | None = None):
    """Rebuild (backbone, sampler) from a loaded checkpoint, weights in, eval mode.

    ``what`` names the model in errors (default ``checkpoint '<path>'``; a shipped model
    passes its name, so that a component missing because a plugin is broken or disabled
    does not read as a fault of the file; the registry's message names such plugins)."""
    import pulsecl

    spec = data["model"]
    options = dict(spec.get("options", {}))
    if data.get("format_version", 1) < 2:
        for key, value in FORMAT_1_DEFAULTS.get(spec["backbone"], {}).items():
            options.setdefault(key, value)
    try:
        model = pulsecl.build("backbones", spec["backbone"], **options)
        sampler = pulsecl.build("samplers", spec.get("sampler", "identity"), **spec.get("sampler_options", {}))
    except pulsecl.PulseclError as exc:
        label = what or f"checkpoint '{path}'"
        raise CheckpointError(f"{label}: cannot rebuild its model: {exc}") from None
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
