"""Heart rate from any video, frame array, frame iterator or camera.

::

    import pulsecl

    result = pulsecl.predict("face.mp4")                      # POS on the face crops
    result = pulsecl.predict(frames, fs=30, method="chrom")   # (T, H, W, 3) uint8 RGB
    result = pulsecl.predict("face.mp4", checkpoint="run/best.pt")
    result.hr_bpm, result.window_hr_bpm, result.window_snr_db
    result.write("out/")                                      # CSVs, JSON, PNG

The pipeline::

    source -> face crops (pulsecl.video.iter_crops, chunk by chunk)
      -> classical method: skin RGB trace (T, 3), accumulated chunk by chunk
         trained backbone: overlapping windows streamed through the model, Hamming
         overlap-add (only the last window of crops is kept)
      -> pulse on a uniform time grid at the measured frame rate
      -> heart rate on sliding windows, SNR and IPR per window, the mean heart rate

Memory: frames and crops never accumulate; what grows with the video is one RGB
trace row (classical) or one output sample (backbone) per frame, a few tens of bytes
(about 4 MB for an hour at 30 fps).

Heart rate over time is tracked through the windows' spectra around the peak of their
Welch average (:func:`track_hr`), and the mean heart rate is the median of the tracked
rates: both stay put when a few windows are swamped by motion (see
:data:`MEAN_HR_CHOICE` for the measurement behind that choice).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pulsecl._version import __version__
from pulsecl.errors import CheckpointError, ConfigError, DataError, SignalError
from pulsecl.video.sources import FrameSource

__all__ = [
    "MEAN_HR_CHOICE",
    "FrameIteratorSource",
    "FrameResampler",
    "ModelPulse",
    "PrefetchSource",
    "Prediction",
    "TracePulse",
    "analyse",
    "load_model",
    "predict",
    "open_frames",
]

#: Why the mean heart rate is a Welch average: ``python benchmarks/predict_hr_aggregate.py``.
MEAN_HR_CHOICE = """\
python benchmarks/predict_hr_aggregate.py --trials 30: POS pulses from synthetic skin traces,
60 s at 30 fps, HR 50-150 bpm, constant or ramping by 30 bpm over the minute; k bursts of
4 s of strong in-band motion at another rate; 10-s windows every 1 s.  Left: the mean HR
(error against the mean of the true rate); right: HR over time (against each window's).
30 trials per row; 60 s at 30 fps, POS; MAE bpm / share of errors > 5 bpm\nramp bursts |       welch      median       whole tracked median |      own peak run. median 5   spec. avg 5         prior   prior+track\n   0      0 |   0.02/  0%   0.03/  0%   0.01/  0%   0.03/  0% |     0.21/  0%     0.17/  0%     0.16/  0%     0.21/  0%     0.20/  0%\n   0      1 |   0.03/  0%   0.07/  0%  20.04/ 23%   0.05/  0% |     6.60/  9%     6.51/  9%     5.57/  8%     0.84/  3%     0.60/  3%\n   0      2 |   0.03/  0%   0.08/  0%  28.93/ 53%   0.06/  0% |     9.47/ 15%     9.42/ 16%     8.03/ 13%     2.77/  8%     1.55/  7%\n   0      3 |   0.03/  0%   1.45/  3%  46.10/ 73%   0.11/  0% |    18.71/ 29%    18.68/ 29%    16.34/ 25%     4.74/ 14%     2.17/ 10%\n   0      4 |   0.04/  0%  10.14/ 17%  52.35/ 83%   0.11/  0% |    19.02/ 31%    19.00/ 31%    16.28/ 27%     4.64/ 15%     2.67/ 12%\n  30      0 |   3.99/ 40%   0.18/  0%   7.67/ 83%   0.18/  0% |     0.17/  0%     0.19/  0%     0.16/  0%     0.21/  0%     0.18/  0%\n  30      1 |   4.67/ 53%   1.91/ 23%  24.83/ 73%   1.10/ 10% |     4.94/  8%     4.95/  8%     4.17/  7%     2.34/  6%     1.27/  5%\n  30      2 |   4.19/ 40%   3.04/ 27%  40.92/ 87%   1.05/  7% |    10.37/ 17%    10.42/ 17%     8.94/ 14%     3.45/  9%     1.31/  6%\n  30      3 |   5.63/ 57%   4.19/ 37%  50.28/ 93%   1.86/ 13% |    15.38/ 24%    15.35/ 24%    13.19/ 20%     4.03/ 11%     2.40/  9%\n  30      4 |   7.03/ 40%   7.55/ 37%  45.66/ 97%   4.86/ 23% |    18.01/ 33%    18.08/ 33%    15.28/ 28%     8.43/ 22%     6.12/ 19%
The whole-signal peak follows the loudest burst; the Welch peak is exact at a constant
rate but lands anywhere on a ramp's flat spectrum; the median of the tracked rates is
within 0.2 bpm without bursts and degrades least with them, so predict reports it."""


# ----------------------------------------------------------------------------------------
# Sources
# ----------------------------------------------------------------------------------------


class FrameIteratorSource(FrameSource):
    """Frames from any iterator: single frames (H, W, 3) or chunks (n, H, W, 3), uint8
    RGB (float in [0, 1] is converted), at ``fs`` Hz.  Can be iterated once."""

    def __init__(self, frames: Iterable[Any], fs: float | None, chunk_frames: int = 300, name: str = "frames"):
        if fs is None or not (isinstance(fs, (int, float)) and math.isfinite(fs) and fs > 0):
            raise DataError(f"frames from an iterator ('{name}'): give their frame rate, fs=<Hz>")
        self.fs = float(fs)
        self.path, self.name = None, name
        self.n_frames = None
        self.chunk_frames = int(chunk_frames)
        self._it = iter(frames)
        self._used = False

    def _as_block(self, item: Any, index: int) -> np.ndarray:
        arr = np.asarray(item)
        if arr.ndim == 3:
            arr = arr[None]
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise DataError(
                f"'{self.name}': item {index} has shape {arr.shape}; give frames (H, W, 3) or chunks (n, H, W, 3) of RGB"
            )
        if arr.dtype != np.uint8:
            if not np.issubdtype(arr.dtype, np.floating):
                raise DataError(f"'{self.name}': frames must be uint8 or float in [0, 1], got {arr.dtype}")
            arr = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        return arr

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if self._used:
            raise DataError(f"'{self.name}': an iterator of frames can be read only once")
        self._used = True
        pending: list[np.ndarray] = []
        count = 0  # frames yielded so far
        held = 0
        shape = None
        for index, item in enumerate(self._it):
            block = self._as_block(item, index)
            if shape is None:
                shape = block.shape[1:]
            elif block.shape[1:] != shape:
                raise DataError(f"'{self.name}': item {index} is {block.shape[1:]}, the first was {shape}")
            pending.append(block)
            held += len(block)
            if held >= self.chunk_frames:
                out = np.concatenate(pending)
                pending, held = [], 0
                yield out, (count + np.arange(len(out))) / self.fs
                count += len(out)
        if pending:
            out = np.concatenate(pending)
            yield out, (count + np.arange(len(out))) / self.fs
            count += len(out)
        if count == 0:
            raise DataError(f"'{self.name}' gave no frames")


class PrefetchSource(FrameSource):
    """Reads the next chunk of ``source`` in a background thread while the current one
    is processed (decoding releases the GIL), so decoding overlaps face tracking and
    the model on a second core.  Holds at most ``depth`` chunks ahead; errors in the
    reader are raised where the chunk would have been; closing the iterator stops it."""

    def __init__(self, source: FrameSource, depth: int = 1):
        self.source = source
        self.fs, self.path, self.name = source.fs, source.path, source.name
        self.n_frames, self.chunk_frames = source.n_frames, source.chunk_frames
        self.depth = max(1, int(depth))

    def identity(self) -> dict[str, Any] | None:
        return self.source.identity()

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        import queue
        import threading

        q: queue.Queue = queue.Queue(maxsize=self.depth)
        stop = threading.Event()
        done = object()

        def put(item: Any) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def reader() -> None:
            it = self.source.chunks()
            try:
                for item in it:
                    if not put(("chunk", item)):
                        return
                put(("end", done))
            except BaseException as exc:  # handed to the consumer, raised there
                put(("error", exc))
            finally:
                close = getattr(it, "close", None)
                if close is not None:
                    close()

        thread = threading.Thread(target=reader, name=f"pulsecl-read-{self.name}", daemon=True)
        thread.start()
        try:
            while True:
                kind, item = q.get()
                if kind == "chunk":
                    yield item
                elif kind == "error":
                    raise item
                else:
                    return
        finally:
            stop.set()
            thread.join(timeout=5.0)


def open_frames(source: Any, fs: float | None = None, chunk_frames: int = 300) -> FrameSource:
    """A :class:`FrameSource` for a path, camera index, array, frame source or iterator."""
    from pulsecl.video.sources import open_source

    if isinstance(source, (str, os.PathLike, int, np.integer, np.ndarray, FrameSource)) and not isinstance(source, bool):
        return open_source(source, fs=fs, chunk_frames=chunk_frames)
    if isinstance(source, Iterable):
        return FrameIteratorSource(source, fs, chunk_frames=chunk_frames, name=type(source).__name__)
    raise DataError(
        f"cannot read frames from {type(source).__name__}; give a video path, an image folder, "
        "a camera index, an array (T, H, W, 3) or an iterator of frames"
    )


# ----------------------------------------------------------------------------------------
# Band and frame rate
# ----------------------------------------------------------------------------------------


def band_hz_from_bpm(band_bpm: Any) -> tuple[float, float]:
    """``(low, high)`` bpm -> Hz; a band that is not ``0 < low < high`` raises ConfigError."""
    try:
        low, high = (float(v) for v in band_bpm)
    except (TypeError, ValueError):
        raise ConfigError(f"band {band_bpm!r}: give two numbers LOW HIGH in bpm, e.g. 45 150") from None
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise ConfigError(f"band {low:g}-{high:g} bpm: give 0 < LOW < HIGH in bpm, e.g. 45 150")
    return low / 60.0, high / 60.0


def check_rate(fs: float, band_hz: tuple[float, float], what: str) -> None:
    """SignalError when ``fs`` cannot resolve the band's top (Nyquist)."""
    need = 2.0 * band_hz[1]
    if not fs > need:
        raise SignalError(
            f"{what} is at {fs:.3g} fps, too low for heart rates up to {band_hz[1] * 60:.0f} bpm "
            f"(needs more than {need:.3g} fps); lower the band's top below {fs / 2 * 60:.0f} bpm "
            "(--band LOW HIGH) or record at a higher frame rate"
        )


def uniform_grid(timestamps: np.ndarray) -> tuple[np.ndarray, float]:
    """``(grid, fs)``: as many evenly spaced times as ``timestamps`` over the same span;
    ``fs`` is the mean frame rate."""
    ts = np.asarray(timestamps, dtype=np.float64)
    span = float(ts[-1] - ts[0]) if ts.size > 1 else 0.0
    if not span > 0:
        raise DataError("frame timestamps do not increase; give the frame rate (fs)")
    fs = (ts.size - 1) / span
    return ts[0] + np.arange(ts.size) / fs, fs


def _resample(values: np.ndarray, ts: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Values sampled at ``ts`` (T, ...) interpolated onto ``grid`` (T,)."""
    if ts.shape == grid.shape and np.allclose(ts, grid, rtol=0.0, atol=1e-6):
        return values
    if values.ndim == 1:
        return np.interp(grid, ts, values)
    return np.stack([np.interp(grid, ts, values[:, c]) for c in range(values.shape[1])], axis=1)


# ----------------------------------------------------------------------------------------
# Pulse extractors: fed crops chunk by chunk
# ----------------------------------------------------------------------------------------


class _Growing:
    """An array that grows along its first axis (amortised doubling)."""

    def __init__(self, tail: tuple[int, ...] = (), dtype: Any = np.float64, capacity: int = 1024):
        self._a = np.zeros((capacity, *tail), dtype=dtype)
        self.n = 0

    def ensure(self, n: int) -> None:
        if n > len(self._a):
            bigger = np.zeros((max(n, 2 * len(self._a)), *self._a.shape[1:]), dtype=self._a.dtype)
            bigger[: self.n] = self._a[: self.n]
            self._a = bigger

    def extend(self, values: np.ndarray) -> None:
        self.ensure(self.n + len(values))
        self._a[self.n : self.n + len(values)] = values
        self.n += len(values)

    @property
    def data(self) -> np.ndarray:
        """The filled part (a view)."""
        return self._a[: self.n]

    def raw(self, n: int) -> np.ndarray:
        """The first ``n`` rows, growing to ``n`` if needed (a view, for accumulating)."""
        self.ensure(n)
        self.n = max(self.n, n)
        return self._a[:n]


class TracePulse:
    """A classical method on the skin RGB trace, accumulated chunk by chunk.

    Per frame it keeps the mean colour of all pixels, the summed colour of skin pixels
    and their count, with the skin test made on the average of ``mask_frames`` frames
    centred on each frame (so a frame is final once ``mask_frames // 2`` later frames
    have arrived).  The trace is then :func:`pulsecl.video.rgb_trace` of the whole clip,
    including its choice between skin and whole crop over the whole recording, while
    only a chunk and a few frames of crops are held.
    """

    def __init__(self, method: str = "pos", options: dict[str, Any] | None = None, min_skin: float = 0.05,
                 mask_frames: int = 5):
        import pulsecl

        self.name = method
        self.method = pulsecl.build("classical_methods", method, **(options or {}))
        self.min_skin = min_skin
        self.half = max(int(mask_frames), 1) // 2
        self._means = _Growing((3,))
        self._sums = _Growing((3,))
        self._counts = _Growing()
        self._ts = _Growing()
        self._pixels = 0
        self._tail: np.ndarray | None = None  # crops from frame _tail_start on
        self._tail_start = 0

    @property
    def n_frames(self) -> int:
        """Frames whose trace row is final."""
        return self._counts.n

    def _finalise(self, stop: int, total: int) -> None:
        """Trace rows of frames [n_frames, stop), with the mask average clipped to
        frames [0, total)."""
        from pulsecl.video import skin_mask
        from pulsecl.video.pipeline import averaged_skin_mask

        first = self.n_frames
        if stop <= first:
            return
        tail, base, half = self._tail, self._tail_start, self.half
        block = tail[first - base : stop - base]
        n = len(block)
        self._pixels = block.shape[1] * block.shape[2]
        flat = block.reshape(n, -1, 3)
        self._means.extend(flat.mean(axis=1, dtype=np.float64))
        if half:
            lo, hi = max(first - half, 0), min(stop + half, total)
            mask = averaged_skin_mask(tail[lo - base : hi - base], lo, first, stop, half, total)
        else:
            mask = skin_mask(block)
        m = mask.reshape(n, 1, -1).astype(np.float32)
        self._sums.extend(np.matmul(m, flat.astype(np.float32))[:, 0, :].astype(np.float64))
        self._counts.extend(m.sum(axis=(1, 2), dtype=np.float64))

    def feed(self, crops: np.ndarray, ts: np.ndarray) -> None:
        """Add a chunk of crops (n, S, S, 3) uint8 RGB at times ``ts`` (n,) s."""
        self._tail = crops if self._tail is None else np.concatenate([self._tail, crops])
        self._ts.extend(np.asarray(ts, dtype=np.float64))
        total = self._ts.n
        self._finalise(total - self.half, total)
        keep = max(0, self.n_frames - self.half)  # left context of the next frames
        if keep > self._tail_start:
            self._tail = self._tail[keep - self._tail_start :].copy()
            self._tail_start = keep

    def finish(self) -> None:
        """Make the last frames' rows final (their mask average is clipped at the end)."""
        if self._tail is not None:
            self._finalise(self._ts.n, self._ts.n)
            self._tail = None

    @property
    def timestamps(self) -> np.ndarray:
        return self._ts.data[: self.n_frames]

    def trace(self, start: int = 0) -> np.ndarray:
        """RGB trace (T - start, 3) in [0, 1] over skin (or the whole crop when skin is
        scarce over the recording)."""
        means, counts = self._means.data[start:], self._counts.data[start:]
        if counts.size == 0 or counts.mean() < self.min_skin * self._pixels:
            return means / 255.0
        out = means.copy()
        has = counts > 0
        out[has] = self._sums.data[start:][has] / counts[has, None]
        return out / 255.0

    def pulse(self, grid: np.ndarray, fs: float, start: int = 0) -> np.ndarray:
        """The method's pulse on the uniform ``grid`` (times of frames ``start`` ...)."""
        trace = _resample(self.trace(start), self.timestamps[start:], grid)
        return np.asarray(self.method(trace, fs), dtype=np.float64)

    def recent_pulse(self, n: int, fs: float) -> tuple[np.ndarray, np.ndarray]:
        """``(pulse, grid)`` of the last ``n`` final frames (for live readings)."""
        start = max(0, self.n_frames - n)
        grid, rate = uniform_grid(self.timestamps[start:])
        return self.pulse(grid, rate, start), grid


class FrameResampler:
    """Frames at any (even variable) rate -> frames on a uniform grid at ``fs`` Hz, by
    linear interpolation in time between neighbouring frames, chunk by chunk.

    A backbone learns the pulse in cycles per frame at the rate it was trained at; a
    video at another rate is brought to that rate before the backbone sees it.
    """

    def __init__(self, fs: float):
        self.fs = float(fs)
        self._prev: np.ndarray | None = None  # last frame seen (float32) and its time
        self._prev_t = 0.0
        self._next_t: float | None = None  # time of the next output frame

    def __call__(self, frames: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ts = np.asarray(ts, dtype=np.float64)
        if self._next_t is None:
            self._next_t = float(ts[0])
        if self._prev is None:
            times, stack = ts, frames
        else:
            times = np.concatenate([[self._prev_t], ts])
            stack = np.concatenate([self._prev[None].astype(frames.dtype), frames])
        count = int(np.floor((times[-1] - self._next_t) * self.fs + 1e-9)) + 1
        if count <= 0:
            out, out_t = frames[:0], ts[:0]
        else:
            out_t = self._next_t + np.arange(count) / self.fs
            j = np.clip(np.searchsorted(times, out_t, side="right") - 1, 0, len(times) - 1)
            k = np.minimum(j + 1, len(times) - 1)
            span = np.where(k > j, times[k] - times[j], 1.0)
            w = np.clip((out_t - times[j]) / span, 0.0, 1.0).astype(np.float32)[:, None, None, None]
            a = stack[j].astype(np.float32)
            out = np.clip(a + w * (stack[k].astype(np.float32) - a) + 0.5, 0, 255).astype(np.uint8)
            self._next_t = float(out_t[-1] + 1.0 / self.fs)
        self._prev, self._prev_t = frames[-1].copy(), float(ts[-1])
        return out, out_t


def optimise_for_inference(module: Any) -> Any:
    """A copy of ``module`` (in eval mode) that runs faster and gives the same output:
    each Conv3d followed by a BatchNorm3d in a Sequential is folded into one Conv3d, and
    the copy uses the channels-last 3-D memory layout, which oneDNN runs about twice as
    fast on CPU for PhysNet-sized 3-D convolutions (measured with
    ``benchmarks/predict_speed.py``)."""
    import copy

    import torch
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if module.training:
        return module
    fast = copy.deepcopy(module)
    has_conv3d = False
    for seq in fast.modules():
        if isinstance(seq, nn.Conv3d):
            has_conv3d = True
        if not isinstance(seq, nn.Sequential):
            continue
        for i in range(len(seq) - 1):
            if isinstance(seq[i], nn.Conv3d) and isinstance(seq[i + 1], nn.BatchNorm3d):
                seq[i] = fuse_conv_bn_eval(seq[i], seq[i + 1])
                seq[i + 1] = nn.Identity()
    if has_conv3d:
        fast = fast.to(memory_format=torch.channels_last_3d)
    return fast


class ModelPulse:
    """A trained backbone streamed over overlapping windows of crops.

    Windows of ``window`` frames start every ``hop = round(window * (1 - overlap))``
    frames, plus a last window ending at the last frame; each window's output is
    z-scored and added into the pulse with a Hamming weight, then divided by the summed
    weights: the same signal as :func:`pulsecl.engine.inference.infer_signal` on the
    whole clip (to float rounding: the backbone runs through
    :func:`optimise_for_inference`), but only the crops from the next window's start on
    are kept.
    """

    def __init__(self, backbone: Any, sampler: Any, window: int, overlap: float = 0.5, device: Any = None,
                 min_frames: int = 8, name: str = "checkpoint", optimise: bool = True):
        import torch

        if not (isinstance(window, (int, np.integer)) and window >= 4):
            raise ConfigError(f"inference window of {window!r} frames: give at least 4 frames")
        if not 0.0 <= overlap < 1.0:
            raise ConfigError(f"eval.overlap = {overlap!r}: give a fraction in [0, 1)")
        self.backbone = optimise_for_inference(backbone) if optimise else backbone
        self.sampler = sampler
        self.overlap = float(overlap)
        self.set_window(int(window))
        self.device = device or torch.device("cpu")
        self.min_frames = min_frames
        self.name = name
        self._buf: np.ndarray | None = None  # crops from frame index _buf_start on
        self._buf_start = 0
        self._next = 0  # start of the next window to run
        self._last_run = -1  # start of the last window run
        self._out = _Growing()
        self._wsum = _Growing()
        self._ts = _Growing()  # times of the frames the model sees (after resampling)
        self._vts = _Growing()  # times of the video's frames
        self.windows_run = 0
        self.resampler: FrameResampler | None = None  # set by resample_to()
        self.keep = 0  # frames always kept for live readings (beyond one window)

    def resample_to(self, model_fs: float | None, video_fs: float, tolerance: float = 0.05) -> None:
        """Bring frames to ``model_fs`` (the rate the backbone was trained at) when the
        video's rate differs from it by more than ``tolerance`` (relative)."""
        if model_fs and abs(video_fs / model_fs - 1.0) > tolerance:
            self.resampler = FrameResampler(model_fs)

    def set_window(self, window: int) -> None:
        """Window length in frames (before the first frame is fed)."""
        self.window = max(4, int(window))
        self.hop = max(1, int(round(self.window * (1.0 - self.overlap))))

    @property
    def n_frames(self) -> int:
        """Frames the model has been given (at its own rate when resampling)."""
        return self._ts.n

    @property
    def timestamps(self) -> np.ndarray:
        """Times of the video's frames fed so far."""
        return self._vts.data

    def _model(self, clip: np.ndarray) -> np.ndarray:
        """(t, S, S, 3) uint8 -> z-scored output (t,)."""
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(clip)).to(self.device)
            x = x.permute(3, 0, 1, 2).unsqueeze(0).float().div_(255.0)  # (1, 3, t, S, S)
            if self.sampler is not None:
                x = self.sampler(x)
            x = x.contiguous(memory_format=torch.channels_last_3d)
            y = self.backbone(x).float().cpu().numpy().astype(np.float64)[0]
        y = y - y.mean()
        return y / max(float(y.std()), 1e-8)

    def _run(self, start: int, length: int) -> None:
        clip = self._buf[start - self._buf_start : start - self._buf_start + length]
        y = self._model(clip)
        w = np.hamming(length) if length > 2 else np.ones(length)
        w = np.maximum(w, 1e-3)
        self._out.raw(start + length)[start:] += y * w
        self._wsum.raw(start + length)[start:] += w
        self._last_run = start
        self.windows_run += 1

    def feed(self, crops: np.ndarray, ts: np.ndarray) -> None:
        """Add a chunk of crops; runs every window that is complete."""
        self._vts.extend(np.asarray(ts, dtype=np.float64))
        if self.resampler is not None:
            crops, ts = self.resampler(crops, ts)
            if len(crops) == 0:
                return
        self._buf = crops.copy() if self._buf is None else np.concatenate([self._buf, crops])
        self._ts.extend(np.asarray(ts, dtype=np.float64))
        n = self.n_frames
        while self._next + self.window <= n:
            self._run(self._next, self.window)
            self._next += self.hop
        # Keep what the next window needs, and always the last full window (for the
        # final window and for live readings).
        keep = min(self._next, max(0, n - max(self.window, self.keep)))
        if keep > self._buf_start:
            self._buf = self._buf[keep - self._buf_start :].copy()
            self._buf_start = keep

    def finish(self) -> None:
        """Run the last window (ending at the last frame) if the stride missed it."""
        n = self.n_frames
        if n < self.min_frames:
            raise DataError(f"'{self.name}': {n} frames with a face; at least {self.min_frames} are needed")
        if self.windows_run == 0:
            self._run(0, n)  # shorter than one window: one window over everything
        elif self._last_run + self.window < n:
            self._run(n - self.window, self.window)

    def raw_pulse(self) -> np.ndarray:
        """Overlap-added output per frame (T,)."""
        return self._out.data[: self.n_frames] / np.maximum(self._wsum.data[: self.n_frames], 1e-12)

    def pulse(self, grid: np.ndarray, fs: float, start: int = 0) -> np.ndarray:
        """The overlap-added pulse interpolated onto the video's uniform ``grid``."""
        ts = self._ts.data
        return _resample(self.raw_pulse(), ts, grid) if self.resampler is not None else \
            _resample(self.raw_pulse()[start:], ts[start:], grid)

    def recent_pulse(self, n: int, fs: float) -> tuple[np.ndarray, np.ndarray]:
        """``(pulse, grid)`` of the model on the last ``n`` video frames (at most
        ``max(window, keep)`` model frames)."""
        if self.resampler is not None:
            n = int(round(n * self.resampler.fs / fs))
        total = self.n_frames
        length = min(n, max(self.window, self.keep), total - self._buf_start)
        clip = self._buf[total - self._buf_start - length :]
        ts = self._ts.data[total - length :]
        grid, _ = uniform_grid(ts)
        return _resample(self._model(clip), ts, grid), grid


# ----------------------------------------------------------------------------------------
# Checkpoints
# ----------------------------------------------------------------------------------------


@dataclass
class LoadedModel:
    """A checkpoint ready for inference: modules in eval mode and what it was trained on."""

    backbone: Any
    sampler: Any
    config: Any  # pulsecl.config.Config
    clip_frames: int
    fs: float | None
    path: str
    spec: dict[str, Any]


def _check_payload(data: dict[str, Any], path: str) -> None:
    """CheckpointError for entries that are not what a pulsecl checkpoint holds."""
    import torch

    spec = data.get("model")
    if not isinstance(spec, dict) or not isinstance(spec.get("backbone"), str):
        raise CheckpointError(
            f"checkpoint '{path}': its 'model' entry is not a model spec (a dict naming a backbone); the file was altered"
        )
    for key in ("state_dict", "sampler_state_dict"):
        state = data.get(key)
        if key == "sampler_state_dict" and not state:
            continue
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            raise CheckpointError(
                f"checkpoint '{path}': '{key}' is a {type(state).__name__}, not a state dict "
                "(names -> tensors); the file was altered or not written by pulsecl"
            )
    for key in ("options", "sampler_options"):
        if not isinstance(spec.get(key, {}), dict):
            raise CheckpointError(f"checkpoint '{path}': model '{key}' is not a table; the file was altered")
    clip = data.get("clip_frames")
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, int) or clip < 4):
        raise CheckpointError(f"checkpoint '{path}': clip_frames = {clip!r} is not a clip length in frames")
    fs = data.get("fs")
    if fs is not None and (isinstance(fs, bool) or not isinstance(fs, (int, float)) or not fs > 0):
        raise CheckpointError(f"checkpoint '{path}': fs = {fs!r} is not a frame rate")


