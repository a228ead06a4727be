"""Video -> face crops -> (cached) clips, in bounded memory; RGB traces over skin.

::

    source (file, image folder, camera, array)      chunks of frames + timestamps
      -> FaceTracker (roi = "face") or whole frame  (roi = "full")
      -> crop + resize to size x size (area interpolation)
      -> uint8 chunks (iter_crops)  or  a Clip backed by the cache (preprocess)

Peak memory is one chunk of full frames (``chunk_frames``) plus what the detector
holds; the crops of a cached run go straight to disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from pulsecl.errors import ConfigError, DataError
from pulsecl.video.cache import CacheEntry, cache_key, cache_settings, check_cache_dir
from pulsecl.video.faces import FaceTracker
from pulsecl.video.sources import FrameSource, open_source

__all__ = [
    "ROIS", "Clip", "CropStream", "check_settings", "iter_crops", "landmarks_available", "model_settings", "preprocess",
    "rgb_trace", "skin_mask", "trace_settings",
]


ROIS = ("auto", "face", "landmarks", "full")


def check_settings(settings: Any) -> None:
    """Raise ConfigError for preprocessing settings that cannot work."""
    if settings.roi not in ROIS:
        raise ConfigError(
            f"preprocess.roi = '{settings.roi}': use auto, face (the face box), landmarks (the skin region "
            "of face landmarks) or full (video already cropped to skin)"
        )
    for key in ("size", "trace_size"):
        value = getattr(settings, key, 32)
        if not isinstance(value, int) or not 8 <= value <= 1024:
            raise ConfigError(f"preprocess.{key} = {value!r}: give a crop size in pixels, 8-1024")
    if not isinstance(settings.chunk_frames, int) or settings.chunk_frames < 1:
        raise ConfigError(f"preprocess.chunk_frames = {settings.chunk_frames!r}: give a positive number of frames")
    if not isinstance(settings.detect_every, int) or settings.detect_every < 1:
        raise ConfigError(f"preprocess.detect_every = {settings.detect_every!r}: give a positive number of frames")
    if not settings.box_scale > 0:
        raise ConfigError(f"preprocess.box_scale = {settings.box_scale!r}: give a positive factor (e.g. 1.2)")
    if not 0 < settings.smooth <= 1:
        raise ConfigError(f"preprocess.smooth = {settings.smooth!r}: give the EMA weight of a new box in (0, 1]")


def _default_settings() -> Any:
    from pulsecl.config import PreprocessConfig

    return PreprocessConfig()


_LANDMARKS_OK: dict[str, bool] = {}


def landmarks_available(landmarker: str = "facemesh") -> bool:
    """True when the face-detector plugin ``landmarker`` can be built here (for
    ``facemesh``: the LiteRT runtime is installed).  Asked once per process."""
    if landmarker not in _LANDMARKS_OK:
        import pulsecl
        from pulsecl.errors import PulseclError

        try:
            from pulsecl.video.landmarks import check_landmarker

            check_landmarker(pulsecl.build("face_detectors", landmarker), landmarker)
            _LANDMARKS_OK[landmarker] = True
        except PulseclError:
            _LANDMARKS_OK[landmarker] = False
    return _LANDMARKS_OK[landmarker]


def trace_settings(settings: Any) -> Any:
    """The crop settings of a classical method's skin trace: ``settings`` with ``size`` =
    ``trace_size`` and ``roi = "auto"`` resolved to ``landmarks`` when the landmarker can
    run here, else ``face`` (with one warning: the colour mask in the face box reads real
    faces less well; docs/measurements.md, "Real faces").  ``predict``, ``live``,
    ``evaluate`` and ``bench`` all make a classical method's crops with these."""
    import copy

    out = copy.deepcopy(settings)
    out.size = settings.trace_size
    if out.roi == "auto":
        if landmarks_available(out.landmarker):
            out.roi = "landmarks"
        else:
            from pulsecl.warn import warn

            warn(
                f"face landmarks are not available ('{out.landmarker}' cannot run: pip install \"pulsecl[landmarks]\"); "
                "using the face box and a colour mask, which reads real faces less well"
            )
            out.roi = "face"
    return out


def model_settings(settings: Any) -> Any:
    """The crop settings a model sees: ``settings`` with ``roi = "auto"`` as ``face``."""
    if settings.roi != "auto":
        return settings
    import copy

    out = copy.deepcopy(settings)
    out.roi = "face"
    return out


def _resize(block: np.ndarray, size: int) -> np.ndarray:
    out = np.empty((len(block), size, size, 3), np.uint8)
    for k, img in enumerate(block):
        cv2.resize(img, (size, size), dst=out[k], interpolation=cv2.INTER_AREA)
    return out


