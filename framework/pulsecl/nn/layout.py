"""Memory layout of 3-D convolutions.

On CPU, PyTorch's 3-D convolutions run faster with their weights and inputs in the
channels-last 3-D layout (measured here: forward + backward of PhysNet 1.4x faster).
``Module.to(memory_format=torch.channels_last_3d)`` fails on a model that also holds
4-D weights (a 2-D convolution, as in TS-CAN), so :func:`channels_last_3d` converts the
5-D parameters and buffers one module at a time and leaves the rest as they are.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["channels_last_3d", "has_conv3d"]


def has_conv3d(module: nn.Module) -> bool:
    """Whether ``module`` holds any 3-D convolution."""
    return any(isinstance(m, nn.Conv3d) for m in module.modules())


def channels_last_3d(module: nn.Module) -> nn.Module:
    """Put every 5-D parameter and buffer of ``module`` in the channels-last 3-D layout,
    in place; other tensors are left alone.  Returns ``module``."""
    with torch.no_grad():
        for m in module.modules():
            for name, p in list(m.named_parameters(recurse=False)):
                if p.dim() == 5:
                    p.data = p.data.contiguous(memory_format=torch.channels_last_3d)
            for name, b in list(m.named_buffers(recurse=False)):
                if b is not None and b.dim() == 5:
                    setattr(m, name, b.contiguous(memory_format=torch.channels_last_3d))
    return module