def load_model(checkpoint: str | os.PathLike[str], device: Any = None) -> LoadedModel:
    """Load a checkpoint (``weights_only``), check it and rebuild its backbone and sampler.

    Raises :class:`CheckpointError` for a missing, unreadable or altered file, a state
    dict that does not fit the backbone it names, or a config it cannot have come with.
    """
    from pulsecl.config import Config, merge
    from pulsecl.engine.checkpoint import build_from_checkpoint, load_checkpoint

    path = str(checkpoint)
    data = load_checkpoint(path)
    _check_payload(data, path)
    config = Config()
    raw = data.get("config") or {}
    if not isinstance(raw, dict):
        raise CheckpointError(f"checkpoint '{path}': its 'config' entry is not a table; the file was altered")
    try:
        # The sections inference uses: how crops were made, the band, the windows.
        merge(config, {k: raw[k] for k in ("preprocess", "signal", "eval", "data") if isinstance(raw.get(k), dict)},
              f"checkpoint '{path}'")
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint '{path}': its config cannot be read: {exc}") from None
    backbone, sampler = build_from_checkpoint(data, path)
    if device is not None:
        backbone.to(device)
        sampler.to(device)
    clip = int(data.get("clip_frames") or config.data.clip_frames)
    fs = float(data["fs"]) if data.get("fs") else None
    return LoadedModel(backbone, sampler, config, clip, fs, path, dict(data["model"]))