class CropStream:
    """Iterable of ``(crops (n, S, S, 3) uint8 RGB, timestamps (n,) s)`` chunks.

    After (or during) iteration: ``n_frames`` frames out so far, ``frames_without_face``,
    ``detections`` (detector runs), ``source`` (the :class:`FrameSource`).  After a full
    iteration, from the source: ``frames_read``, ``frames_expected`` (the container's
    frame count, or None), ``truncated`` and ``warnings`` (one line per problem, e.g.
    ``"'x.avi': read 180 of 360 frames; the file may be truncated"``, each also emitted
    once through :func:`pulsecl.warn.warn`).
    """

    @property
    def frames_read(self) -> int | None:
        return self.source.frames_read

    @property
    def frames_expected(self) -> int | None:
        return self.source.frames_expected

    @property
    def truncated(self) -> bool:
        return self.source.truncated

    @property
    def warnings(self) -> list[str]:
        return self.source.warnings

    def __init__(self, source: Any, settings: Any = None, progress: bool = False, fs: float | None = None):
        self.settings = model_settings(settings if settings is not None else _default_settings())
        check_settings(self.settings)
        self.source: FrameSource = open_source(source, fs=fs, chunk_frames=self.settings.chunk_frames)
        self.progress = progress
        self.n_frames = 0
        self.frames_without_face = 0
        self.detections = 0

    def _tracker(self) -> FaceTracker:
        import pulsecl

        s = self.settings
        detector = pulsecl.build("face_detectors", s.detector, **dict(getattr(s, "detector_options", {}) or {}))
        return FaceTracker(
            detector, detect_every=s.detect_every, box_scale=s.box_scale, smooth=s.smooth,
            name=self.source.path or self.source.name,
        )

    def _landmark_tracker(self) -> Any:
        import pulsecl
        from pulsecl.video.landmarks import LandmarkTracker

        s = self.settings
        landmarker = pulsecl.build("face_detectors", s.landmarker)
        detector = pulsecl.build("face_detectors", s.detector, **dict(getattr(s, "detector_options", {}) or {}))
        return LandmarkTracker(landmarker, detector, name=self.source.path or self.source.name)

    def _crop_regions(self, frames: list[np.ndarray], regions: list) -> np.ndarray:
        from pulsecl.video.landmarks import crop_region

        size = self.settings.size
        out = np.empty((len(frames), size, size, 3), np.uint8)
        for k, (img, region) in enumerate(zip(frames, regions)):
            out[k] = crop_region(img, region, size)
        return out

    def _crop(self, frames: list[np.ndarray], boxes: np.ndarray) -> np.ndarray:
        size = self.settings.size
        out = np.empty((len(frames), size, size, 3), np.uint8)
        for k, (img, (x0, y0, side)) in enumerate(zip(frames, boxes)):
            cv2.resize(img[y0 : y0 + side, x0 : x0 + side], (size, size), dst=out[k], interpolation=cv2.INTER_AREA)
        return out

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        bar = None
        if self.progress:
            from pulsecl.progress import bar as progress_bar

            bar = progress_bar(total=self.source.n_frames, unit="frame", desc=self.source.name, leave=False)
        roi = self.settings.roi
        tracker = self._tracker() if roi == "face" else self._landmark_tracker() if roi == "landmarks" else None
        chunks = iter(self.source)
        try:
            while True:
                item = next(chunks, None)
                if item is None:
                    break
                frames, ts = item
                del item
                n_in = len(frames)
                if tracker is None:
                    crops, out_ts = _resize(frames, self.settings.size), ts
                else:
                    kept, out_ts, where = tracker.process(frames, ts)  # boxes, or landmark regions
                    crops = self._crop_regions(kept, where) if roi == "landmarks" else self._crop(kept, where)
                    del kept
                    self.frames_without_face = tracker.frames_without_face
                    self.detections = tracker.detections
                del frames  # let the source reuse the memory for the next chunk
                if bar is not None:
                    bar.update(n_in)
                if len(crops):
                    self.n_frames += len(crops)
                    yield crops, out_ts
            if roi == "landmarks":
                tracker.finish()
            elif tracker is not None:
                kept, out_ts, boxes = tracker.finish()
                self.frames_without_face = tracker.frames_without_face
                self.detections = tracker.detections
                if len(kept):
                    self.n_frames += len(kept)
                    yield self._crop(kept, boxes), out_ts
            if self.n_frames == 0:
                raise DataError(f"'{self.source.path or self.source.name}' gave no frames")
        finally:
            if bar is not None:
                bar.close()


