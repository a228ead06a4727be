"""Writers for tiny datasets in each layout (the tests build them, nothing is downloaded)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from pulsecl.video.writer import write_video


def tiny_frames(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (n, 24, 32, 3), dtype=np.uint8)


@pytest.fixture(name="tiny_frames")
def tiny_frames_fixture():
    """``tiny_frames(n, seed=0)``: random uint8 RGB frames (n, 24, 32, 3)."""
    return tiny_frames


@pytest.fixture
def write_ubfc2():
    """``write_ubfc2(root, name, n_frames, fps, ppg=None, rows=None)``: a DATASET_2 subject."""

    def make(root: Path, name: str, n: int = 20, fps: float = 20.0, rows=None):
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        write_video(d / "vid.avi", tiny_frames(n), fps=fps)
        t = np.arange(n) / fps
        if rows is None:
            rows = [np.sin(2 * np.pi * 1.2 * t), np.full(n, 72.0), t]
        (d / "ground_truth.txt").write_text("\n".join(" ".join(f"{v:.6e}" for v in r) for r in rows) + "\n")
        return d

    return make


@pytest.fixture
def write_ubfc1():
    """A DATASET_1 subject: gtdump.xmp with rows time ms, HR, SpO2, PPG at 60 Hz."""

    def make(root: Path, name: str, n: int = 20, fps: float = 20.0, seconds: float | None = None):
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        write_video(d / "vid.avi", tiny_frames(n), fps=fps)
        dur = seconds if seconds is not None else n / fps + 0.5
        t_ms = np.arange(0, dur * 1000, 1000 / 60) + 123456.0  # the clock does not start at 0
        ppg = np.sin(2 * np.pi * 1.5 * (t_ms - t_ms[0]) / 1000)
        lines = [f"{a:.1f},72,98,{b:.6f}" for a, b in zip(t_ms, ppg)]
        (d / "gtdump.xmp").write_text("\n".join(lines) + "\n")
        return d

    return make


@pytest.fixture
def write_pure():
    """A PURE session NN-MM: Image<ns>.png frames (irregular times) + JSON."""

    def make(root: Path, session: str, n: int = 8, nested: bool = True):
        base_ns = 1_392_643_993_642_815_000
        t = np.cumsum(np.r_[0.0, np.full(n - 1, 1 / 30) + np.tile([0.002, -0.002], n)[: n - 1]])
        frames_dir = root / session / session if nested else root / session
        frames_dir.mkdir(parents=True, exist_ok=True)
        for k, (tk, f) in enumerate(zip(t, tiny_frames(n))):
            cv2.imwrite(str(frames_dir / f"Image{base_ns + int(round(tk * 1e9))}.png"), f)
        pulse_t = np.arange(-0.5, t[-1] + 0.5, 1 / 60)
        data = {
            "/FullPackage": [
                {"Timestamp": base_ns + int(round(s * 1e9)), "Value": {"waveform": float(np.sin(2 * np.pi * 1.1 * s)), "pulseRate": 66}}
                for s in pulse_t
            ],
            "/Image": [{"Timestamp": base_ns + int(round(s * 1e9))} for s in t],
        }
        js = (root / session / f"{session}.json") if nested else (root / f"{session}.json")
        js.write_text(json.dumps(data))
        return t

    return make
