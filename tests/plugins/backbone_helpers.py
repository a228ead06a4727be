"""Helpers shared by the backbone tests: clips with a known pulse, a short supervised
fit, a checkpoint written the way the trainer writes it, and the inference-route checks
(optimise_for_inference, TorchScript and ONNX export)."""

from __future__ import annotations

import contextlib
import importlib.util
import math
from pathlib import Path

import numpy as np
import torch

import pulsecl

#: Skin-like base colour (R, G, B).
SKIN = (0.6, 0.45, 0.35)


def sinusoid_clips(n, frames, size, fs, generator, freq_hz=None):
    """``n`` clips (n, 3, T, size, size) in [0, 1] whose green channel carries a sinusoid
    (1 % of the base level) at ``freq_hz`` (default: one drawn from 0.8-2.2 Hz per clip)
    at a random phase, under 3 % pixel noise; and the pulses (n, T)."""
    if freq_hz is None:
        f = 0.8 + 1.4 * torch.rand(n, generator=generator)
    else:
        f = torch.full((n,), float(freq_hz))
    phase = 2 * math.pi * torch.rand(n, 1, generator=generator)
    t = torch.arange(frames) / fs
    pulse = torch.sin(2 * math.pi * f[:, None] * t + phase)  # (n, T)
    x = torch.tensor(SKIN).view(1, 3, 1, 1, 1) + 0.03 * torch.rand(n, 3, frames, size, size, generator=generator)
    x[:, 1] += 0.01 * pulse[:, :, None, None]
    return x.clamp(0, 1), pulse


@contextlib.contextmanager
def one_thread():
    """torch on one thread: on a shared, loaded machine two threads that wait on each
    other make these small batches several times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _zscore(y):
    return (y - y.mean(dim=1, keepdim=True)) / (y.std(dim=1, keepdim=True) + 1e-6)


def supervised_fit(net, steps, *, frames=64, size=8, fs=30.0, batch=8, lr=3e-3, seed=0):
    """A plain torch loop: Adam on 1 - Pearson(prediction, pulse) over fresh sinusoid
    clips each step.  Returns the net in eval mode and the last loss."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    loss = torch.tensor(float("nan"))
    with one_thread():
        for _ in range(steps):
            x, pulse = sinusoid_clips(batch, frames, size, fs, g)
            loss = 1.0 - (_zscore(net(x)) * _zscore(pulse)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return net.eval(), float(loss.detach())


def held_out_heart_rates(net, freq_hz, fs, *, seconds=10.0, size=8, seed=99):
    """Heart rates (bpm) that ``net`` gives on two clips at ``freq_hz`` and ``fs``, at
    phases and noise the fit never saw."""
    x, _ = sinusoid_clips(2, int(round(seconds * fs)), size, fs, torch.Generator().manual_seed(seed), freq_hz)
    with torch.no_grad():
        y = net(x)
    return np.atleast_1d(pulsecl.heart_rate(y.numpy(), fs))


def write_checkpoint(path: Path, backbone: str, options: dict, *, size=16, clip_frames=48, seed=0) -> Path:
    """A checkpoint of an untrained ``backbone``, as the trainer writes it."""
    from pulsecl.config import Config, config_to_dict
    from pulsecl.engine.checkpoint import save_checkpoint

    torch.manual_seed(seed)
    net = pulsecl.build("backbones", backbone, **options)
    sampler = pulsecl.build("samplers", "identity")
    config = Config()
    config.preprocess.size = size
    config.model.backbone = backbone
    config.model.options = dict(options)
    save_checkpoint(path, {
        "model": {"backbone": backbone, "options": dict(options), "sampler": "identity", "sampler_options": {}},
        "state_dict": net.state_dict(),
        "sampler_state_dict": sampler.state_dict(),
        "config": config_to_dict(config),
        "fs": 30.0,
        "clip_frames": clip_frames,
        "train_state": None,
    })
    return path


def video(shape, seed=1):
    return 0.4 + 0.2 * torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def check_optimised_matches(net, shapes):
    """:func:`pulsecl.models.optimise_for_inference` gives the same output in eval mode,
    for contiguous and channels-last 3-D input (what inference passes it)."""
    from pulsecl.models import optimise_for_inference

    net = net.eval()
    fast = optimise_for_inference(net)
    with one_thread():
        _compare_optimised(net, fast, shapes)


def _compare_optimised(net, fast, shapes):
    for i, shape in enumerate(shapes):
        x = video(shape, seed=i)
        with torch.no_grad():
            want = net(x)
            torch.testing.assert_close(fast(x), want, rtol=1e-4, atol=1e-5)
            cl = x.contiguous(memory_format=torch.channels_last_3d)
            torch.testing.assert_close(fast(cl), want, rtol=1e-4, atol=1e-5)


def check_exports_match(checkpoint: Path, tmp_path: Path, shapes):
    """TorchScript (and, with onnx installed, ONNX) exports through pulsecl.export give
    the original's output for every shape (batch and frames free)."""
    with one_thread():
        return _compare_exports(checkpoint, tmp_path, shapes)


def _compare_exports(checkpoint: Path, tmp_path: Path, shapes) -> bool:
    from pulsecl.export import export, run_onnx
    from pulsecl.models import load_model

    original = load_model(checkpoint).net
    export(checkpoint, tmp_path / "model.pt", format="torchscript")
    traced = torch.jit.load(str(tmp_path / "model.pt"))
    onnx_bytes = None
    if importlib.util.find_spec("onnx") is not None:
        info = export(checkpoint, tmp_path / "model.onnx", format="onnx")
        assert info["max_rel_error"] is None or info["max_rel_error"] < 1e-4
        onnx_bytes = (tmp_path / "model.onnx").read_bytes()
    for i, shape in enumerate(shapes):
        x = video(shape, seed=10 + i)
        with torch.no_grad():
            want = original(x)
            torch.testing.assert_close(traced(x), want, rtol=1e-5, atol=1e-5)
        if onnx_bytes is not None:
            got = run_onnx(onnx_bytes, x.numpy())
            if got is not None:
                scale = float(want.abs().max())
                np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-4 * scale)
    return onnx_bytes is not None