def iter_crops(source: Any, settings: Any = None, progress: bool = False, fs: float | None = None) -> CropStream:
    """Stream face crops from ``source`` (anything :func:`open_source` takes).

    ``settings``: a :class:`pulsecl.config.PreprocessConfig` (defaults if None).  Returns a
    :class:`CropStream`: iterate it for ``(crops (n, S, S, 3) uint8 RGB, timestamps (n,))``
    chunks; it counts ``frames_without_face`` as it goes.
    """
    return CropStream(source, settings, progress=progress, fs=fs)


@dataclass
class Clip:
    """A preprocessed video.

    ``frames`` (T, S, S, 3) uint8 RGB crops (a read-only memory map when it comes from
    the cache); ``timestamps`` (T,) seconds; ``fs`` Hz, the mean rate of the timestamps;
    ``frames_without_face``: frames that reused an earlier box; ``source``: path or name;
    ``cache_path``: the cache entry folder (None when not cached); ``reused``: True when
    the cache already held it; ``warnings``: problems found reading the source (e.g. a
    truncated file), kept in the cache entry and emitted again when it is reused.
    """

    frames: np.ndarray
    timestamps: np.ndarray
    fs: float
    n_frames: int
    frames_without_face: int
    source: str
    cache_path: str | None = None
    reused: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return self.n_frames


def _rate(timestamps: np.ndarray, fallback: float) -> float:
    if len(timestamps) > 1 and timestamps[-1] > timestamps[0]:
        return float((len(timestamps) - 1) / (timestamps[-1] - timestamps[0]))
    return float(fallback)


def preprocess(
    source: Any,
    settings: Any = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    fs: float | None = None,
) -> Clip:
    """Face crops of a whole video as a :class:`Clip`, through the cache if given.

    With ``cache_dir``, a complete entry for the same settings and the same (unchanged)
    source is reused; otherwise crops stream to disk and come back memory-mapped.
    Without it (or for sources that cannot be cached: cameras), crops are gathered in
    memory (T x S x S x 3 bytes).
    """
    stream = iter_crops(source, settings, progress=progress, fs=fs)
    src = stream.source
    label = src.path or src.name
    identity = src.identity() if cache_dir is not None else None
    if identity is None:
        blocks, stamps = [], []
        for crops, ts in stream:
            blocks.append(crops)
            stamps.append(ts)
        timestamps = np.concatenate(stamps)
        return Clip(
            frames=np.concatenate(blocks),
            timestamps=timestamps,
            fs=_rate(timestamps, src.fs),
            n_frames=stream.n_frames,
            frames_without_face=stream.frames_without_face,
            source=label,
            warnings=list(stream.warnings),
        )
    check_cache_dir(cache_dir)
    key = cache_key(stream.settings, identity)
    entry = CacheEntry(cache_dir, src.name, key)
    hit = entry.load()
    if hit is None:
        size = stream.settings.size
        stamps = []
        try:
            with entry.frames_writer((size, size, 3)) as writer:
                for crops, ts in stream:
                    writer.append(crops)
                    stamps.append(ts)
            timestamps = np.concatenate(stamps)
            meta = {
                "source": label,
                "identity": identity,
                "settings": cache_settings(stream.settings),
                "n_frames": int(stream.n_frames),
                "fs": _rate(timestamps, src.fs),
                "source_fs": float(src.fs),
                "frames_without_face": int(stream.frames_without_face),
                "detections": int(stream.detections),
                "frames_read": stream.frames_read,
                "frames_expected": stream.frames_expected,
                "warnings": list(stream.warnings),
            }
            entry.commit(timestamps, meta)
        except BaseException:
            entry.discard()  # an error, a full disk or Ctrl-C: no unusable entry is left
            raise
        hit = entry.load()
        if hit is None:
            raise DataError(f"cache entry '{entry.dir}' could not be read back after writing; check the disk")
        reused = False
    else:
        reused = True
        from pulsecl.warn import warn

        for line in hit[2].get("warnings", []):
            warn(line)  # the cache keeps what reading the source found
    frames, timestamps, meta = hit
    return Clip(
        frames=frames,
        timestamps=timestamps,
        fs=float(meta["fs"]),
        n_frames=int(meta["n_frames"]),
        frames_without_face=int(meta["frames_without_face"]),
        source=label,
        cache_path=str(entry.dir),
        reused=reused,
        meta=meta,
        warnings=list(meta.get("warnings", [])),
    )


# ----------------------------------------------------------------------------------------
# RGB traces
# ----------------------------------------------------------------------------------------

# Skin in YCrCb (Chai & Ngan, "Face segmentation using skin-color map in videophone
# applications", IEEE TCSVT 1999): Cr in [133, 173], Cb in [77, 127]; very dark and
# saturated pixels (hair, pupils, clipped highlights) are left out too.
_CR = (133, 173)
_CB = (77, 127)
_Y = (15, 250)