# ----------------------------------------------------------------------------------------
# Analysis: pulse -> heart rate over time, quality, mean heart rate
# ----------------------------------------------------------------------------------------


def _window_starts(n: int, win: int, step: int) -> np.ndarray:
    starts = np.arange(0, n - win + 1, step)
    if starts[-1] != n - win:
        starts = np.append(starts, n - win)
    return starts


def _normalised_spectra(segs: np.ndarray, fs: float, band: tuple[float, float], pad_factor: float = 8.0):
    """``(freqs, psd)``: Tukey(0.25)-windowed, zero-padded spectra of ``segs`` (W, L),
    each scaled to unit power inside ``band``; only in-band bins are returned."""
    from pulsecl.signal.processing import power_spectrum

    freqs, psd = power_spectrum(segs, fs, pad_factor=pad_factor, window=("tukey", 0.25))
    inside = (freqs >= band[0]) & (freqs <= band[1])
    psd = psd[:, inside]
    total = psd.sum(axis=1, keepdims=True)
    return freqs[inside], psd / np.where(total > 0, total, 1.0)


def _peak_bpm(freqs: np.ndarray, p: np.ndarray) -> float:
    """Largest bin, refined by a parabola through it and its neighbours; bpm."""
    k = int(np.argmax(p))
    f = float(freqs[k])
    if 0 < k < len(p) - 1:
        a, b, c = p[k - 1], p[k], p[k + 1]
        denom = a - 2 * b + c
        if denom < 0:
            f += float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5)) * float(freqs[1] - freqs[0])
    return f * 60.0


