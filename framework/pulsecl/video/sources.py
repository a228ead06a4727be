"""Frame sources: video files and folders of images, read in chunks (cameras, arrays,
iterators and the reader thread are in :mod:`pulsecl.video.streams`).

Every source iterates chunks ``(frames, timestamps)``: ``frames`` (n, H, W, 3) uint8 RGB
(converted from OpenCV's BGR once, here), ``timestamps`` (n,) float64 seconds from the
first frame.  Only one chunk is in memory at a time, so memory does not grow with the
length of the video.

Timestamps come from the source, not from an assumed rate: the container's presentation
times for video files (variable frame rate is kept), the numbers in the file names for
image folders (PURE: ``Image<ns>.png``), the clock for cameras.  ``fs`` is the nominal
rate (container rate, or the median frame interval); code that needs a uniform grid
resamples through the timestamps.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pulsecl.errors import DataError

# FFmpeg (inside OpenCV) prints its own lines to stderr ("moov atom not found", "[mjpeg
# @ 0x...] overread 8") before pulsecl's one-line error or warning says the same more
# clearly.  OPENCV_FFMPEG_LOGLEVEL=-8 (AV_LOG_QUIET) silences it; OpenCV reads it when its
# FFmpeg backend first starts, so it is set at import, before any capture is opened
# (cv2.utils.logging.setLogLevel does not reach FFmpeg's own log).  A value the user set
# wins; `pulsecl --debug` sets 24 (FFmpeg's warnings) to show them.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

__all__ = [
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "FrameSource",
    "VideoFileSource",
    "ImageFolderSource",
    "open_source",
    "image_timestamps",
    "frame_time",
    "short_read",
    "chunk_size",
    "MAX_CHUNK_BYTES",
]

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".mov", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".mjpg", ".mjpeg")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp")

DEFAULT_CHUNK = 300

#: A chunk never holds more than this many bytes of frames, whatever ``chunk_frames``
#: says: 145 frames of 640x480, 21 of 1920x1080.
MAX_CHUNK_BYTES = 128 * 2**20


def chunk_size(chunk_frames: int, height: int, width: int) -> int:
    """Frames per chunk: ``chunk_frames``, capped so a chunk of (height, width, 3) uint8
    frames stays within :data:`MAX_CHUNK_BYTES` (at least 1)."""
    return max(1, min(int(chunk_frames), MAX_CHUNK_BYTES // max(height * width * 3, 1)))


class FrameSource(ABC):
    """Base class: iterate to get chunks ``(frames (n, H, W, 3) uint8 RGB, timestamps (n,) s)``.

    Attributes: ``fs`` nominal frame rate in Hz; ``path`` (str or None) and ``name`` (for
    messages and cache names); ``n_frames`` when known in advance (else None);
    ``chunk_frames`` frames per chunk.  ``identity()`` describes the source for cache
    keys (None: not cacheable, e.g. a camera).

    After a full iteration: ``frames_read`` (frames read, None before), and for video
    files ``frames_expected`` (the container's frame count, None when it gives none) and
    ``truncated`` (True when clearly fewer frames were read than the container holds).
    ``warnings`` lists one line per problem found while reading (e.g. ``"'x.avi': read
    180 of 360 frames; the file may be truncated"``); each is also emitted once through
    :func:`pulsecl.warn.warn`, which the CLI prints as ``pulsecl: warning: ...``.
    """

    fs: float
    path: str | None
    name: str
    n_frames: int | None
    chunk_frames: int
    frames_read: int | None = None
    frames_expected: int | None = None
    truncated: bool = False

    @property
    def warnings(self) -> list[str]:
        """One line per problem found while reading (see the class docstring)."""
        return self.__dict__.setdefault("_warnings", [])

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            from pulsecl.warn import warn

            warn(message)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self.chunks()

    @abstractmethod
    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(frames, timestamps)`` chunks from the start (each call re-reads)."""

    def identity(self) -> dict[str, Any] | None:
        """What identifies the content for caching (path, size, mtime), or None."""
        return None

    def __repr__(self) -> str:
        n = self.n_frames if self.n_frames is not None else "?"
        return f"{type(self).__name__}({self.name!r}, fs={self.fs:.3f}, n_frames={n})"


def _check_chunk(chunk_frames: int) -> int:
    if not isinstance(chunk_frames, (int, np.integer)) or chunk_frames < 1:
        raise DataError(f"chunk_frames = {chunk_frames!r}: give a positive number of frames per chunk")
    return int(chunk_frames)


def _file_identity(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path.resolve()), "size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


# ----------------------------------------------------------------------------------------
# Video files
# ----------------------------------------------------------------------------------------


def short_read(read: int, expected: int | None) -> bool:
    """True when ``read`` frames fall clearly short of the container's count
    ``expected``: by more than 2 frames and 0.5 % (containers that estimate their count
    from the duration, e.g. some MP4s, are off by a frame or two)."""
    return bool(expected) and expected - read > max(2, 0.005 * expected)


#: A given frame rate that differs from a file's own by more than this fraction is
#: warned about (29.97 against 30 is not; 25 against 28 is).
FS_TOLERANCE = 0.01


def _warn_fs_override(source: "FrameSource", label: str, given: float, own: float, whose: str = "the file's") -> None:
    """One warning line when ``fs`` (given) replaces a source's own rate and the two
    differ by more than :data:`FS_TOLERANCE`; the heart rate scales by given / own."""
    if abs(given - own) <= FS_TOLERANCE * own:
        return
    source._warn(
        f"{label}: the frame rate given, {given:g} fps (--fs), overrides {whose} own {own:.3f} fps, and every "
        f"heart rate scales with it (x {given / own:.3f}); leave out --fs to use {whose} rate"
    )


def frame_time(raw: float | None, t_first: float, index: int, last: float, fs: float) -> float:
    """Timestamp (s, from the first frame) of frame ``index`` from the decoder's time
    ``raw`` (s, None when unknown).  A missing, non-finite or non-increasing time puts
    the frame on the nominal grid ``index / fs``, after the previous frame (``last``)."""
    if index == 0:
        return 0.0
    if raw is not None and np.isfinite(raw) and raw - t_first > last:
        return float(raw - t_first)
    return float(max(index / fs, last + 1.0 / fs))


class VideoFileSource(FrameSource):
    """A video file read through OpenCV (FFmpeg backend).

    ``fs`` is the container's rate; timestamps are the decoder's presentation times
    (``CAP_PROP_POS_MSEC``).  Where the container gives none or gives them out of order,
    frame ``k`` is placed at ``k / fs``; ``fs`` (argument) overrides a missing or wrong
    container rate, with a warning when the container gives a rate that differs from it
    by more than :data:`FS_TOLERANCE` (every heart rate scales with the rate: 89.5 bpm
    read at 25 fps from a 28 fps file is 79.9).  Missing, empty, corrupt and unreadable files raise
    :class:`DataError` naming the file.  A file that ends before the container's frame
    count (``frames_expected``; a truncated download or copy) is read to where it ends,
    with ``truncated = True`` and a warning (see :class:`FrameSource`).
    """

    def __init__(self, path: str | os.PathLike[str], chunk_frames: int = DEFAULT_CHUNK, fs: float | None = None):
        import cv2

        self.chunk_frames = _check_chunk(chunk_frames)
        p = Path(path)
        self.path, self.name = str(p), p.stem if p.stem not in ("vid", "video") else f"{p.parent.name}-{p.stem}"
        if not p.exists():
            raise DataError(f"video '{p}' does not exist")
        if p.is_dir():
            raise DataError(f"video '{p}' is a folder; give a video file (or open it as an image folder)")
        if not os.access(p, os.R_OK):
            raise DataError(f"video '{p}' is not readable (permission denied); check its permissions")
        if p.stat().st_size == 0:
            raise DataError(f"video '{p}' is empty (0 bytes); re-copy or re-record it")
        cap = cv2.VideoCapture(str(p))
        try:
            if not cap.isOpened():
                raise DataError(
                    f"video '{p}' cannot be opened: not a video, corrupt, or a codec this "
                    "OpenCV build cannot decode; try re-encoding it (e.g. to MJPG or H.264)"
                )
            ok, frame = cap.read()
            if not ok or frame is None:
                raise DataError(f"video '{p}' has no decodable frames (corrupt or truncated); re-encode or replace it")
            container_fs = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            self.height, self.width = frame.shape[:2]
        finally:
            cap.release()
        if fs is not None:
            if not fs > 0:
                raise DataError(f"video '{p}': fs = {fs!r}; give a positive frame rate in Hz")
            self.fs = float(fs)
            self._fs_given = True
            if np.isfinite(container_fs) and 0.5 <= container_fs <= 1000:
                _warn_fs_override(self, f"video '{p}'", float(fs), container_fs)
        elif np.isfinite(container_fs) and 0.5 <= container_fs <= 1000:
            self.fs = container_fs
            self._fs_given = False
        else:
            raise DataError(
                f"video '{p}' does not say its frame rate (container reports {container_fs}); give it, e.g. fs=30"
            )
        self.n_frames = count if count > 0 else None  # container's count: approximate for some formats
        self.frames_expected = self.n_frames
        self._p = p

    def identity(self) -> dict[str, Any]:
        return _file_identity(self._p)

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        import cv2

        cap = cv2.VideoCapture(self.path)
        if not cap.isOpened():
            raise DataError(f"video '{self.path}' cannot be opened any more (moved or deleted while reading?)")
        try:
            index = 0
            t_first = 0.0
            last_t = -np.inf
            n = chunk_size(self.chunk_frames, self.height, self.width)
            block: np.ndarray | None = np.empty((n, self.height, self.width, 3), np.uint8)
            stamps = np.empty(n, np.float64)
            k = 0
            while True:
                ok, frame = cap.read()
                if not ok or frame is None:
                    break
                raw = None if self._fs_given else cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if index == 0:
                    t_first = raw if raw is not None and np.isfinite(raw) else 0.0
                t = frame_time(raw, t_first, index, last_t, self.fs)
                last_t = t
                if frame.shape[:2] != (self.height, self.width):
                    raise DataError(
                        f"video '{self.path}': frame {index} is {frame.shape[1]}x{frame.shape[0]}, "
                        f"the first was {self.width}x{self.height}; re-encode the video"
                    )
                if block is None:
                    block = np.empty((n, self.height, self.width, 3), np.uint8)
                    stamps = np.empty(n, np.float64)
                cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=block[k])
                stamps[k] = t
                k += 1
                index += 1
                if k == n:
                    out, block, k = block, None, 0  # drop our reference before the next chunk
                    yield out, stamps
                    del out
            if index == 0:
                raise DataError(f"video '{self.path}' has no decodable frames (corrupt or truncated)")
            self.frames_read = index
            self.truncated = short_read(index, self.frames_expected)
            if self.truncated:
                self._warn(f"'{self.path}': read {index} of {self.frames_expected} frames; the file may be truncated")
            if block is not None and k:
                yield block[:k], stamps[:k]
        finally:
            cap.release()


# ----------------------------------------------------------------------------------------
# Image folders
# ----------------------------------------------------------------------------------------

_NUMBER = re.compile(r"(\d+)(?!.*\d)")  # the last run of digits in a name


def _image_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")]


def image_timestamps(names: Sequence[str], fs: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Order and time images from the numbers in their names.

    Returns ``(order, timestamps, fs)``: ``order`` sorts ``names`` by their last number;
    ``timestamps`` (n,) seconds from the first image.  Names that count frames (0, 1, 2,
    ...) need ``fs``; names that carry clock times (PURE: nanoseconds) are timed by them,
    in whichever unit (ns, us, ms, s) gives a rate nearest 30 Hz.  Given ``fs`` always
    wins.
    """
    numbers = []
    for name in names:
        m = _NUMBER.search(Path(name).stem)
        numbers.append(int(m.group(1)) if m else None)
    if any(n is None for n in numbers):
        bad = names[numbers.index(None)]
        if fs is None:
            raise DataError(f"image '{bad}' has no number in its name to order and time the frames by; give fs")
        order = np.argsort(np.asarray(names, dtype=object), kind="stable")  # by name
        return order, np.arange(len(names)) / float(fs), float(fs)
    nums = np.asarray(numbers, dtype=np.int64)
    order = np.argsort(nums, kind="stable")
    nums = nums[order]
    if len(np.unique(nums)) != len(nums):
        raise DataError(f"image names repeat a number ({names[order[0]]}, ...): cannot order the frames")
    if fs is not None:
        return order, np.arange(len(names)) / float(fs), float(fs)
    if len(nums) < 2:
        raise DataError(f"image folder has a single frame ({names[0]}); give fs")
    steps = np.diff(nums)
    if np.all(steps == 1) or nums[-1] < 10_000:
        raise DataError(
            f"images are numbered as frames ({names[order[0]]} ... {names[order[-1]]}), not timed; give fs (frame rate in Hz)"
        )
    rel = (nums - nums[0]).astype(np.float64)
    med = float(np.median(steps))
    units = (1e-9, 1e-6, 1e-3, 1.0)
    unit = min(units, key=lambda u: abs(np.log(1.0 / (med * u) / 30.0)))
    ts = rel * unit
    return order, ts, 1.0 / (med * unit)


class ImageFolderSource(FrameSource):
    """A folder of image files, one per frame (PURE layout: ``Image<ns>.png``).

    Frames are ordered and timed by the numbers in the file names (see
    :func:`image_timestamps`), by ``timestamps`` (n,) seconds if given (one per image in
    name order), or by ``fs``.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        chunk_frames: int = DEFAULT_CHUNK,
        fs: float | None = None,
        timestamps: np.ndarray | None = None,
    ):
        self.chunk_frames = _check_chunk(chunk_frames)
        p = Path(folder)
        self.path, self.name = str(p), p.name
        if not p.is_dir():
            raise DataError(f"image folder '{p}' does not exist")
        files = _image_files(p)
        if not files:
            raise DataError(f"image folder '{p}' has no images ({', '.join(IMAGE_EXTENSIONS)})")
        if timestamps is not None:
            files.sort(key=lambda f: f.name)
            ts = np.asarray(timestamps, dtype=np.float64)
            if ts.shape != (len(files),):
                raise DataError(f"image folder '{p}': {len(files)} images but {ts.size} timestamps")
            if np.any(np.diff(ts) <= 0):
                raise DataError(f"image folder '{p}': timestamps are not increasing")
            self.timestamps = ts - ts[0]
            self.fs = float(1.0 / np.median(np.diff(ts))) if len(ts) > 1 else float(fs or 30.0)
        else:
            try:
                order, ts, rate = image_timestamps([f.name for f in files], fs)
            except DataError as exc:
                raise DataError(f"image folder '{p}': {exc}") from None
            files = [files[i] for i in order]
            self.timestamps, self.fs = ts, rate
            if fs is not None:  # names that carry clock times have a rate of their own
                try:
                    own = image_timestamps([f.name for f in files], None)[2]
                except DataError:
                    own = None  # numbered as frames: fs is the only rate there is
                if own is not None:
                    _warn_fs_override(self, f"image folder '{p}'", float(fs), float(own), "the image names'")
        self.files = files
        self.n_frames = len(files)
        self._p = p

    def identity(self) -> dict[str, Any]:
        stats = [f.stat() for f in self.files]
        return {
            "path": str(self._p.resolve()),
            "files": len(self.files),
            "size": int(sum(s.st_size for s in stats)),
            "mtime_ns": int(max(s.st_mtime_ns for s in stats)),
            "first": self.files[0].name,
            "last": self.files[-1].name,
        }

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        import cv2

        first = cv2.imread(str(self.files[0]), cv2.IMREAD_COLOR)
        if first is None:
            raise DataError(f"image '{self.files[0]}' cannot be read (corrupt or not an image); replace or remove it")
        shape = first.shape
        n = chunk_size(self.chunk_frames, shape[0], shape[1])
        for start in range(0, len(self.files), n):
            names = self.files[start : start + n]
            block = np.empty((len(names), *shape), np.uint8)
            for k, f in enumerate(names):
                img = first if start + k == 0 else cv2.imread(str(f), cv2.IMREAD_COLOR)
                if img is None:
                    raise DataError(f"image '{f}' cannot be read (corrupt or not an image); replace or remove it")
                if img.shape != shape:
                    raise DataError(
                        f"image '{f}' is {img.shape[1]}x{img.shape[0]}, the first was {shape[1]}x{shape[0]}"
                    )
                cv2.cvtColor(img, cv2.COLOR_BGR2RGB, dst=block[k])
            self.frames_read = start + len(names)
            yield block, self.timestamps[start : start + len(names)]
            del block


def open_source(
    source: str | os.PathLike[str] | int | np.ndarray | FrameSource,
    fs: float | None = None,
    chunk_frames: int = DEFAULT_CHUNK,
    **options: Any,
) -> FrameSource:
    """Open a frame source.

    ``source``: a video file path; a folder of images; a camera index (int); a numpy
    array (T, H, W, 3) (then ``fs`` or ``timestamps=`` is required); an iterator of
    frames (H, W, 3) or chunks (n, H, W, 3) (then ``fs`` is required,
    :class:`pulsecl.video.streams.FrameIteratorSource`); or a :class:`FrameSource`
    (returned as is).  ``fs`` overrides the frame rate where the
    source lacks or misstates one.  Extra ``options`` go to the source class
    (``timestamps`` for folders and arrays, ``max_frames``/``duration`` for cameras).
    """
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, (bool, np.bool_)):
        raise DataError(f"source {source!r}: give a video file, an image folder, a camera index or frames")
    from pulsecl.video.streams import ArraySource, CameraSource, FrameIteratorSource

    if isinstance(source, (int, np.integer)):
        return CameraSource(int(source), chunk_frames=chunk_frames, fs=fs, **options)
    if isinstance(source, np.ndarray):
        return ArraySource(source, fs=fs, chunk_frames=chunk_frames, **options)
    if isinstance(source, str) and source.isdigit() and not Path(source).exists():
        return CameraSource(int(source), chunk_frames=chunk_frames, fs=fs, **options)
    if not isinstance(source, (str, os.PathLike)):
        from collections.abc import Iterable

        if isinstance(source, Iterable):
            return FrameIteratorSource(source, fs, chunk_frames=chunk_frames, name=type(source).__name__)
        raise DataError(
            f"cannot read frames from {type(source).__name__}; give a video path, an image folder, "
            "a camera index, an array (T, H, W, 3) or an iterator of frames"
        )
    p = Path(source)
    if p.is_dir():
        if not _image_files(p):
            videos = [f.name for f in p.iterdir() if f.suffix.lower() in VIDEO_EXTENSIONS]
            hint = f" (it holds videos, e.g. {videos[0]}: give one of them, or preprocess the folder as a dataset)" if videos else ""
            raise DataError(f"folder '{p}' has no images to read as frames{hint}")
        return ImageFolderSource(p, chunk_frames=chunk_frames, fs=fs, **options)
    return VideoFileSource(p, chunk_frames=chunk_frames, fs=fs, **options)
