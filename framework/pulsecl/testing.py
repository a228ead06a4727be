"""Conformance checks for component plugins, for pulsecl's tests and for plugin authors.

Each check builds small synthetic inputs, runs the component and raises
:class:`ConformanceError` (an ``AssertionError``, so pytest reports it as a failure)
with a message saying which rule of the interface is broken.  Use them in your plugin's
tests::

    import pulsecl
    from pulsecl.testing import check_backbone

    def test_my_backbone_conforms():
        check_backbone(pulsecl.build("backbones", "mynet"))

What is checked (the interfaces are documented in the built-in plugins' docstrings):

* :func:`check_backbone`: video (B, 3, T, H, W) in [0, 1] -> (B, T) float for several
  T, H, W (odd ones too); finite; every trainable parameter gets a finite gradient and
  at least one a non-zero one; eval mode works.
* :func:`check_still_clip_is_flat` (advice, not part of the interface; the built-ins
  pass it): in eval mode a clip that does not change gives an output that does not
  change.  A backbone that fails it can draw a wave from where a frame sits in the clip
  (zero padding in time tells it), whatever the skin does, and self-supervised training
  can settle on that wave (issue 12).
* :func:`check_sampler`: same shape and dtype out as in; finite; a finite, non-zero
  gradient reaches the input; ``regularization()`` a finite scalar tensor;
  ``last_saliency`` None or (B, T, h, w) without gradient.
* :func:`check_view_generator`: by its ``stage``: a ``"proxy"`` generator called as
  ``gen(x, fs, model, generator)`` (plus ``context=``, a clip of
  ``gen.context_frames(T)`` frames starting with ``x``, when ``gen.uses_context``)
  returns ``anchor`` (B, T), ``positive`` and ``negative`` each (B, L) or B tensors (L_i,), ``factors`` and ``fs`` (B,), finite, with
  gradients reaching the model, and repeats itself for the same generator seed; a
  ``"views"`` generator called as ``gen(branches, generator)`` adds
  ``anchor_views``/``positive_views``/``negative_views`` (B, V, W) that are windows of
  the branches; an ``"augment"`` generator called as ``gen(x, fs, generator)`` returns a
  finite video of the input's shape, dtype and device, differs from its input (it
  augments), lets a gradient through to the input, and repeats itself for the same
  generator seed.  Frame rates other than 30 fps, differing per sample, are used.
* :func:`check_loss`: ``requires`` a tuple of known input keys (or keys given in
  ``inputs``); the loss of synthetic inputs (with and without its ``optional`` keys) is
  a finite float scalar; gradients reaching the inputs are finite and not all zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

__all__ = [
    "ConformanceError",
    "FixedWaveBackbone",
    "PassThroughBackbone",
    "TinyBackbone",
    "check_backbone",
    "check_loss",
    "check_sampler",
    "check_still_clip_is_flat",
    "check_view_generator",
    "loss_inputs",
]

#: Input keys :func:`check_loss` can make up, with the shapes it makes.
KNOWN_LOSS_KEYS = (
    "anchor_views",  # (B, V, W)
    "positive_views",  # (B, V, W)
    "negative_views",  # (B, V, W)
    "fs",  # (B,)
    "signal",  # (B, T)
    "target",  # (B, T)
    "augmented",  # (B, T)
    "negative",  # (B, T), the proxy's negative branch
    "extra_negatives",  # (K, G)
    "freqs",  # (G,)
    "extra_negative_groups",  # (K,) int64, -1 = none
    "groups",  # (B,) int64
)


class ConformanceError(AssertionError):
    """A component does not follow its plugin interface."""


def _fail(what: str, message: str) -> None:
    raise ConformanceError(f"{what}: {message}")


def _finite(what: str, name: str, t: torch.Tensor) -> None:
    if not bool(torch.isfinite(t).all()):
        _fail(what, f"{name} has non-finite values")


def _check_grads(what: str, params: Iterable[tuple[str, torch.Tensor]]) -> None:
    """Every tensor that requires grad got a finite gradient, and some are non-zero."""
    any_nonzero = False
    seen = False
    for name, p in params:
        if not p.requires_grad:
            continue
        seen = True
        if p.grad is None:
            continue  # unused on this path (e.g. a branch of the model); not an error
        _finite(what, f"the gradient of {name}", p.grad)
        any_nonzero = any_nonzero or bool((p.grad != 0).any())
    if seen and not any_nonzero:
        _fail(what, "no parameter or input received a non-zero gradient")


def _clip(batch: int, frames: int, size: tuple[int, int], seed: int) -> torch.Tensor:
    """A video (B, 3, T, H, W) in [0, 1]: a skin-like colour with a pulse and noise."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(frames, dtype=torch.float32) / 25.0
    pulse = 0.02 * torch.sin(2 * math.pi * 1.2 * t)  # (T,)
    base = torch.tensor([0.6, 0.45, 0.35]).view(1, 3, 1, 1, 1)
    noise = 0.05 * torch.rand(batch, 3, frames, *size, generator=g)
    return (base + pulse.view(1, 1, -1, 1, 1) + noise).clamp(0, 1)


