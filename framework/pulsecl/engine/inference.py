"""Whole-video inference: overlapping windows, Hamming-weighted overlap-add.

The backbone runs on windows of ``window`` frames with hop ``window * (1 - overlap)``;
each window's output is z-scored, weighted by a Hamming window and added into the
output, which is finally divided by the summed weights (Gideon & Stent, 2021: 300-frame
windows, 50 % overlap).  Only the anchor branch runs: there is no negative branch and no
loss at test time.  Frames are read window by window, so a memory-mapped clip of any
length is processed in bounded memory.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pulsecl.errors import DataError

__all__ = ["window_starts", "infer_signal"]


def window_starts(n_frames: int, window: int, overlap: float) -> list[int]:
    """Start frames of windows covering ``[0, n_frames)``; the last window ends at the
    last frame.  ``window >= n_frames`` gives one window over the whole clip."""
    if window >= n_frames:
        return [0]
    hop = max(1, int(round(window * (1.0 - overlap))))
    starts = list(range(0, n_frames - window + 1, hop))
    if starts[-1] + window < n_frames:
        starts.append(n_frames - window)
    return starts


def infer_signal(
    model: Callable,
    frames: np.ndarray,
    window: int,
    overlap: float = 0.5,
    batch_size: int = 4,
    device=None,
    min_frames: int = 8,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Pulse signal (T,) for a clip of uint8 RGB frames (T, H, W, 3).

    ``model`` maps video (B, 3, t, H, W) float in [0, 1] to (B, t).  ``progress`` is
    called with the number of frames finished after each batch.
    """
    import torch

    n = int(frames.shape[0])
    if n < min_frames:
        raise DataError(f"clip has {n} frames; at least {min_frames} are needed for inference")
    window = min(int(window), n)
    starts = window_starts(n, window, overlap)
    weight = np.hamming(window) if window > 2 else np.ones(window)
    weight = np.maximum(weight, 1e-3)  # the edges still count a little: no 0/0 at the ends
    out = np.zeros(n, dtype=np.float64)
    wsum = np.zeros(n, dtype=np.float64)
    device = device or torch.device("cpu")
    with torch.no_grad():
        for i in range(0, len(starts), batch_size):
            group = starts[i : i + batch_size]
            clip = np.stack([np.asarray(frames[s : s + window]) for s in group])  # (b, t, H, W, 3)
            x = torch.from_numpy(clip).to(device).permute(0, 4, 1, 2, 3).float().div_(255.0)
            y = model(x).float().cpu().numpy().astype(np.float64)  # (b, t)
            y = y - y.mean(axis=1, keepdims=True)
            y = y / np.maximum(y.std(axis=1, keepdims=True), 1e-8)
            for s, sig in zip(group, y):
                out[s : s + window] += sig * weight
                wsum[s : s + window] += weight
            if progress is not None:
                progress(min(n, group[-1] + window))
    return out / np.maximum(wsum, 1e-12)