#: HR tracking over windows: a Gaussian prior of this width (bpm) around the mean heart
#: rate, and at most this change (bpm per second) between windows.
TRACK_PRIOR_BPM = 20.0
TRACK_MAX_RATE_BPM_S = 5.0
TRACK_JUMP_COST = 0.05  # log-power cost per bpm of change between windows
TRACK_FLOOR = 1e-4  # power floor of a normalised spectrum before the log


def track_hr(freqs: np.ndarray, psd: np.ndarray, centre_hz: float, stride_s: float) -> np.ndarray:
    """Heart rate (bpm) per window along the best path through the windows' spectra.

    ``psd`` (W, F) holds the windows' in-band spectra (each normalised to unit power) on
    ``freqs`` (F,) Hz.  Each spectrum is weighted by a Gaussian prior of
    :data:`TRACK_PRIOR_BPM` around ``centre_hz`` (the recording's heart rate), then a
    Viterbi path maximises the summed log-power less :data:`TRACK_JUMP_COST` per bpm of
    change, with changes limited to :data:`TRACK_MAX_RATE_BPM_S` per second of stride.
    A window swamped by an artefact at another rate then keeps the rate its neighbours
    carry; each window's rate is refined by a parabola on its own spectrum.  Chosen by
    measurement (``benchmarks/predict_hr_aggregate.py``).  O(W F k) for k allowed steps.
    """
    bpm = freqs * 60.0
    step = float(bpm[1] - bpm[0]) if bpm.size > 1 else 1.0
    prior = np.exp(-0.5 * ((bpm - centre_hz * 60.0) / TRACK_PRIOR_BPM) ** 2)
    weighted = psd * prior[None, :]
    obs = np.log(weighted / np.maximum(weighted.sum(axis=1, keepdims=True), 1e-300) + TRACK_FLOOR)
    w_count, f_count = obs.shape
    k = max(1, int(math.ceil(TRACK_MAX_RATE_BPM_S * stride_s / step)))
    cost = TRACK_JUMP_COST * step * np.abs(np.arange(-k, k + 1))  # (2k+1,)
    back = np.zeros((w_count, f_count), dtype=np.int32)
    score = obs[0].copy()
    for w in range(1, w_count):
        padded = np.concatenate([np.full(k, -np.inf), score, np.full(k, -np.inf)])
        cand = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1) - cost[::-1][None, :]  # (F, 2k+1)
        j = np.argmax(cand, axis=1)  # previous bin = f + k - j ... as an offset into padded
        back[w] = np.arange(f_count) + j - k
        score = cand[np.arange(f_count), j] + obs[w]
    path = np.empty(w_count, dtype=np.int64)
    path[-1] = int(np.argmax(score))
    for w in range(w_count - 1, 0, -1):
        path[w - 1] = back[w, path[w]]
    out = bpm[path].astype(np.float64)
    inner = (path > 0) & (path < f_count - 1)
    rows = np.flatnonzero(inner)
    if rows.size:
        j = path[rows]
        a, b, c = psd[rows, j - 1], psd[rows, j], psd[rows, j + 1]
        denom = a - 2 * b + c
        with np.errstate(divide="ignore", invalid="ignore"):
            off = np.where(denom < 0, 0.5 * (a - c) / denom, 0.0)
        out[rows] += np.clip(off, -0.5, 0.5) * step
    return out


