"""The typed contracts of pulsecl's components.

Every kind of component a plugin can register has a :class:`typing.Protocol` here: what
the core calls on it, with the tensor shapes.  They are ``runtime_checkable``, so
``isinstance(obj, Backbone)`` checks that the methods exist (not their signatures);
:mod:`pulsecl.testing` checks the behaviour.  CONTRIBUTING.md documents each one beside
the hook that registers it.

Shapes: video ``(B, C, T, H, W)`` float in [0, 1] (C = 3, RGB); signals ``(B, T)``; RGB
traces ``(T, 3)``; frame rates ``fs`` in Hz, a float or a ``(B,)`` tensor; frequencies in
Hz.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import torch

__all__ = [
    "Augmentation",
    "Backbone",
    "ClassicalMethod",
    "Extractor",
    "FaceDetector",
    "HeartRateMetric",
    "Loss",
    "NegativeBank",
    "Preset",
    "ProxyTask",
    "Sampler",
    "ViewWindows",
]


@runtime_checkable
class Backbone(Protocol):
    """``torch.nn.Module``: video (B, 3, T, H, W) in [0, 1] -> pulse (B, T), for any
    T it supports (at least its documented minimum) and any frame size; normalises its
    own input.  Registered with ``pulsecl_register_backbones``."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def state_dict(self) -> dict[str, Any]: ...


@runtime_checkable
class Sampler(Protocol):
    """``torch.nn.Module``: video (B, C, T, H, W) -> video of the same shape, before the
    backbone; ``regularization()`` is a scalar added to the training loss (0 for none).
    Registered with ``pulsecl_register_samplers``."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def regularization(self) -> torch.Tensor | float: ...


@runtime_checkable
class ProxyTask(Protocol):
    """The contrastive proxy task (stage ``"proxy"``): makes the anchor, positive and
    negative branches of a batch.

    ``task(x, fs, model, generator=None) -> dict`` with at least ``"anchor"`` (B, T),
    ``"positive"`` ((B, T') or a list of B tensors) and ``"negative"`` ((B, L) or a
    list), and ``"fs"`` (B,).  ``model`` maps video (N, C, T', H, W) to (N, T'): the
    sampler and backbone.  Registered with ``pulsecl_register_proxy_tasks``.
    """

    stage: str

    def __call__(self, x: torch.Tensor, fs: Any, model: Any, generator: Any = None) -> dict[str, Any]: ...


@runtime_checkable
class ViewWindows(Protocol):
    """Cuts views from the branches (stage ``"views"``): ``windows(branches,
    generator=None) -> dict``, the branches plus ``"<branch>_views"`` (B, V, W) for each
    branch present.  Registered with ``pulsecl_register_view_windows``."""

    stage: str

    def __call__(self, branches: dict[str, Any], generator: Any = None) -> dict[str, Any]: ...


@runtime_checkable
class Augmentation(Protocol):
    """A nuisance added to a clip that leaves its pulse alone (stage ``"augment"``):
    ``augment(x, fs, generator=None) -> video`` of the same shape; its signal reaches the
    losses as ``"augmented"`` (B, T).  Registered with ``pulsecl_register_augmentations``."""

    stage: str

    def __call__(self, x: torch.Tensor, fs: Any, generator: Any = None) -> torch.Tensor: ...


@runtime_checkable
class Loss(Protocol):
    """``torch.nn.Module``: ``loss(inputs) -> scalar tensor``, ``inputs`` a dict of
    tensors; ``requires`` names the keys it reads (a supervised loss requires
    ``"target"``), ``optional`` (if present) the keys it uses when there.  The keys are
    listed in CONTRIBUTING.md ("Loss inputs").  Registered with
    ``pulsecl_register_losses``."""

    requires: tuple[str, ...]

    def __call__(self, inputs: dict[str, Any]) -> torch.Tensor: ...


@runtime_checkable
class NegativeBank(Protocol):
    """A store of past spectra that supplies extra negatives (see
    :mod:`pulsecl_bank`).  Registered with ``pulsecl_register_negative_banks``."""

    def update(self, anchor_spectra: Any, negative_spectra: Any, freqs: Any) -> None: ...

    def negatives(self, freqs: Any = None, device: Any = None, dtype: Any = None) -> Any: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


@runtime_checkable
class FaceDetector(Protocol):
    """``detect(frame_rgb (H, W, 3) uint8) -> (x, y, w, h) | None``: the largest face,
    in pixels.  Registered with ``pulsecl_register_face_detectors``."""

    def detect(self, frame: np.ndarray) -> tuple[int, int, int, int] | None: ...


@runtime_checkable
class ClassicalMethod(Protocol):
    """``method(trace (T, 3), fs) -> pulse (T,)``, rising with blood volume.
    Registered with ``pulsecl_register_classical_methods``."""

    def __call__(self, trace: np.ndarray, fs: float) -> np.ndarray: ...


@runtime_checkable
class HeartRateMetric(Protocol):
    """A metric of ``inputs == ("pred_hr", "ref_hr")``: ``metric(pred (N,), ref (N,))``
    -> a number or an object with ``summary(name) -> dict``; summaries
    (:func:`pulsecl.engine.metrics.summarize_hr`) gather every registered one.
    Registered with ``pulsecl_register_metrics``."""

    inputs: tuple[str, ...]

    def __call__(self, pred_hr: Any, ref_hr: Any) -> Any: ...


@runtime_checkable
class Extractor(Protocol):
    """Turns crops streamed in chunk by chunk into a pulse (:mod:`pulsecl.extractors`):
    ``adapt(video_fs)`` before the first chunk, ``feed(crops (n, S, S, 3) uint8, ts (n,)
    s)``, ``finish()``, then ``pulse(grid, fs)`` on the video's uniform time grid and
    ``recent_pulse(n, fs) -> (pulse, grid)`` for live readings; ``timestamps`` are the
    times of the frames fed, ``n_frames`` how many are final."""

    n_frames: int
    timestamps: np.ndarray

    def adapt(self, video_fs: float) -> None: ...

    def feed(self, crops: np.ndarray, ts: np.ndarray) -> None: ...

    def finish(self) -> None: ...

    def pulse(self, grid: np.ndarray, fs: float) -> np.ndarray: ...

    def recent_pulse(self, n: int, fs: float) -> tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class Preset(Protocol):
    """A post-processing pipeline from a pulse to heart rates
    (:mod:`pulsecl.signal.presets`): ``process`` filters the pulse; ``window_rates``
    gives the rate (Hz) of each row of processed windows (W, L), what the heart-rate
    analysis calls; ``heart_rate`` and ``hr_over_time`` are the whole-signal and
    sliding-window conveniences built on them."""

    def process(self, pulse: Any, fs: float, diff: bool = False, band_hz: Any = None) -> np.ndarray: ...

    def window_rates(self, segments: np.ndarray, fs: float, band_hz: tuple[float, float]) -> np.ndarray: ...

    def heart_rate(self, pulse: Any, fs: float, diff: bool = False, band_hz: Any = None) -> Any: ...

    def hr_over_time(self, pulse: Any, fs: float, window_s: float = 10.0, stride_s: float = 1.0,
                     diff: bool = False, band_hz: Any = None) -> tuple[np.ndarray, np.ndarray]: ...
