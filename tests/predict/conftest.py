"""Fixtures for the predict tests: small synthetic videos with a known heart rate and
checkpoints of an untrained PhysNet written the way the trainer writes them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from predict_helpers import physnet_payload


@dataclass
class Video:
    path: Path
    hr_bpm: float  # mean heart rate rendered into the video
    fs: float
    n_frames: int


def _write(path: Path, fps: float, skin_tone: float | None, duration: float = 15.0, seed: int = 3, index: int = 1) -> Video:
    from pulsecl.synthetic import synthesize
    from pulsecl.video.writer import write_video

    subject = synthesize(index=index, seed=seed, duration=duration, fps=fps, width=320, height=240,
                         skin_tone=skin_tone, hr_range=(50.0, 120.0))
    write_video(path, (block for block, _ in subject.frames()), subject.fps, quality=90)
    return Video(path, float(subject.params["hr_mean_bpm"]), float(fps), subject.n_frames)


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Video]:
    """Three 15-s 320x240 MJPG videos: light skin at 30 fps, dark skin (tone 0.95) at
    30 fps, light skin at 15 fps."""
    root = tmp_path_factory.mktemp("predict-videos")
    return {
        "light-30fps": _write(root / "light30.avi", 30.0, None),
        "dark-30fps": _write(root / "dark30.avi", 30.0, 0.95, seed=5, index=2),
        "light-15fps": _write(root / "light15.avi", 15.0, None, seed=7, index=0),
    }


@pytest.fixture
def make_checkpoint(tmp_path):
    """``make_checkpoint(name, **payload_changes)`` -> path of a checkpoint file."""
    from pulsecl.engine.checkpoint import save_checkpoint

    def make(name: str = "ck.pt", **changes) -> Path:
        payload = physnet_payload()
        payload.update(changes)
        path = tmp_path / name
        save_checkpoint(path, payload)
        return path

    return make


@pytest.fixture(scope="session")
def small_frames():
    """A 12-s 160x120 synthetic clip in memory at 30 fps: (frames, fs, hr)."""
    from pulsecl.synthetic import render_clip

    clip = render_clip(seed=11, duration=12.0, fps=30.0, width=160, height=120, hr_range=(60.0, 100.0))
    return clip.frames, clip.fs, float(clip.params["hr_mean_bpm"])