def mean_hr(
    pulse: np.ndarray, fs: float, band: tuple[float, float], segs: np.ndarray, window_hr: np.ndarray,
    how: str = "welch", preset: Any = None,
) -> float:
    """A heart rate (bpm) for the recording from its processed windows ``segs`` (W, L).

    ``welch``: peak of the average of the windows' spectra, each normalised to unit
    in-band power (a window with a loud artefact weighs no more than a clean one);
    ``median``: median of the per-window rates; ``whole``: the preset's heart rate of
    the whole signal.
    """
    if how == "welch":
        freqs, psd = _normalised_spectra(segs, fs, band)
        return _peak_bpm(freqs, psd.mean(axis=0))
    if how == "median":
        return float(np.median(window_hr))
    if how == "whole":
        from pulsecl.signal.presets import get_preset

        return float(get_preset(preset).heart_rate(pulse, fs, band_hz=band))
    raise ConfigError(f"mean heart rate '{how}': use welch, median or whole")


_BLOCK = 256  # windows per block of spectra in analyse()


@dataclass
class Analysis:
    """Heart rate and quality of one pulse signal (see :func:`analyse`)."""

    hr_bpm: float
    window_times_s: np.ndarray
    window_hr_bpm: np.ndarray
    window_peak_bpm: np.ndarray
    window_snr_db: np.ndarray
    window_ipr: np.ndarray
    spectrum_bpm: np.ndarray
    spectrum: np.ndarray


