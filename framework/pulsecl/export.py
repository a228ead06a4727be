"""Export a trained backbone for deployment: TorchScript or ONNX.

::

    from pulsecl.export import export

    export("run/best.pt", "model.pt")                    # TorchScript
    export("run/best.pt", "model.onnx", format="onnx")   # needs: pip install 'pulsecl[export]'

The exported model is the checkpoint's sampler followed by its backbone
(:class:`pulsecl.models.PulseNet`, loaded by :func:`pulsecl.models.load_model`), in eval mode:
video ``(B, 3, T, H, W)`` float in [0, 1] -> pulse ``(B, T)``, the raw backbone output
(``pulsecl.predict`` z-scores each window and overlap-adds them; a deployment does the
same).  It is traced on one example of ``clip_frames`` frames at the crop size the
checkpoint was trained with; the batch size and the number of frames stay free.  The
file is written atomically, after a check that the exported model reproduces the
original on that example.
"""

from __future__ import annotations

import importlib.util
import io
import os
from pathlib import Path
from typing import Any

from pulsecl.errors import CheckpointError, ConfigError

__all__ = ["FORMATS", "Deployable", "export", "example_input"]

FORMATS = ("torchscript", "onnx")


def __getattr__(name: str) -> Any:
    if name == "Deployable":  # the module exported: pulsecl.models.PulseNet
        from pulsecl.models import PulseNet

        return PulseNet
    raise AttributeError(f"module 'pulsecl.export' has no attribute '{name}'")


def example_input(loaded: Any, frames: int | None = None, seed: int = 0):
    """A reproducible example video (1, 3, T, S, S) for tracing and checking."""
    import torch

    size = int(loaded.config.preprocess.size)
    t = int(frames or loaded.clip_frames)
    g = torch.Generator().manual_seed(seed)
    # A mid-grey video with small per-pixel changes, like skin crops.
    return 0.5 + 0.05 * torch.rand((1, 3, t, size, size), generator=g)


def _check_same(expected, got, what: str, tol: float = 1e-4) -> float:
    import torch

    got = torch.as_tensor(got, dtype=torch.float32)
    if tuple(got.shape) != tuple(expected.shape):
        raise CheckpointError(f"{what}: output shape {tuple(got.shape)}, the original gives {tuple(expected.shape)}")
    scale = float(expected.abs().max()) or 1.0
    err = float((got - expected).abs().max()) / scale
    if err > tol:
        raise CheckpointError(f"{what}: output differs from the original by {err:.2e} (relative); not written")
    return err


def export(
    checkpoint: str | os.PathLike[str],
    out: str | os.PathLike[str],
    format: str = "torchscript",
    frames: int | None = None,
    opset: int = 17,
) -> dict[str, Any]:
    """Export ``checkpoint``'s sampler + backbone to ``out``.

    Returns ``{"path", "format", "input_shape", "max_rel_error"}``: the check of the
    exported model against the original on the example input.

    Raises:
        ConfigError: an unknown format, or ONNX without the ``onnx`` package.
        CheckpointError: a bad checkpoint, or an export that does not reproduce it.
    """
    import torch

    from pulsecl.models import load_model

    if format not in FORMATS:
        raise ConfigError(f"export format '{format}': use {' or '.join(FORMATS)}")
    if format == "onnx" and importlib.util.find_spec("onnx") is None:
        raise ConfigError(
            "--format onnx needs the 'onnx' package, which is not installed: pip install 'pulsecl[export]' (or pip install onnx)"
        )
    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"export output '{out}' is a folder; give a file name (e.g. model.pt or model.onnx)")
    loaded = load_model(checkpoint, torch.device("cpu"))
    model = loaded.net
    x = example_input(loaded, frames)
    with torch.no_grad():
        expected = model(x)
    buf = io.BytesIO()
    if format == "torchscript":
        import warnings

        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about the backbone's input checks
            traced = torch.jit.trace(model, (x,), check_trace=False)
            torch.jit.save(traced, buf)  # deprecated in torch 2.13 (towards torch.export), still supported
            buf.seek(0)
            reloaded = torch.jit.load(buf, map_location="cpu")
        with torch.no_grad():
            err = _check_same(expected, reloaded(x), f"TorchScript export of '{checkpoint}'")
    else:
        err = _export_onnx(model, x, expected, buf, opset, str(checkpoint))
    from pulsecl.io import atomic_write

    with atomic_write(out, "wb") as fh:
        fh.write(buf.getvalue())
    return {"path": out, "format": format, "input_shape": tuple(x.shape), "max_rel_error": err}


def _export_onnx(model, x, expected, buf: io.BytesIO, opset: int, name: str) -> float | None:
    """Export with the TorchScript-based ONNX exporter (needs only ``onnx``); check with
    onnxruntime, or onnx's reference evaluator, whichever is installed."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (x,), buf, input_names=["video"], output_names=["pulse"], opset_version=opset,
            dynamic_axes={"video": {0: "batch", 2: "frames"}, "pulse": {0: "batch", 1: "frames"}},
            dynamo=False,
        )
    data = buf.getvalue()
    got = run_onnx(data, x.numpy())
    if got is None:
        return None
    return _check_same(expected, got, f"ONNX export of '{name}'")


def run_onnx(model_bytes: bytes, x) -> Any:
    """Run an ONNX model on ``x`` (numpy) with onnxruntime or onnx's reference
    evaluator; None when neither is installed."""
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime

        session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
        return session.run(None, {"video": x})[0]
    if importlib.util.find_spec("onnx") is not None:
        import onnx
        from onnx.reference import ReferenceEvaluator

        return ReferenceEvaluator(onnx.load_from_string(model_bytes)).run(None, {"video": x})[0]
    return None
