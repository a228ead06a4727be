"""Pulse extractors: crops streamed in chunk by chunk, a pulse signal out.

Both kinds follow :class:`pulsecl.protocols.Extractor`: ``feed(crops, ts)`` with a
chunk of crops ``(n, S, S, 3)`` uint8 RGB at times ``ts`` (n,) s, ``finish()`` at the
end, then ``pulse(grid, fs)`` on the video's uniform time grid; ``recent_pulse(n, fs)``
gives the last ``n`` frames' pulse for live readings.

* :class:`TracePulse`: a classical method (``classical_methods`` table) on the skin RGB
  trace, accumulated chunk by chunk;
* :class:`ModelPulse`: a trained model (:class:`pulsecl.models.PulseModel`) through the
  inference engine (:class:`pulsecl.engine.inference.OverlapAdd`), with the frames
  brought to the model's training rate first (:class:`FrameResampler`).

Memory: frames and crops never accumulate; what grows with the video is one RGB trace
row (classical) or one output sample (model) per frame, a few tens of bytes (about 4 MB
for an hour at 30 fps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulsecl.errors import DataError, SignalError

__all__ = ["FrameResampler", "ModelPulse", "TracePulse", "check_rate", "resample_to_grid", "uniform_grid"]


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


def resample_to_grid(values: np.ndarray, ts: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Values sampled at ``ts`` (T, ...) interpolated onto ``grid`` (T,)."""
    if ts.shape == grid.shape and np.allclose(ts, grid, rtol=0.0, atol=1e-6):
        return values
    if values.ndim == 1:
        return np.interp(grid, ts, values)
    return np.stack([np.interp(grid, ts, values[:, c]) for c in range(values.shape[1])], axis=1)


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

    With ``region=True`` the crops carry their own skin region (``preprocess.roi =
    "landmarks"``: zero outside it, :func:`pulsecl.video.landmarks.region_mask`), used as
    it is, frame by frame, instead of the colour test.

    Before the method, frames whose colour jumps away from its running median are
    replaced (:func:`pulsecl.signal.processing.despike`; ``despike=False`` keeps them).
    ``band_bpm``, when given, goes to methods that take a band (CHROM's and ICA's own
    band-pass then follows the band the heart rate is read in), unless ``options`` set it.
    """

    def __init__(self, method: str = "pos", options: dict[str, Any] | None = None, min_skin: float = 0.05,
                 mask_frames: int = 5, band_bpm: Any = None, despike: bool = True, region: bool = False):
        import pulsecl
        from pulsecl.plugins import get_plugin_manager

        self.name = method
        options = dict(options or {})
        if band_bpm is not None and "band_bpm" not in options:
            if "band_bpm" in get_plugin_manager().table("classical_methods").get(method).options():
                options["band_bpm"] = tuple(float(v) for v in band_bpm)
        self.method = pulsecl.build("classical_methods", method, **options)
        self.despike = bool(despike)
        self.region = bool(region)
        self.min_skin = min_skin
        self.half = 0 if self.region else max(int(mask_frames), 1) // 2
        self._means = _Growing((3,))
        self._sums = _Growing((3,))
        self._counts = _Growing()
        self._ts = _Growing()
        self._pixels = 0
        self._tail: np.ndarray | None = None  # crops from frame _tail_start on
        self._tail_start = 0

    def adapt(self, video_fs: float) -> None:
        """Nothing to set up: a trace is kept at the video's own rate."""

    @property
    def n_frames(self) -> int:
        """Frames whose trace row is final."""
        return self._counts.n

    def _finalise(self, stop: int, total: int) -> None:
        """Trace rows of frames [n_frames, stop), with the mask average clipped to
        frames [0, total)."""
        from pulsecl.video import skin_mask
        from pulsecl.video.landmarks import region_mask
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
        if self.region:
            mask = region_mask(block)
        elif half:
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
        trace = resample_to_grid(self.trace(start), self.timestamps[start:], grid)
        if self.despike:
            from pulsecl.signal.processing import despike

            trace, _ = despike(trace, fs)
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