def analyse(
    pulse: Any,
    fs: float,
    band_hz: tuple[float, float],
    window_s: float = 10.0,
    stride_s: float = 1.0,
    preset: Any = None,
    mean_method: str = "tracked",
    track: bool = True,
) -> Analysis:
    """Heart rate over time, SNR and IPR per window, and the mean heart rate.

    The pulse is post-processed by ``preset`` (default: detrend and band-pass) and cut
    into windows of ``window_s`` every ``stride_s`` seconds (one window over the whole
    signal when it is shorter).  Per window: its own spectral peak (the preset's rate),
    the tracked rate (:func:`track_hr`, robust to windows swamped by artefacts; the
    own peak when ``track`` is False), SNR (dB, power near the tracked rate and its
    harmonic against the rest of the band) of the processed window, and IPR (share of
    spectral magnitude outside the band) of the raw one.  The mean is the median of the
    per-window rates (``mean_method="tracked"``) or one of :func:`mean_hr`'s.
    """
    from pulsecl.signal.presets import get_preset
    from pulsecl.signal.processing import as_signal, check_band, check_fs
    from pulsecl.signal.quality import ipr, snr

    fs = check_fs(fs)
    band = check_band(band_hz, fs)
    x = np.asarray(pulse, dtype=np.float64)
    need = int(math.ceil(2.0 * fs / band[0]))
    if x.ndim != 1 or x.size < need:
        raise SignalError(
            f"{x.size} frames ({x.size / fs:.1f} s at {fs:.3g} fps) are too few for a heart rate down to "
            f"{band[0] * 60:.0f} bpm; give at least {need / fs:.1f} s of video"
        )
    x = as_signal(x, fs, band, name="pulse")
    p = get_preset(preset)
    if not (window_s > 0 and stride_s > 0):
        raise ConfigError(f"window {window_s!r} s and stride {stride_s!r} s must be positive")
    processed = p.process(x, fs, band_hz=band)
    win = min(x.size, int(round(window_s * fs)))
    step = max(1, int(round(stride_s * fs)))
    starts = _window_starts(x.size, win, step)
    times = (starts + win / 2.0) / fs
    segs = np.lib.stride_tricks.sliding_window_view(processed, win)[starts]  # (W, win) views
    raw = np.lib.stride_tricks.sliding_window_view(x, win)[starts]
    # Spectra are computed a block of windows at a time, so an hour of windows holds only
    # the in-band spectra (W x F), never W padded FFTs at once.
    rates = getattr(p, "_rates", None)  # the preset's per-window estimator (what its hr_over_time runs)
    if rates is None:
        _, peaks = p.hr_over_time(x, fs, window_s, stride_s, band_hz=band)
        peaks = np.asarray(peaks, dtype=np.float64)
    else:
        peaks = np.concatenate([np.atleast_1d(rates(segs[i : i + _BLOCK], fs, band)) * 60.0
                                for i in range(0, len(starts), _BLOCK)])
    if len(starts) != len(peaks):  # the preset's windows and ours must be the same
        raise SignalError(f"preset '{getattr(p, 'name', p)}' cut {len(peaks)} windows, expected {len(starts)}")
    blocks = []
    for i in range(0, len(starts), _BLOCK):
        as_signal(segs[i : i + _BLOCK], fs, band, name=f"pulse window of {window_s:g} s")
        blocks.append(_normalised_spectra(segs[i : i + _BLOCK], fs, band))
    freqs = blocks[0][0]
    psd = np.concatenate([b[1] for b in blocks]).astype(np.float32)  # (W, F) in band
    spectrum = psd.mean(axis=0, dtype=np.float64)
    centre = _peak_bpm(freqs, spectrum)
    hr = track_hr(freqs, psd, centre / 60.0, step / fs) if track and len(starts) > 1 else peaks
    if mean_method == "tracked":
        mean = float(np.median(hr)) if len(hr) > 1 else float(hr[0])
    else:
        mean = mean_hr(x, fs, band, segs, peaks, how=mean_method, preset=p)
    snrs = np.concatenate([np.atleast_1d(snr(segs[i : i + _BLOCK], fs, hr[i : i + _BLOCK], band))
                           for i in range(0, len(starts), _BLOCK)]).astype(np.float64)
    iprs = np.concatenate([np.atleast_1d(ipr(raw[i : i + _BLOCK], fs, band, demean=True))
                           for i in range(0, len(starts), _BLOCK)]).astype(np.float64)
    return Analysis(float(mean), times, hr, peaks, snrs, iprs, freqs * 60.0, spectrum)


# ----------------------------------------------------------------------------------------
# The result
# ----------------------------------------------------------------------------------------


def _num(v: float, digits: int = 3) -> float | None:
    return round(float(v), digits) if math.isfinite(float(v)) else None


