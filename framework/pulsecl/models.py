"""Trained models: the one route from a checkpoint (or a shipped model's name) to a model
ready for inference.

::

    from pulsecl.models import load_model, list_models

    model = load_model("runs/small/best.pt")     # a checkpoint file or a run folder
    model = load_model("pulsecl-small")           # a model shipped with pulsecl
    model.net(x)                                  # (B, 3, T, H, W) in [0, 1] -> (B, T)
    model.fs, model.clip_frames, model.window_frames(15.0), model.config

``predict``, ``live``, ``evaluate``, ``bench`` and ``export`` all load models here, so a
checkpoint means the same thing to each of them: its sampler then its backbone
(:class:`PulseNet`), in eval mode, with the frame rate and clip length it was trained
on and the config it was trained with (preprocessing, band, inference windows).

Shipped models live in ``pulsecl/pretrained/``: ``<name>.pt`` beside its model card
``<name>.md`` (data and licence, recipe, figures, what it is not good for).
:func:`list_models` lists them.

A name and a path never stand for each other where the caller says which it means
(``kind``): ``--model``/``model=`` takes a shipped model's name only, so a local folder
called ``pulsecl-small`` does not shadow the shipped model; ``--checkpoint``/
``checkpoint=`` takes a path only.  Each says which flag to use when given the other.
Without ``kind`` (``evaluate CKPT``, ``export CKPT``, :func:`load_model` by default), a
path that exists is a checkpoint and anything else is looked up by name.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulsecl.errors import CheckpointError, ConfigError

__all__ = ["PRETRAINED_DIR", "PretrainedModel", "PulseModel", "PulseNet", "list_models", "load_model",
           "optimise_for_inference", "resolve"]

#: Where the shipped models and their model cards are.
PRETRAINED_DIR = Path(__file__).with_name("pretrained")


def _pulse_net_class():
    from torch import nn

    class PulseNet(nn.Module):
        """A sampler then a backbone: video (B, 3, T, H, W), float in [0, 1] -> pulse
        (B, T).  What a checkpoint holds, what inference runs and what is exported."""

        def __init__(self, sampler: nn.Module, backbone: nn.Module):
            super().__init__()
            self.sampler = sampler
            self.backbone = backbone

        def forward(self, x):
            return self.backbone(self.sampler(x))

    return PulseNet


_PULSE_NET = None


def __getattr__(name: str) -> Any:
    global _PULSE_NET
    if name == "PulseNet":  # torch is imported on first use
        if _PULSE_NET is None:
            _PULSE_NET = _pulse_net_class()
        return _PULSE_NET
    raise AttributeError(f"module 'pulsecl.models' has no attribute '{name}'")


def optimise_for_inference(module: Any) -> Any:
    """A copy of ``module`` (in eval mode) that runs faster and gives the same output:
    each Conv3d followed by a BatchNorm3d in a Sequential is folded into one Conv3d, and
    the copy uses the channels-last 3-D memory layout, which oneDNN runs about twice as
    fast on CPU for PhysNet-sized 3-D convolutions (``benchmarks/predict_speed.py``).
    A module in training mode is returned as it is."""
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if module.training:
        return module
    fast = copy.deepcopy(module)
    has_conv3d = False
    for seq in fast.modules():
        if isinstance(seq, nn.Conv3d):
            has_conv3d = True
        if not isinstance(seq, nn.Sequential):
            continue
        for i in range(len(seq) - 1):
            if isinstance(seq[i], nn.Conv3d) and isinstance(seq[i + 1], nn.BatchNorm3d):
                seq[i] = fuse_conv_bn_eval(seq[i], seq[i + 1])
                seq[i + 1] = nn.Identity()
    if has_conv3d:
        from pulsecl.nn.layout import channels_last_3d

        fast = channels_last_3d(fast)
    return fast


@dataclass
class PulseModel:
    """A trained model ready for inference (see the module docstring).

    ``net``: :class:`PulseNet` in eval mode on ``device``; ``config``: the
    :class:`pulsecl.config.Config` it was trained with; ``clip_frames`` and ``fs``: its
    training clips' length (frames) and frame rate (Hz; None when unknown); ``path``: the
    checkpoint file; ``spec``: the checkpoint's model spec; ``name``: the shipped model's
    name, when it is one.
    """

    net: Any
    config: Any
    clip_frames: int
    fs: float | None
    path: str
    spec: dict[str, Any]
    device: Any = None
    name: str | None = None
    _fast: Any = field(default=None, repr=False)

    @property
    def backbone(self) -> Any:
        return self.net.backbone

    @property
    def sampler(self) -> Any:
        return self.net.sampler

    @property
    def label(self) -> str:
        """How results name it: the shipped model's name, else the checkpoint path."""
        return self.name or self.path

    def window_frames(self, rate: float) -> int:
        """Inference window in frames at ``rate`` Hz: ``eval.window_s`` seconds when the
        config sets it, else the training clip length."""
        window_s = float(self.config.eval.window_s or 0.0)
        return max(4, int(round(window_s * rate))) if window_s else int(self.clip_frames)

    def inference_net(self) -> Any:
        """:func:`optimise_for_inference` of ``net`` (made once)."""
        if self._fast is None:
            self._fast = optimise_for_inference(self.net)
        return self._fast