class ModelPulse:
    """A trained model streamed over overlapping windows of crops
    (:class:`~pulsecl.engine.inference.OverlapAdd`, windows batched).

    The crops are brought to the model's training rate ``model.fs`` when the video's
    rate differs from it by more than 5 % (:meth:`adapt`; a backbone learns the pulse in
    cycles per frame at the rate it was trained at), and the model's window is
    ``model.window_frames(rate)`` at the rate it runs at.  The pulse comes back on the
    video's time grid.
    """

    def __init__(self, model: Any, overlap: float = 0.5, batch_size: int = 4, optimise: bool = True,
                 min_frames: int = 8, resample: bool = True, tolerance: float = 0.05):
        self.model = model
        self.name = model.label
        self.overlap = float(overlap)
        self.batch_size = int(batch_size)
        self.optimise = bool(optimise)
        self.min_frames = int(min_frames)
        self.allow_resample = bool(resample)
        self.tolerance = float(tolerance)
        self.resampler: FrameResampler | None = None
        self.engine: Any = None
        self._ts = _Growing()  # times of the frames the model sees (after resampling)
        self._vts = _Growing()  # times of the video's frames
        self.keep_s = 0.0  # seconds always kept for live readings (beyond one window)

    @property
    def rate(self) -> float | None:
        """The rate the model sees frames at (None before :meth:`adapt`)."""
        return None if self.engine is None else self._rate

    def adapt(self, video_fs: float) -> None:
        """Set up for a video at ``video_fs`` Hz: resampling to the model's rate if
        needed, the window in frames at the rate the model runs at."""
        from pulsecl.engine.inference import OverlapAdd

        model_fs = self.model.fs if self.allow_resample else None
        if model_fs and abs(video_fs / model_fs - 1.0) > self.tolerance:
            self.resampler = FrameResampler(model_fs)
            self._rate = float(model_fs)
        else:
            self.resampler = None
            self._rate = float(video_fs)
        net = self.model.inference_net() if self.optimise else self.model.net
        self.engine = OverlapAdd(
            net, self.model.window_frames(self._rate), self.overlap, self.batch_size,
            device=self.model.device, min_frames=self.min_frames, keep=int(round(self.keep_s * self._rate)),
            channels_last=self.optimise, name=self.name,
        )

    @property
    def window(self) -> int:
        """The inference window in frames (at the rate the model runs at)."""
        return self.engine.window

    @property
    def n_frames(self) -> int:
        """Frames the model has been given (at its own rate when resampling)."""
        return self._ts.n

    @property
    def timestamps(self) -> np.ndarray:
        """Times of the video's frames fed so far."""
        return self._vts.data

    def feed(self, crops: np.ndarray, ts: np.ndarray) -> None:
        """Add a chunk of crops; runs every window that is complete."""
        if self.engine is None:
            raise SignalError("ModelPulse.adapt(video_fs) must be called before the first frames")
        self._vts.extend(np.asarray(ts, dtype=np.float64))
        if self.resampler is not None:
            crops, ts = self.resampler(crops, ts)
            if len(crops) == 0:
                return
        self._ts.extend(np.asarray(ts, dtype=np.float64))
        self.engine.feed(crops)

    def finish(self) -> None:
        """Run the last window."""
        n = self.n_frames
        if n < self.min_frames:
            raise DataError(f"'{self.name}': {n} frames with a face; at least {self.min_frames} are needed")
        self.engine.finish()

    def raw_pulse(self) -> np.ndarray:
        """Overlap-added output per frame the model saw (T,)."""
        return self.engine.pulse()

    def pulse(self, grid: np.ndarray, fs: float, start: int = 0) -> np.ndarray:
        """The overlap-added pulse interpolated onto the video's uniform ``grid``."""
        ts = self._ts.data
        if self.resampler is not None:
            return resample_to_grid(self.raw_pulse(), ts, grid)
        return resample_to_grid(self.raw_pulse()[start:], ts[start:], grid)

    def recent_pulse(self, n: int, fs: float) -> tuple[np.ndarray, np.ndarray]:
        """``(pulse, grid)`` of the model on the last ``n`` video frames."""
        if self.resampler is not None:
            n = int(round(n * self.resampler.fs / fs))
        y = self.engine.recent(n)
        ts = self._ts.data[self.n_frames - len(y) :]
        grid, _ = uniform_grid(ts)
        return resample_to_grid(y, ts, grid), grid
