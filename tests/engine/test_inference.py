"""Whole-video inference: window layout and overlap-add against a known signal."""

import numpy as np
import pytest
import torch

from pulsecl.engine.inference import infer_signal, window_starts
from pulsecl.errors import DataError


@pytest.mark.parametrize("n, window, overlap", [(300, 100, 0.5), (301, 100, 0.5), (250, 64, 0.75), (50, 100, 0.5)])
def test_windows_cover_every_frame(n, window, overlap):
    starts = window_starts(n, window, overlap)
    covered = np.zeros(n, bool)
    for s in starts:
        covered[s : s + window] = True
    assert covered.all()
    assert starts[0] == 0 and starts[-1] + min(window, n) == n
    assert starts == sorted(set(starts))


def green_mean(x):
    """A 'backbone' that returns the green channel's spatial mean: (B,3,T,H,W) -> (B,T)."""
    return x[:, 1].mean(dim=(-2, -1))


def test_overlap_add_recovers_the_pulse_in_the_video():
    fs, n, f = 30.0, 400, 1.3
    t = np.arange(n) / fs
    pulse = np.sin(2 * np.pi * f * t)
    frames = np.full((n, 4, 4, 3), 120, np.uint8)
    frames[..., 1] = (120 + 20 * pulse)[:, None, None].round().astype(np.uint8)
    calls = []
    y = infer_signal(green_mean, frames, window=128, overlap=0.5, batch_size=3, progress=calls.append)
    assert y.shape == (n,)
    assert np.corrcoef(y, pulse)[0, 1] > 0.99
    assert calls[-1] == n


def test_model_runs_on_windows_not_on_a_negative_branch():
    seen = []

    def model(x):
        seen.append(tuple(x.shape))
        return torch.zeros(x.shape[0], x.shape[2])

    infer_signal(model, np.zeros((200, 2, 2, 3), np.uint8), window=100, overlap=0.5, batch_size=8)
    assert seen == [(3, 3, 100, 2, 2)]  # starts 0, 50, 100: one batch, all windows full length


def test_too_short_clip():
    with pytest.raises(DataError, match="clip has 3 frames; at least 8 are needed"):
        infer_signal(green_mean, np.zeros((3, 2, 2, 3), np.uint8), window=100)