def skin_mask(crops: np.ndarray) -> np.ndarray:
    """Boolean skin mask (T, H, W) of uint8 RGB ``crops`` (T, H, W, 3), by YCrCb
    thresholds (Chai & Ngan 1999)."""
    t, h, w, _ = crops.shape
    ycc = cv2.cvtColor(np.ascontiguousarray(crops).reshape(t * h, w, 3), cv2.COLOR_RGB2YCrCb).reshape(t, h, w, 3)
    y, cr, cb = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    return (
        (cr >= _CR[0]) & (cr <= _CR[1]) & (cb >= _CB[0]) & (cb <= _CB[1]) & (y >= _Y[0]) & (y <= _Y[1])
    )


def averaged_skin_mask(wide: np.ndarray, lo: int, first: int, stop: int, half: int, total: int) -> np.ndarray:
    """Skin masks of frames ``[first, stop)`` from each frame's centred moving average over
    frames ``[k - half, k + half]`` (clipped to ``[0, total)``), which steadies the mask.

    ``wide`` holds frames ``[lo, lo + len(wide))`` and must cover
    ``[max(first - half, 0), min(stop + half, total))``.  Shape: (n, S, S, 3) -> (stop - first, S, S).
    """
    wide = np.asarray(wide, dtype=np.float32)
    csum = np.concatenate([np.zeros((1, *wide.shape[1:]), np.float32), np.cumsum(wide, axis=0)])
    k = np.arange(first, stop)
    a = np.clip(k - half, 0, total) - lo
    b = np.clip(k + half + 1, 0, total) - lo
    avg = (csum[b] - csum[a]) / (b - a)[:, None, None, None]
    return skin_mask(np.clip(avg + 0.5, 0, 255).astype(np.uint8))


def rgb_trace(
    crops: np.ndarray, skin: bool = True, min_skin: float = 0.05, mask_frames: int = 5, chunk: int = 256,
    region: bool = False,
) -> np.ndarray:
    """Spatial mean colour per frame: (T, H, W, 3) uint8 RGB -> (T, 3) float64 in [0, 1].

    With ``skin`` the mean is over skin pixels (:func:`skin_mask`): the background and
    hair carry no pulse and dilute it (on this project's synthetic clips POS gave
    1.3 bpm MAE over skin against 22 bpm over the whole frame).  The skin test is made on
    the average of ``mask_frames`` frames centred on each frame, so sensor noise does
    not flip pixels in and out of the mask from frame to frame (1 = a mask per frame).
    When skin covers less than ``min_skin`` of the pixels on average the mask is not
    trusted and every pixel is used; a frame with no skin pixel uses all its pixels.
    ``region=True``: the crops carry their own skin region (``roi = "landmarks"``: zero
    outside it), used instead of the colour test.
    Works through ``crops`` in chunks, so a memory-mapped clip is never loaded whole.
    """
    if not hasattr(crops, "shape"):
        crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise DataError(f"rgb_trace: expected crops (T, H, W, 3), got shape {crops.shape}")
    t = crops.shape[0]
    pixels = crops.shape[1] * crops.shape[2]
    half = max(int(mask_frames), 1) // 2
    means = np.empty((t, 3), np.float64)  # over all pixels
    sums = np.empty((t, 3), np.float64)  # over skin pixels
    counts = np.empty(t, np.float64)
    for s in range(0, t, chunk):
        e = min(s + chunk, t)
        block = np.ascontiguousarray(crops[s:e])
        means[s:e] = block.mean(axis=(1, 2), dtype=np.float64)
        if not skin:
            continue
        if region:
            from pulsecl.video.landmarks import region_mask

            mask = region_mask(block)
        elif half:
            lo, hi = max(s - half, 0), min(e + half, t)
            mask = averaged_skin_mask(crops[lo:hi], lo, s, e, half, t)
        else:
            mask = skin_mask(block)
        counts[s:e] = mask.sum(axis=(1, 2))
        sums[s:e] = _masked_sum(block, mask)
    if not skin or counts.mean() < min_skin * pixels:
        return means / 255.0
    out = means.copy()
    has = counts > 0
    out[has] = sums[has] / counts[has, None]
    return out / 255.0


def _masked_sum(block: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-frame sum of RGB over masked pixels: (n, H, W, 3), (n, H, W) -> (n, 3)."""
    n = block.shape[0]
    flat = block.reshape(n, -1, 3).astype(np.float32)
    m = mask.reshape(n, 1, -1).astype(np.float32)
    return np.matmul(m, flat)[:, 0, :].astype(np.float64)
