"""Inference: a model over overlapping windows of frames, Hamming-weighted overlap-add.

The one inference engine of pulsecl, for whole clips (evaluate, bench, training-time
model selection) and for streams (predict, live).  The model runs on windows of
``window`` frames every ``hop = round(window * (1 - overlap))`` frames, plus a last
window ending at the last frame; each window's output is z-scored, weighted by a Hamming
window and added into the output, which is finally divided by the summed weights
(Gideon & Stent, 2021: 300-frame windows, 50 % overlap).  Only the anchor branch runs:
there is no negative branch and no loss at test time.

:class:`OverlapAdd` is fed frames chunk by chunk; every window that is complete is run,
up to ``batch_size`` windows in one call of the model, and only the frames from the next
window's start on are kept (plus ``keep`` frames for live readings), so a stream of any
length is processed in bounded memory.  :func:`infer_signal` feeds it a whole clip (a
memory-mapped clip is read window by window).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pulsecl.errors import ConfigError, DataError
from pulsecl.signal.common import window_starts as _starts

__all__ = ["OverlapAdd", "infer_signal", "window_starts"]


def window_starts(n_frames: int, window: int, overlap: float) -> list[int]:
    """Start frames of windows covering ``[0, n_frames)``; the last window ends at the
    last frame.  ``window >= n_frames`` gives one window over the whole clip."""
    hop = max(1, int(round(window * (1.0 - overlap))))
    return [int(s) for s in _starts(n_frames, window, hop)]


def _weight(length: int) -> np.ndarray:
    w = np.hamming(length) if length > 2 else np.ones(length)
    return np.maximum(w, 1e-3)  # the edges still count a little: no 0/0 at the ends


class _Growing:
    """A float64 array that grows along its first axis (amortised doubling)."""

    def __init__(self, capacity: int = 1024):
        self._a = np.zeros(capacity)
        self.n = 0

    def raw(self, n: int) -> np.ndarray:
        """The first ``n`` values, growing (with zeros) to ``n`` if needed."""
        if n > len(self._a):
            bigger = np.zeros(max(n, 2 * len(self._a)))
            bigger[: self.n] = self._a[: self.n]
            self._a = bigger
        self.n = max(self.n, n)
        return self._a[:n]


class OverlapAdd:
    """Streaming, batched overlap-add of ``model`` over windows of frames.

    Args:
        model: maps video ``(b, 3, t, H, W)`` float in [0, 1] to ``(b, t)`` (a
            :class:`pulsecl.models.PulseNet`, or any callable).
        window: window length in frames (>= 4).
        overlap: share of a window shared with the next, in [0, 1).
        batch_size: windows per call of the model.
        device: where the model runs (frames are moved there).
        min_frames: fewest frames :meth:`finish` accepts.
        keep: frames always kept for :meth:`recent` (live readings).
        channels_last: pass the video in the channels-last 3-D layout (what
            :func:`pulsecl.models.optimise_for_inference` prepares the model for).
        name: what error messages call the stream.

    Feed it ``(n, H, W, 3)`` uint8 RGB chunks with :meth:`feed`; :meth:`finish` runs the
    last window and returns the pulse ``(T,)``.
    """

    def __init__(
        self,
        model: Callable[[Any], Any],
        window: int,
        overlap: float = 0.5,
        batch_size: int = 4,
        device: Any = None,
        min_frames: int = 8,
        keep: int = 0,
        channels_last: bool = False,
        name: str = "clip",
    ):
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 4:
            raise ConfigError(f"inference window of {window!r} frames: give at least 4 frames")
        if not 0.0 <= float(overlap) < 1.0:
            raise ConfigError(f"eval.overlap = {overlap!r}: give a fraction in [0, 1)")
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ConfigError(f"inference batch of {batch_size!r} windows: give at least 1")
        self.model = model
        self.window = int(window)
        self.overlap = float(overlap)
        self.hop = max(1, int(round(self.window * (1.0 - self.overlap))))
        self.batch_size = batch_size
        self.device = device
        self.min_frames = int(min_frames)
        self.keep = int(keep)
        self.channels_last = bool(channels_last)
        self.name = name
        self._buf: np.ndarray | None = None  # frames from index _buf_start on
        self._buf_start = 0
        self._n = 0  # frames fed
        self._next = 0  # start of the next window to run
        self._last_run = -1  # start of the last window run
        self._out = _Growing()
        self._wsum = _Growing()
        self.windows_run = 0
        self.calls = 0  # calls of the model

    @property
    def n_frames(self) -> int:
        """Frames fed so far."""
        return self._n

    @property
    def frames_held(self) -> int:
        """Frames held in memory now (about a window and a chunk, whatever the length)."""
        return 0 if self._buf is None else len(self._buf)

    # -- running windows ------------------------------------------------------------------
    def run(self, clips: np.ndarray) -> np.ndarray:
        """The model on ``clips`` (b, t, H, W, 3) uint8: z-scored outputs (b, t) float64."""
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(clips))
            if self.device is not None:
                x = x.to(self.device)
            x = x.permute(0, 4, 1, 2, 3).float().div_(255.0)  # b t h w c -> b c t h w
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last_3d)
            y = self.model(x).float().cpu().numpy().astype(np.float64)
        self.calls += 1
        y = y - y.mean(axis=1, keepdims=True)
        return y / np.maximum(y.std(axis=1, keepdims=True), 1e-8)

    def _add(self, starts: list[int], length: int) -> None:
        base = self._buf_start
        clips = np.stack([self._buf[s - base : s - base + length] for s in starts])
        y = self.run(clips)
        w = _weight(length)
        for s, sig in zip(starts, y):
            self._out.raw(s + length)[s:] += sig * w
            self._wsum.raw(s + length)[s:] += w
        self._last_run = max(self._last_run, starts[-1])
        self.windows_run += len(starts)

    def feed(self, frames: np.ndarray) -> None:
        """Add a chunk of frames ``(n, H, W, 3)`` uint8; runs the windows now complete,
        ``batch_size`` at a time."""
        frames = np.asarray(frames)
        if len(frames) == 0:
            return
        self._buf = frames.copy() if self._buf is None else np.concatenate([self._buf, frames])
        self._n += len(frames)
        ready = []
        while self._next + self.window <= self._n:
            ready.append(self._next)
            self._next += self.hop
        for i in range(0, len(ready), self.batch_size):
            self._add(ready[i : i + self.batch_size], self.window)
        # Keep what the next window needs, and always the last full window (for the
        # final window and for live readings).
        keep = min(self._next, max(0, self._n - max(self.window, self.keep)))
        if keep > self._buf_start:
            self._buf = self._buf[keep - self._buf_start :].copy()
            self._buf_start = keep

    def finish(self) -> np.ndarray:
        """Run the last window (ending at the last frame) if the stride missed it, and
        return the pulse ``(T,)``."""
        n = self._n
        if n < self.min_frames:
            raise DataError(f"'{self.name}' has {n} frames; at least {self.min_frames} are needed for inference")
        if self.windows_run == 0:
            self._add([0], n)  # shorter than one window: one window over everything
        elif self._last_run + self.window < n:
            self._add([n - self.window], self.window)
        return self.pulse()

    def pulse(self) -> np.ndarray:
        """The overlap-added output so far, per frame fed ``(T,)``."""
        n = self._n
        return self._out.raw(n)[:n] / np.maximum(self._wsum.raw(n)[:n], 1e-12)

    def recent(self, n: int) -> np.ndarray:
        """The model on the last ``n`` frames (at most ``max(window, keep)``), z-scored:
        a live reading's pulse ``(n',)``."""
        length = min(int(n), self._n - self._buf_start)
        if length < 4:
            raise DataError(f"'{self.name}': {length} frames held; a reading needs at least 4")
        return self.run(self._buf[len(self._buf) - length :][None])[0]


def infer_signal(
    model: Callable[[Any], Any],
    frames: np.ndarray,
    window: int,
    overlap: float = 0.5,
    batch_size: int = 4,
    device: Any = None,
    min_frames: int = 8,
    progress: Callable[[int], None] | None = None,
    chunk_frames: int = 512,
) -> np.ndarray:
    """Pulse signal (T,) for a clip of uint8 RGB frames (T, H, W, 3): an
    :class:`OverlapAdd` fed the clip ``chunk_frames`` at a time.

    ``model`` maps video (B, 3, t, H, W) float in [0, 1] to (B, t).  ``progress`` is
    called with the number of frames read after each chunk.
    """
    n = int(frames.shape[0])
    if n < min_frames:
        raise DataError(f"clip has {n} frames; at least {min_frames} are needed for inference")
    engine = OverlapAdd(model, max(4, min(int(window), n)), overlap, batch_size, device, min_frames)
    for s in range(0, n, chunk_frames):
        engine.feed(np.asarray(frames[s : s + chunk_frames]))
        if progress is not None:
            progress(min(n, s + chunk_frames))
    return engine.finish()
