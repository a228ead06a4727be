"""Frame sources beyond files: cameras, arrays, any iterator of frames, a reader thread.

* :class:`CameraSource`: a live camera (OpenCV), timestamped by the clock;
* :class:`ArraySource`: frames in memory (T, H, W, 3) at a given rate or timestamps;
* :class:`FrameIteratorSource`: frames from any iterator (single frames or chunks),
  at a given rate; what :func:`pulsecl.video.open_source` makes of an iterable.
* :class:`PrefetchSource`: reads the next chunk of another source in a background
  thread while the current one is processed (decoding releases the GIL), so decoding
  overlaps face tracking and the model on a second core.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from pulsecl.errors import DataError
from pulsecl.video.sources import DEFAULT_CHUNK, FrameSource, _check_chunk

__all__ = ["ArraySource", "CameraSource", "FrameIteratorSource", "PrefetchSource"]


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

    # What the source found while reading (see FrameSource): the reader's, not ours.
    @property
    def frames_read(self) -> int | None:  # type: ignore[override]
        return self.source.frames_read

    @property
    def frames_expected(self) -> int | None:  # type: ignore[override]
        return self.source.frames_expected

    @property
    def truncated(self) -> bool:  # type: ignore[override]
        return self.source.truncated

    @property
    def warnings(self) -> list[str]:  # type: ignore[override]
        return self.source.warnings

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


# ----------------------------------------------------------------------------------------
# Cameras and arrays
# ----------------------------------------------------------------------------------------


class CameraSource(FrameSource):
    """A live camera (OpenCV index).  Timestamps from the monotonic clock at capture.

    ``max_frames`` (or ``duration`` seconds) ends the stream; without either it runs
    until the camera stops or the caller stops iterating.
    """

    def __init__(
        self,
        index: int,
        chunk_frames: int = 30,
        fs: float | None = None,
        max_frames: int | None = None,
        duration: float | None = None,
    ):
        import cv2

        self.chunk_frames = _check_chunk(chunk_frames)
        self.index = int(index)
        self.path, self.name = None, f"camera{self.index}"
        self.n_frames = max_frames
        self.duration = duration
        self._cap = cv2.VideoCapture(self.index)
        if not self._cap.isOpened():
            self._cap.release()
            raise DataError(f"camera {self.index} cannot be opened (not connected, or in use by another program)")
        rate = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fs = float(fs) if fs else (rate if 0.5 <= rate <= 1000 else 30.0)

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        import cv2

        t0 = None
        count = 0
        buf: list[np.ndarray] = []
        stamps: list[float] = []
        try:
            while self.n_frames is None or count < self.n_frames:
                ok, frame = self._cap.read()
                now = time.monotonic()
                if not ok or frame is None:
                    break
                t0 = now if t0 is None else t0
                if self.duration is not None and now - t0 > self.duration:
                    break
                buf.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                stamps.append(now - t0)
                count += 1
                self.frames_read = count
                if len(buf) == self.chunk_frames:
                    yield np.stack(buf), np.asarray(stamps)
                    buf, stamps = [], []
            if buf:
                yield np.stack(buf), np.asarray(stamps)
        finally:
            self._cap.release()


class ArraySource(FrameSource):
    """Frames already in memory: (T, H, W, 3) uint8 RGB (float in [0, 1] is converted),
    at ``fs`` Hz or at the given ``timestamps`` (T,) seconds."""

    def __init__(
        self,
        frames: np.ndarray,
        fs: float | None = None,
        chunk_frames: int = DEFAULT_CHUNK,
        timestamps: np.ndarray | None = None,
        name: str = "array",
    ):
        self.chunk_frames = _check_chunk(chunk_frames)
        arr = np.asarray(frames)
        if arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[0] < 1:
            raise DataError(f"frames for '{name}' must be (T, H, W, 3) RGB, got shape {arr.shape}")
        if arr.dtype != np.uint8:
            if not np.issubdtype(arr.dtype, np.floating):
                raise DataError(f"frames for '{name}' must be uint8 or float in [0, 1], got {arr.dtype}")
            arr = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        self.frames = arr
        if timestamps is not None:
            ts = np.asarray(timestamps, dtype=np.float64)
            if ts.shape != (arr.shape[0],) or np.any(np.diff(ts) <= 0):
                raise DataError(f"timestamps for '{name}' must be ({arr.shape[0]},) and increasing")
            self.timestamps = ts
            self.fs = float(fs) if fs else (float(1.0 / np.median(np.diff(ts))) if len(ts) > 1 else 30.0)
        else:
            if fs is None or not fs > 0:
                raise DataError(f"frames for '{name}': give their frame rate fs (Hz)")
            self.fs = float(fs)
            self.timestamps = np.arange(arr.shape[0]) / self.fs
        self.path, self.name = None, name
        self.n_frames = int(arr.shape[0])

    def identity(self) -> dict[str, Any]:
        import hashlib

        h = hashlib.sha256()
        h.update(str(self.frames.shape).encode())
        h.update(np.ascontiguousarray(self.frames).data)
        h.update(np.ascontiguousarray(self.timestamps).data)
        return {"array_sha256": h.hexdigest()}

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, self.n_frames, self.chunk_frames):
            stop = min(start + self.chunk_frames, self.n_frames)
            self.frames_read = stop
            yield self.frames[start:stop], self.timestamps[start:stop]
