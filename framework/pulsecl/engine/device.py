"""Device choice and mixed precision."""

from __future__ import annotations

import contextlib

from pulsecl.errors import ConfigError


def choose_device(name: str = "auto"):
    """``auto`` picks CUDA, then MPS, then CPU; an explicit name must be available."""
    import torch

    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device = '{name}': CUDA is not available here; use 'auto' or 'cpu'")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("train.device = 'mps': MPS is not available here; use 'auto' or 'cpu'")
    if name not in ("cpu", "mps") and not name.startswith("cuda"):
        raise ConfigError(f"train.device = '{name}': use auto, cpu, cuda, cuda:N or mps")
    return torch.device(name)


def autocast(device, enabled: bool):
    """bfloat16/float16 autocast on GPU when ``enabled``; a no-op on CPU."""
    import torch

    if not enabled or device.type != "cuda":
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda", dtype=torch.float16)
