"""Multi-process training under ``torchrun`` (DistributedDataParallel).

``torchrun --nproc-per-node N -m pulsecl train ...`` sets RANK/WORLD_SIZE/LOCAL_RANK;
:func:`setup` then initialises the process group (gloo on CPU, NCCL on GPU).  Every
rank draws the *global* batch from the same seeded generator and keeps its own slice,
so N processes see exactly the clips one process with the same total batch would see.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device_type: str) -> DistInfo:
    """Initialise torch.distributed when launched by torchrun; else a 1-process info."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    import torch.distributed as dist

    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return info


def teardown(info: DistInfo) -> None:
    if info.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    """Wait until every rank is here (nothing with one process)."""
    if info.enabled:
        import torch.distributed as dist

        dist.barrier()


def all_reduce_mean(value: float, info: DistInfo) -> float:
    """Average a Python float over ranks (for logging and model selection)."""
    if not info.enabled:
        return value
    import torch
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item()) / info.world_size
