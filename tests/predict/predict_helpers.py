"""Helpers shared by the predict tests (a module of its own: ``conftest`` is not
importable by name when pytest collects several test folders)."""

from __future__ import annotations

import numpy as np


def physnet_payload(channels: int = 4, clip_frames: int = 64, size: int = 32, seed: int = 0) -> dict:
    """The checkpoint payload the trainer writes, for an untrained PhysNet."""
    import torch

    import pulsecl
    from pulsecl.config import Config, config_to_dict

    torch.manual_seed(seed)
    net = pulsecl.build("backbones", "physnet", channels=channels)
    sampler = pulsecl.build("samplers", "identity")
    config = Config()
    config.preprocess.size = size
    config.model.options = {"channels": channels}
    return {
        "model": {"backbone": "physnet", "options": {"channels": channels}, "sampler": "identity", "sampler_options": {}},
        "state_dict": net.state_dict(),
        "sampler_state_dict": sampler.state_dict(),
        "config": config_to_dict(config),
        "fs": 30.0,
        "clip_frames": clip_frames,
        "train_state": None,
    }


def face_crops(path) -> tuple[np.ndarray, np.ndarray]:
    """All face crops of a video (for tests that need them in memory)."""
    from pulsecl.video import iter_crops

    blocks, stamps = zip(*iter_crops(str(path)))
    return np.concatenate(blocks), np.concatenate(stamps)