class TinyBackbone(nn.Module):
    """A minimal backbone for testing view generators: spatial mean, then a learnt
    temporal filter.  Shape: (B, C, T, H, W) -> (B, T)."""

    def __init__(self, channels: int = 3, taps: int = 3):
        super().__init__()
        self.filter = nn.Conv1d(channels, 1, taps, padding=taps // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        trace = x.mean(dim=(3, 4))  # (B, C, T)
        trace = trace - trace.mean(dim=2, keepdim=True)
        return self.filter(trace)[:, 0]  # (B, T)


class FixedWaveBackbone(nn.Module):
    """A collapsed backbone: "k cycles per clip" whatever the input.

    The output is ``gain * sin(2 pi k t / L)`` for ``t < L``, where ``L`` is the number
    of frames that hold any non-zero pixel up to the last such frame (the clip's length
    without trailing zero padding), and 0 after: what a network that counts frames
    through its padding and BatchNorm can produce without looking at the skin (issue 12:
    about 5.3 cycles at 64 frames, 7.0 at 96).  Its loss under a proxy recipe says
    whether the recipe can be satisfied by the clip's length alone.  ``gain`` is a
    parameter so that an optimiser has something to step.  Shape: (B, C, T, H, W) ->
    (B, T).
    """

    def __init__(self, cycles: float = 5.0):
        super().__init__()
        self.cycles = float(cycles)
        self.gain = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[0], x.shape[2]
        filled = x.detach().abs().flatten(3).sum(dim=(1, 3)) > 0  # (B, T) frames with content
        steps = torch.arange(t, device=x.device)
        length = torch.where(filled, steps + 1, torch.zeros_like(steps)).amax(dim=1).clamp_min(1)  # (B,)
        phase = steps[None].to(x.dtype) / length[:, None].to(x.dtype)  # (B, T), cycles / k
        wave = torch.sin(2 * math.pi * self.cycles * phase) * (steps[None] < length[:, None]).to(x.dtype)
        return self.gain * wave


class PassThroughBackbone(nn.Module):
    """A backbone that passes the pulse through: the mean of one colour channel over
    space (green by default), mean-removed over time.  On a synthetic clip whose skin
    carries a pulse it gives that pulse, and it follows whatever the input does.
    ``gain`` is a parameter so that an optimiser has something to step.  Shape:
    (B, C, T, H, W) -> (B, T).
    """

    def __init__(self, channel: int = 1):
        super().__init__()
        self.channel = int(channel)
        self.gain = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        trace = x[:, self.channel].mean(dim=(2, 3))  # (B, T)
        return self.gain * (trace - trace.mean(dim=1, keepdim=True))


# ---------------------------------------------------------------------------------------
# Backbones and samplers
# ---------------------------------------------------------------------------------------


def check_backbone(
    module: nn.Module,
    *,
    shapes: Iterable[tuple[int, int, int]] = ((32, 8, 8), (37, 9, 11)),
    batch: int = 2,
) -> None:
    """Check a backbone on clips of each ``(T, H, W)`` in ``shapes``."""
    what = f"backbone {type(module).__name__}"
    if not isinstance(module, nn.Module):
        _fail(what, "is not a torch.nn.Module")
    module.train()
    for i, (t, h, w) in enumerate(shapes):
        x = _clip(batch, t, (h, w), seed=i)
        module.zero_grad(set_to_none=True)
        y = module(x)
        if not isinstance(y, torch.Tensor) or tuple(y.shape) != (batch, t):
            _fail(what, f"video {tuple(x.shape)} gave {getattr(y, 'shape', type(y))}; expected ({batch}, {t})")
        if y.dtype != x.dtype:
            _fail(what, f"output dtype {y.dtype} differs from the input's {x.dtype}")
        _finite(what, "the output", y)
        (y.square().mean() + y.mean()).backward()
        _check_grads(what, module.named_parameters())
    module.eval()
    with torch.no_grad():
        t, h, w = next(iter(shapes))
        y = module(_clip(1, t, (h, w), seed=99))
    if tuple(y.shape) != (1, t):
        _fail(what, f"in eval mode a ({t}-frame) clip gave {tuple(y.shape)}")
    _finite(what, "the eval-mode output", y)
    module.train()


def check_still_clip_is_flat(module: nn.Module, *, frames: int = 96, size: int = 8, tolerance: float = 1e-4) -> None:
    """In eval mode, a still clip (one random frame held for ``frames`` frames) must give
    an output whose range is at most ``tolerance`` times the output's standard deviation
    on a random clip (see the module docstring).  The module is left in eval mode."""
    what = f"backbone {type(module).__name__}"
    module.eval()
    moving = _clip(1, frames, (size, size), seed=7)
    still = moving[:, :, :1].expand(-1, -1, frames, -1, -1).contiguous()
    with torch.no_grad():
        scale = float(module(moving).std())
        y = module(still)[0]
    spread = float(y.max() - y.min())
    if not spread <= tolerance * max(scale, 1e-12):
        _fail(
            what,
            f"a still clip gave an output that moves ({spread:.3g} peak to peak, {spread / max(scale, 1e-12):.3g}x "
            "the output's spread on a moving clip): the output depends on where a frame sits in the clip; pad "
            "time with the edge frames (padding_mode='replicate') rather than zeros",
        )


def check_sampler(
    module: nn.Module, *, shape: tuple[int, int, int] = (6, 12, 10), batch: int = 2
) -> None:
    """Check a sampler on a clip of ``(T, H, W) = shape``."""
    what = f"sampler {type(module).__name__}"
    if not isinstance(module, nn.Module):
        _fail(what, "is not a torch.nn.Module")
    module.train()
    t, h, w = shape
    x = _clip(batch, t, (h, w), seed=1).requires_grad_(True)
    y = module(x)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape or y.dtype != x.dtype:
        _fail(what, f"video {tuple(x.shape)} {x.dtype} gave {getattr(y, 'shape', type(y))}; expected the same shape and dtype")
    _finite(what, "the output", y)
    reg = module.regularization()
    if not isinstance(reg, torch.Tensor) or reg.dim() != 0:
        _fail(what, f"regularization() must return a scalar tensor, got {reg!r}")
    _finite(what, "regularization()", reg)
    (y.mean() + reg).backward()
    if x.grad is None:
        _fail(what, "no gradient reaches the input video")
    _finite(what, "the input gradient", x.grad)
    if not bool((x.grad != 0).any()):
        _fail(what, "the input gradient is all zero")
    _check_grads(what, module.named_parameters())
    sal = getattr(module, "last_saliency", ...)
    if sal is ...:
        _fail(what, "has no attribute 'last_saliency' (None or (B, T, h, w))")
    if sal is not None:
        if not isinstance(sal, torch.Tensor) or sal.dim() != 4 or tuple(sal.shape[:2]) != (batch, t):
            _fail(what, f"last_saliency must be (B, T, h, w) = ({batch}, {t}, h, w), got {getattr(sal, 'shape', sal)}")
        if sal.requires_grad:
            _fail(what, "last_saliency must be detached")


# ---------------------------------------------------------------------------------------
# View generators
# ---------------------------------------------------------------------------------------


def _rows(signal: Any, batch: int, what: str, key: str) -> list[torch.Tensor]:
    if isinstance(signal, torch.Tensor) and signal.dim() == 2 and signal.shape[0] == batch:
        return list(signal.unbind(0))
    if isinstance(signal, (list, tuple)) and len(signal) == batch and all(
        isinstance(r, torch.Tensor) and r.dim() == 1 for r in signal
    ):
        return list(signal)
    _fail(what, f"'{key}' must be ({batch}, L) or a list of {batch} 1-D tensors")
    raise AssertionError  # unreachable: _fail raises


def check_view_generator(
    gen: Any,
    backbone: Callable[[torch.Tensor], torch.Tensor] | None = None,
    *,
    frames: int = 48,
    size: tuple[int, int] = (8, 8),
    batch: int = 3,
) -> None:
    """Check a view generator by its ``stage`` (``"proxy"``, ``"views"`` or ``"augment"``),
    with ``backbone`` (default :class:`TinyBackbone`) as the model."""
    what = f"view generator {type(gen).__name__}"
    stage = getattr(gen, "stage", None)
    model = backbone if backbone is not None else TinyBackbone()
    fs = torch.tensor([30.0, 25.0, 29.97][:batch] + [30.0] * max(0, batch - 3))
    x = _clip(batch, frames, size, seed=2)
    params = list(model.named_parameters()) if isinstance(model, nn.Module) else []
    if stage == "proxy":
        context = None
        if getattr(gen, "uses_context", False):
            # negatives cut from a longer context whose first T frames are the anchor
            context = _clip(batch, int(gen.context_frames(frames)), size, seed=2)
            x = context[:, :, :frames]
        kwargs = {} if context is None else {"context": context}
        out = gen(x, fs, model, generator=torch.Generator().manual_seed(0), **kwargs)
        for key in ("anchor", "positive", "negative", "factors", "fs"):
            if key not in out:
                _fail(what, f"output lacks '{key}' (has {sorted(out)})")
        if tuple(out["anchor"].shape) != (batch, frames):
            _fail(what, f"'anchor' is {tuple(out['anchor'].shape)}; expected ({batch}, {frames})")
        _finite(what, "'anchor'", out["anchor"])
        rows = _rows(out["negative"], batch, what, "negative")
        positives = _rows(out["positive"], batch, what, "positive")
        for r in rows + positives:
            _finite(what, "'negative' or 'positive'", r)
        for key in ("factors", "fs"):
            if tuple(torch.as_tensor(out[key]).shape) != (batch,):
                _fail(what, f"'{key}' must be ({batch},)")
        total = out["anchor"].square().mean() + sum(r.mean() for r in positives) + sum(r.square().mean() for r in rows)
        if isinstance(model, nn.Module):
            model.zero_grad(set_to_none=True)
        total.backward()
        _check_grads(what, params)
        again = gen(x, fs, model, generator=torch.Generator().manual_seed(0), **kwargs)
        if not torch.allclose(torch.as_tensor(again["factors"]), torch.as_tensor(out["factors"])):
            _fail(what, "the same generator seed gave different factors")
    elif stage == "views":
        anchor = model(x)  # (B, T)
        short = model(x[:, :, : frames * 3 // 4])  # (B, 3T/4): a shorter branch
        branches = {"anchor": anchor, "positive": anchor.flip(-1), "negative": short, "fs": fs}
        out = gen(branches, generator=torch.Generator().manual_seed(0))
        views = {}
        for key in ("anchor", "positive", "negative"):
            name = f"{key}_views"
            if name not in out:
                _fail(what, f"output lacks '{name}' (has {sorted(out)})")
            v = out[name]
            if not isinstance(v, torch.Tensor) or v.dim() != 3 or v.shape[0] != batch:
                _fail(what, f"'{name}' must be ({batch}, V, W), got {getattr(v, 'shape', type(v))}")
            _finite(what, f"'{name}'", v)
            views[key] = v
        if len({tuple(v.shape) for v in views.values()}) != 1:
            _fail(what, f"views differ in shape: { {k: tuple(v.shape) for k, v in views.items()} }")
        # every view is a window of its branch
        for key, v in views.items():
            source = branches[key].detach()
            for b in range(batch):
                for window in v[b].detach():
                    n = window.numel()
                    cuts = source[b].unfold(0, n, 1)  # (L - n + 1, n)
                    if not bool(torch.isclose(cuts, window).all(dim=1).any()):
                        _fail(what, f"a view of '{key}' is not a window of that branch")
        if isinstance(model, nn.Module):
            model.zero_grad(set_to_none=True)
        sum(v.square().mean() for v in views.values()).backward()
        _check_grads(what, params)
    elif stage == "augment":
        x = x.clone().requires_grad_(True)
        out = gen(x, fs, generator=torch.Generator().manual_seed(0))
        if not isinstance(out, torch.Tensor) or out.shape != x.shape or out.dtype != x.dtype or out.device != x.device:
            got = f"{tuple(out.shape)} {out.dtype}" if isinstance(out, torch.Tensor) else type(out).__name__
            _fail(what, f"gave {got} for video {tuple(x.shape)} {x.dtype}; an augmentation keeps shape, dtype and device")
        _finite(what, "the augmented video", out)
        if torch.equal(out.detach(), x.detach()):
            _fail(what, "returned its input unchanged")
        out.square().mean().backward()
        if x.grad is None or not torch.isfinite(x.grad).all() or not (x.grad != 0).any():
            _fail(what, "no finite, non-zero gradient reaches the input video")
        again = gen(x.detach(), fs, generator=torch.Generator().manual_seed(0))
        if not torch.allclose(again, out.detach()):
            _fail(what, "the same generator seed gave a different augmentation")
    else:
        _fail(what, f"has stage {stage!r}; a view generator declares stage = 'proxy', 'views' or 'augment'")


# ---------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------


def loss_inputs(
    keys: Iterable[str], *, batch: int = 3, views: int = 2, window: int = 64, frames: int = 96, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Synthetic loss inputs for ``keys``: noisy pulses at 1-2 Hz, frame rates 30, 25,
    29.97 Hz; signals and views require grad.  Shapes in :data:`KNOWN_LOSS_KEYS`."""
    g = torch.Generator().manual_seed(seed)
    fs = torch.tensor([30.0, 25.0, 29.97, 20.0][:batch] + [30.0] * max(0, batch - 4))
    hr = 1.0 + torch.rand(batch, generator=g)  # (B,) Hz

    def pulses(n: int, *lead: int) -> torch.Tensor:
        t = torch.arange(n) / fs.view(-1, *[1] * (len(lead) + 1))  # (B, ..., n) s
        phase = 2 * math.pi * torch.rand(batch, *lead, 1, generator=g)
        y = torch.sin(2 * math.pi * hr.view(-1, *[1] * (len(lead) + 1)) * t + phase)
        return (y + 0.3 * torch.randn(batch, *lead, n, generator=g)).requires_grad_(True)

    out: dict[str, torch.Tensor] = {}
    for key in keys:
        if key in ("anchor_views", "positive_views", "negative_views"):
            out[key] = pulses(window, views)
        elif key in ("signal", "target", "augmented", "negative"):
            out[key] = pulses(frames)
        elif key == "fs":
            out[key] = fs
        elif key in ("extra_negatives", "freqs"):
            from pulsecl.nn.spectral import band_grid

            grid = band_grid()
            spectra = torch.rand(5, grid.numel(), generator=g)
            out["freqs"] = grid
            out["extra_negatives"] = spectra / spectra.sum(-1, keepdim=True)
        elif key == "extra_negative_groups":
            out[key] = torch.tensor([-1, 0, 1, 2, 0])  # one per extra negative (5 made above)
        elif key == "groups":
            out[key] = torch.arange(batch) % 2  # two groups
        else:
            raise ConformanceError(
                f"check_loss cannot make up input '{key}'; pass it in inputs= "
                f"(known keys: {', '.join(KNOWN_LOSS_KEYS)})"
            )
    return out


def check_loss(loss: nn.Module, *, inputs: Mapping[str, torch.Tensor] | None = None) -> None:
    """Check a loss with synthetic inputs (``inputs`` adds or replaces keys)."""
    what = f"loss {type(loss).__name__}"
    if not isinstance(loss, nn.Module):
        _fail(what, "is not a torch.nn.Module")
    requires = getattr(type(loss), "requires", getattr(loss, "requires", None))
    if not isinstance(requires, tuple) or not all(isinstance(k, str) for k in requires):
        _fail(what, f"class attribute 'requires' must be a tuple of input keys, got {requires!r}")
    optional = tuple(getattr(loss, "optional", ()) or ())
    given = dict(inputs or {})
    for extra_keys in ((), optional):
        keys = [k for k in (*requires, *extra_keys) if k not in given]
        batch = {**loss_inputs(keys), **given}
        value = loss(batch)
        if not isinstance(value, torch.Tensor) or value.dim() != 0:
            _fail(what, f"must return a scalar tensor, got {getattr(value, 'shape', type(value))}")
        if not value.is_floating_point():
            _fail(what, f"returned dtype {value.dtype}; expected a float")
        _finite(what, "the loss", value)
        leaves = [(k, v) for k, v in batch.items() if isinstance(v, torch.Tensor) and v.requires_grad]
        for _, v in leaves:
            v.grad = None
        if value.requires_grad:
            value.backward()
        _check_grads(what, leaves)