@dataclass(frozen=True)
class PretrainedModel:
    """A model shipped with pulsecl: its name, checkpoint and model card."""

    name: str
    path: Path
    card: Path
    summary: str  # the card's first line


def list_models() -> list[PretrainedModel]:
    """The models shipped in :data:`PRETRAINED_DIR`, by name."""
    out = []
    for path in sorted(PRETRAINED_DIR.glob("*.pt")):
        card = path.with_suffix(".md")
        summary = ""
        if card.is_file():
            lines = [ln.strip().lstrip("#").strip() for ln in card.read_text(encoding="utf-8").splitlines()]
            summary = next((ln for ln in lines if ln), "")
        out.append(PretrainedModel(path.stem, path, card, summary))
    return out


#: What :func:`resolve` is told a source is: a checkpoint path, a shipped model's name,
#: or either (None: a path that exists, else a name).
SOURCE_KINDS = ("checkpoint", "model")


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or (os.altsep is not None and os.altsep in text) or text.endswith(".pt") \
        or text.startswith(".") or text.startswith("~")


def resolve(source: str | os.PathLike[str], kind: str | None = None) -> tuple[Path, str | None]:
    """``(checkpoint path, shipped name or None)`` for ``source``.

    ``kind="model"``: a shipped model's name only, never a path (a folder of that name
    in the working directory changes nothing); ``kind="checkpoint"``: a path only;
    ``kind=None``: a path that exists (or looks like one) is a checkpoint, anything else
    a name.  A source of the wrong kind is a one-line :class:`CheckpointError` naming
    the flag to use instead.
    """
    from pulsecl.errors import did_you_mean

    if kind not in (None, *SOURCE_KINDS):
        raise ValueError(f"kind {kind!r}: use one of {SOURCE_KINDS} or None")
    text = str(source)
    path = Path(text)
    shipped = {m.name: m for m in list_models()}
    names = ", ".join(shipped) or "none"
    if kind == "model":
        if text in shipped:
            return shipped[text].path, text
        if _looks_like_path(text) or path.exists():
            raise CheckpointError(
                f"--model takes the name of a model shipped with pulsecl, not a path: '{text}' is "
                f"{'a file or folder' if path.exists() else 'a path'}; give it with --checkpoint (shipped: {names})"
            )
        raise CheckpointError(
            f"no shipped model '{text}'{did_you_mean(text, shipped)} (shipped: {names}; `pulsecl models` lists "
            "them; a checkpoint file or run folder goes to --checkpoint)"
        )
    if kind == "checkpoint":
        if not path.exists() and text in shipped:
            raise CheckpointError(
                f"--checkpoint takes a checkpoint file or run folder, and '{text}' is neither; it is the name of a "
                f"shipped model: use --model {text}"
            )
        return path, None
    if path.exists() or _looks_like_path(text):
        return path, None
    if text in shipped:
        return shipped[text].path, text
    raise CheckpointError(
        f"no checkpoint '{text}' and no shipped model of that name{did_you_mean(text, shipped)} "
        f"(shipped: {names}; `pulsecl models` lists them)"
    )


def _resolve(source: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """:func:`resolve` without a kind (kept for callers of the old name)."""
    return resolve(source)


def load_model(source: str | os.PathLike[str], device: Any = None, kind: str | None = None) -> PulseModel:
    """Load a checkpoint file, a run folder (its ``best.pt``, else ``last.pt``) or a
    shipped model by name (:func:`list_models`), with ``weights_only=True``; rebuild its
    sampler and backbone, weights in, eval mode, on ``device`` (default CPU).
    ``kind`` says which ``source`` is (:func:`resolve`): ``"checkpoint"`` (a path),
    ``"model"`` (a shipped name), or None (either).

    Raises :class:`CheckpointError` for a missing, unreadable or altered file, a state
    dict that does not fit the backbone it names, or a config it cannot have come with;
    a shipped model whose components are missing (a plugin disabled or broken) is
    reported as such, without blaming its file.
    """
    from pulsecl.config import Config, merge
    from pulsecl.engine.checkpoint import build_from_checkpoint, checkpoint_file, load_checkpoint

    given, name = resolve(source, kind)
    data = load_checkpoint(given)  # a run folder: its best.pt (a collapsed run's last.pt is refused)
    path = checkpoint_file(given)
    raw = data.get("config") or {}
    if not isinstance(raw, dict):
        raise CheckpointError(f"checkpoint '{path}': its 'config' entry is not a table; the file was altered")
    try:
        config = merge(Config(), {k: v for k, v in raw.items() if isinstance(v, dict)}, f"checkpoint '{path}'", saved=True)
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint '{path}': its config cannot be read: {exc}") from None
    backbone, sampler = build_from_checkpoint(data, path, what=f"shipped model '{name}'" if name else None)
    net = __getattr__("PulseNet")(sampler, backbone).eval()
    if device is not None:
        net.to(device)
    clip = int(data.get("clip_frames") or config.data.clip_frames)
    fs = float(data["fs"]) if data.get("fs") else None
    return PulseModel(net, config, clip, fs, str(path), dict(data["model"]), device=device, name=name)