@dataclass
class Prediction:
    """What :func:`pulsecl.predict` found in one recording.

    Heart rates in bpm, times in seconds from the first frame, ``fs`` in Hz (the
    measured mean frame rate; the pulse is on a uniform grid at that rate).
    """

    hr_bpm: float  # mean heart rate
    fs: float
    pulse: np.ndarray  # (T,) pulse waveform
    times_s: np.ndarray  # (T,) its times
    window_times_s: np.ndarray  # (W,) window centres
    window_hr_bpm: np.ndarray  # (W,) tracked heart rate (robust to a few bad windows)
    window_peak_bpm: np.ndarray  # (W,) each window's own spectral peak
    window_snr_db: np.ndarray  # (W,)
    window_ipr: np.ndarray  # (W,)
    spectrum_bpm: np.ndarray  # (F,) in-band frequencies of the average spectrum
    spectrum: np.ndarray  # (F,) average of the windows' normalised spectra
    frames_read: int
    frames_without_face: int
    source: str
    method: str | None = None
    checkpoint: str | None = None
    band_bpm: tuple[float, float] = (40.0, 250.0)
    roi: str = "face"
    window_s: float = 10.0
    stride_s: float = 1.0
    version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.pulse.size / self.fs

    @property
    def snr_db(self) -> float:
        """Median SNR over the windows (dB)."""
        return float(np.median(self.window_snr_db))

    @property
    def ipr(self) -> float:
        """Median IPR over the windows."""
        return float(np.median(self.window_ipr))

    def summary(self) -> dict[str, Any]:
        """The JSON summary (plain types)."""
        return {
            "hr_bpm": _num(self.hr_bpm),
            "snr_db": _num(self.snr_db),
            "ipr": _num(self.ipr, 4),
            "fs": _num(self.fs, 4),
            "duration_s": _num(self.duration_s),
            "frames_read": int(self.frames_read),
            "frames_without_face": int(self.frames_without_face),
            "source": self.source,
            "method": self.method,
            "checkpoint": self.checkpoint,
            "band_bpm": [round(float(v), 6) for v in self.band_bpm],
            "roi": self.roi,
            "window_s": float(self.window_s),
            "stride_s": float(self.stride_s),
            "pulsecl_version": self.version,
            **self.extra,
            "windows": [
                {"t_s": _num(t), "hr_bpm": _num(h), "peak_bpm": _num(k), "snr_db": _num(s), "ipr": _num(i, 4)}
                for t, h, k, s, i in zip(self.window_times_s, self.window_hr_bpm, self.window_peak_bpm,
                                         self.window_snr_db, self.window_ipr)
            ],
        }

    def pulse_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["t_s", "pulse"])
        w.writerows(zip(np.char.mod("%.4f", self.times_s), np.char.mod("%.6g", self.pulse)))
        return buf.getvalue()

    def hr_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["t_s", "hr_bpm", "peak_bpm", "snr_db", "ipr"])
        for t, h, k, s, i in zip(self.window_times_s, self.window_hr_bpm, self.window_peak_bpm,
                                 self.window_snr_db, self.window_ipr):
            w.writerow([f"{t:.3f}", f"{h:.3f}", f"{k:.3f}", f"{s:.3f}", f"{i:.4f}"])
        return buf.getvalue()

    def figure_png(self) -> bytes:
        """PNG of the waveform, the heart rate over time and the average spectrum."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 8), dpi=100, layout="constrained")
        ax1, ax2, ax3 = fig.subplots(3, 1)
        shown = self.times_s <= self.times_s[0] + 30.0  # the first 30 s of the waveform
        ax1.plot(self.times_s[shown], self.pulse[shown], lw=0.8, color="tab:red")
        ax1.set(xlabel="time (s)", ylabel="pulse (a.u.)",
                title=f"{Path(self.source).name}: {self.hr_bpm:.1f} bpm ({self.label})")
        ax2.plot(self.window_times_s, self.window_hr_bpm, "o-", ms=3, lw=1)
        ax2.axhline(self.hr_bpm, color="k", ls="--", lw=0.8, label=f"mean {self.hr_bpm:.1f} bpm")
        ax2.set(xlabel="time (s)", ylabel="heart rate (bpm)", title=f"heart rate on {self.window_s:g}-s windows")
        ax2.legend(loc="upper right")
        twin = ax2.twinx()
        twin.plot(self.window_times_s, self.window_snr_db, color="tab:green", lw=0.8, alpha=0.7)
        twin.set_ylabel("SNR (dB)", color="tab:green")
        ax3.plot(self.spectrum_bpm, self.spectrum, color="tab:blue")
        ax3.axvline(self.hr_bpm, color="k", ls="--", lw=0.8)
        ax3.set(xlabel="heart rate (bpm)", ylabel="normalised power", title="average spectrum of the windows")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()

    @property
    def label(self) -> str:
        return f"checkpoint {Path(self.checkpoint).name}" if self.checkpoint else f"method {self.method}"

    def write(self, out_dir: str | os.PathLike[str] | None = None, json_path: str | os.PathLike[str] | None = None,
              plot: bool = True) -> dict[str, Path]:
        """Write ``pulse.csv``, ``hr.csv``, ``summary.json`` and ``plot.png`` to
        ``out_dir`` and/or the summary to ``json_path``, each atomically; everything is
        rendered before the first file is written."""
        from pulsecl.io import atomic_write, write_json, write_text

        files: dict[str, Any] = {}
        summary = self.summary()
        if out_dir is not None:
            out = Path(out_dir)
            if out.exists() and not out.is_dir():
                raise DataError(f"--out '{out}' exists and is not a folder; give a folder")
            files["pulse"] = (out / "pulse.csv", self.pulse_csv())
            files["hr"] = (out / "hr.csv", self.hr_csv())
            files["summary"] = (out / "summary.json", summary)
            if plot:
                files["plot"] = (out / "plot.png", self.figure_png())
        if json_path is not None:
            jp = Path(json_path)
            if jp.is_dir():
                raise DataError(f"--json '{jp}' is a folder; give a file name")
            files["json"] = (jp, summary)
        paths: dict[str, Path] = {}
        for key, (path, content) in files.items():
            if isinstance(content, bytes):
                with atomic_write(path, "wb") as fh:
                    fh.write(content)
            elif isinstance(content, str):
                write_text(path, content)
            else:
                write_json(path, content)
            paths[key] = path
        return paths


# ----------------------------------------------------------------------------------------
# predict
# ----------------------------------------------------------------------------------------


@dataclass
class Setup:
    """Resolved settings for one prediction (shared by :func:`predict` and the live loop)."""

    config: Any
    band_hz: tuple[float, float]
    extractor: Any
    method: str | None
    checkpoint: str | None


def setup(
    method: str | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    *,
    config: Any = None,
    roi: str | None = None,
    band_bpm: Any = None,
    window_s: float | None = None,
    stride_s: float | None = None,
    preset: str | None = None,
    device: Any = None,
    method_options: dict[str, Any] | None = None,
    resample: bool = True,
) -> Setup:
    """Check the settings and build the pulse extractor (nothing is read yet)."""
    import copy

    from pulsecl.config import Config
    from pulsecl.video.pipeline import check_settings

    if method is not None and checkpoint is not None:
        raise ConfigError("give either a classical method or a checkpoint, not both")
    loaded = None
    if checkpoint is not None:
        from pulsecl.engine.device import choose_device

        dev = choose_device(device or "auto") if not hasattr(device, "type") else device
        loaded = load_model(checkpoint, dev)
        base = config if config is not None else loaded.config
    else:
        dev = None
        base = config if config is not None else Config()
    cfg = copy.deepcopy(base)
    if roi is not None:
        cfg.preprocess.roi = roi
    if band_bpm is not None:
        cfg.signal.band_bpm = [float(v) for v in band_bpm] if _pair(band_bpm) else band_bpm
    if window_s is not None:
        cfg.signal.window_s = float(window_s)
    if stride_s is not None:
        cfg.signal.stride_s = float(stride_s)
    if preset is not None:
        cfg.signal.preset = preset
    if cfg.preprocess.roi not in ("face", "full"):
        raise ConfigError(f"roi '{cfg.preprocess.roi}': use 'face' or 'full' (video already cropped to skin)")
    check_settings(cfg.preprocess)
    band = band_hz_from_bpm(cfg.signal.band_bpm)
    if not (cfg.signal.window_s > 0 and cfg.signal.stride_s > 0):
        raise ConfigError(
            f"window {cfg.signal.window_s!r} s and stride {cfg.signal.stride_s!r} s: give positive seconds"
        )
    from pulsecl.signal.presets import get_preset

    get_preset(cfg.signal.preset)  # an unknown preset fails now, not after the video
    if loaded is not None:
        window = loaded.clip_frames
        extractor: Any = ModelPulse(loaded.backbone, loaded.sampler, window, overlap=cfg.eval.overlap, device=dev,
                                    name=str(checkpoint))
        extractor.window_s = cfg.eval.window_s
        extractor.model_fs = loaded.fs if resample else None
        return Setup(cfg, band, extractor, None, str(checkpoint))
    name = method or "pos"
    return Setup(cfg, band, TracePulse(name, method_options), name, None)


def _pair(v: Any) -> bool:
    try:
        return len(v) == 2
    except TypeError:
        return False


def _adapt_window(extractor: Any, fs: float) -> None:
    """A model's frames at its training rate (if the video's differs) and its inference
    window in frames: ``eval.window_s`` at the rate it runs at, if set."""
    if not isinstance(extractor, ModelPulse):
        return
    extractor.resample_to(getattr(extractor, "model_fs", None), fs)
    rate = extractor.resampler.fs if extractor.resampler is not None else fs
    window_s = getattr(extractor, "window_s", 0.0)
    if window_s:
        extractor.set_window(int(round(window_s * rate)))


def finish(s: Setup, stream: Any, source_label: str) -> Prediction:
    """Pulse on a uniform grid, analysis, and the :class:`Prediction`."""
    ex = s.extractor
    ex.finish()
    ts = ex.timestamps
    band = s.band_hz
    if ts.size < 2:
        raise SignalError(f"'{source_label}': {ts.size} frame(s); a heart rate needs seconds of video")
    grid, fs = uniform_grid(ts)
    check_rate(fs, band, f"'{source_label}'")
    pulse = ex.pulse(grid, fs)
    sig = s.config.signal
    a = analyse(pulse, fs, band, sig.window_s, sig.stride_s, sig.preset)
    return Prediction(
        hr_bpm=a.hr_bpm,
        fs=fs,
        pulse=pulse,
        times_s=grid - grid[0],
        window_times_s=a.window_times_s,
        window_hr_bpm=a.window_hr_bpm,
        window_peak_bpm=a.window_peak_bpm,
        window_snr_db=a.window_snr_db,
        window_ipr=a.window_ipr,
        spectrum_bpm=a.spectrum_bpm,
        spectrum=a.spectrum,
        frames_read=int(stream.n_frames),
        frames_without_face=int(stream.frames_without_face),
        source=source_label,
        method=s.method,
        checkpoint=s.checkpoint,
        band_bpm=(band[0] * 60.0, band[1] * 60.0),
        roi=s.config.preprocess.roi,
        window_s=float(sig.window_s),
        stride_s=float(sig.stride_s),
    )


def predict(
    source: Any,
    fs: float | None = None,
    method: str | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    *,
    roi: str | None = None,
    band_bpm: Any = None,
    window_s: float | None = None,
    stride_s: float | None = None,
    preset: str | None = None,
    config: Any = None,
    device: Any = None,
    method_options: dict[str, Any] | None = None,
    progress: bool = False,
    prefetch: bool = True,
    resample: bool = True,
) -> Prediction:
    """Heart rate of the face in ``source``.

    Args:
        source: a video file, a folder of frames, an array (T, H, W, 3) uint8 RGB, an
            iterator of frames (H, W, 3) or chunks (n, H, W, 3), or a
            :class:`~pulsecl.video.FrameSource`.  (For a live camera see
            :func:`pulsecl.live.live`.)
        fs: frame rate in Hz, for arrays and iterators (overrides a file's rate).
        method: classical method (``pos`` when neither this nor ``checkpoint`` is given).
        checkpoint: a pulsecl checkpoint (file or run folder): its backbone and sampler
            run over overlapping windows of crops made as in training.
        roi: ``face`` (detect and track the face) or ``full`` (video already cropped to
            skin).
        band_bpm: plausible heart-rate band ``(low, high)`` in bpm (default 40-250).
        window_s, stride_s: sliding windows for heart rate over time (default 10 s, 1 s).
        preset: post-processing preset (:mod:`pulsecl.signal.presets`).
        config: a :class:`pulsecl.config.Config` to start from (default: defaults, or
            the checkpoint's own config); the arguments above override it.
        device: torch device for a checkpoint (default: auto).
        method_options: options of the classical method.
        prefetch: decode the next chunk of frames in a background thread.
        resample: for a checkpoint, bring the crops to the frame rate it was trained at
            (its ``fs``) when the video's differs by more than 5 %, by linear
            interpolation in time; the pulse comes back at the video's rate.

    Returns:
        A :class:`Prediction`.

    Raises:
        DataError: missing or unreadable video, no face, no frames.
        SignalError: a frame rate too low for the band, too short a video.
        CheckpointError: a missing, altered or mismatched checkpoint.
        ConfigError: bad settings.
    """
    from pulsecl.video.pipeline import CropStream

    s = setup(method, checkpoint, config=config, roi=roi, band_bpm=band_bpm, window_s=window_s,
              stride_s=stride_s, preset=preset, device=device, method_options=method_options, resample=resample)
    src = open_frames(source, fs=fs, chunk_frames=s.config.preprocess.chunk_frames)
    label = src.path or src.name
    check_rate(src.fs, s.band_hz, f"'{label}'")
    _adapt_window(s.extractor, src.fs)
    stream = CropStream(PrefetchSource(src) if prefetch else src, s.config.preprocess, progress=progress)
    for crops, ts in stream:
        s.extractor.feed(crops, ts)
    return finish(s, stream, label)
