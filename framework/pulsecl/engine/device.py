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


#: mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_KEEP = ((_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, 1 << 28), (_M_MMAP_THRESHOLD, 1 << 30))


#: The small default's clip volume per step (batch 8 x 128 frames x 32 x 32 pixels).
SMALL_DEFAULT_VOXELS = 8 * 128 * 32 * 32


def keeps_memory_by_default(batch_size: int, clip_frames: int, size: int) -> bool:
    """What ``train.keep_memory = "auto"`` means: keep freed memory when a step's clips
    hold at most twice the small default's voxels (batch x frames x size^2).

    Measured (``benchmarks/speed.py --parts allocator``, docs/measurements.md "Stop 23"):
    the small default's peak RSS 2.6 against 1.8 GB with it on, for 1.70x the clips/s;
    at the paper's size (4.7x the voxels) 18.8 against 12.4 GB, which a 24 GB machine
    cannot spare, so larger clips keep malloc's defaults unless asked.
    """
    return batch_size * clip_frames * size * size <= 2 * SMALL_DEFAULT_VOXELS


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse (process-wide; returns whether it took).

    On CPU every training step allocates and frees activations of tens to hundreds of MB
    (the small default: a 134 MB gradient buffer for its first max-pool alone).  glibc
    serves blocks that large with a fresh ``mmap`` and returns them to the system on
    free, so each step pays the page faults of touching that memory anew; in the torch
    profile of the small default's step, 8 % of the time went to zero-filling fresh
    buffers.
    Raising the mmap and trim thresholds (``mallopt``) serves them from the heap and keeps
    the heap at its peak, so the next step reuses pages already mapped.

    ``benchmarks/speed.py --parts allocator`` (2 CPU cores, docs/measurements.md, "Stop
    23"): 1.70x the clips/s of the small default and 1.63x of the paper recipe at the
    same size; 1.27x and 1.50x at the paper's size.  The price is memory: the heap
    fragments, and peak RSS rose 1.4-1.5x (small default 2.6 against 1.8 GB; default
    recipe at the paper's size 18.8 against 12.4 GB).  So ``train.keep_memory = "auto"``
    (the default) turns it on only for small clips (:func:`keeps_memory_by_default`).
    The memory is not handed back until the process ends.  Without glibc
    (macOS, Windows, musl) this does nothing and returns False.  It is not undone: glibc
    has no call that restores its adaptive defaults.
    """
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in _KEEP)
