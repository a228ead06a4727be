"""Frame sources beyond files and cameras: any iterator of frames, and a reader thread.

* :class:`FrameIteratorSource`: frames from any iterator (single frames or chunks),
  at a given rate; what :func:`pulsecl.video.open_source` makes of an iterable.
* :class:`PrefetchSource`: reads the next chunk of another source in a background
  thread while the current one is processed (decoding releases the GIL), so decoding
  overlaps face tracking and the model on a second core.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from pulsecl.errors import DataError
from pulsecl.video.sources import FrameSource

__all__ = ["FrameIteratorSource", "PrefetchSource"]


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
