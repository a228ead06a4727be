"""The skin region of a face, followed frame by frame through its landmarks
(``preprocess.roi = "landmarks"``).

A *landmarker* is a ``face_detectors`` component that also has
``landmarks(frame, near=None, box=None) -> points | None`` and ``skin_polygons(points) -> (include,
exclude)`` (:class:`pulsecl.protocols.FaceLandmarker`; the built-in one is ``facemesh``).
Each frame gets its own points, looked for near the previous frame's (the landmarker
detects the face itself when that fails, and the box detector ``preprocess.detector`` is
asked when the landmarker finds none).  The crop is the square around the skin region,
resized to ``size`` x ``size``; the pixels outside the region are set to zero, so a crop
carries its own mask (:func:`region_mask`) through the cache, the crop process and every
extractor.

Why: on real compressed face video (UBFC-rPPG, ``benchmarks/ubfc_dev.py``) the whole face
less eyes, brows and mouth gives every classical method a cleaner trace than the face
box with a colour mask, and the larger the region the better (forehead or cheeks alone
are worse); figures in ``docs/measurements.md``, "Real faces".

Frames before the first face are dropped (and counted in ``frames_without_face``); a
frame in which the face is lost keeps the last region found (and is counted too).  A
video in which no face is ever found is a :class:`~pulsecl.errors.DataError`.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from pulsecl.errors import DataError, PluginError
from pulsecl.video.faces import square_box

__all__ = ["MARGIN", "LandmarkTracker", "check_landmarker", "crop_region", "region_mask"]

#: The crop is this many times the skin region's extent (a little context for resizing).
MARGIN = 1.1


def check_landmarker(landmarker: Any, name: str) -> Any:
    """``landmarker`` itself, or a PluginError when it lacks what a landmark region needs."""
    for attr in ("detect", "landmarks", "skin_polygons"):
        if not callable(getattr(landmarker, attr, None)):
            raise PluginError(
                f"face detector '{name}' has no {attr}() method, so it cannot give a landmark skin region; "
                "set preprocess.landmarker to one that does (facemesh) or use preprocess.roi = 'face'"
            )
    return landmarker


class LandmarkTracker:
    """Per-frame skin regions for a stream of frames (state carries across chunks).

    ``process(frames, timestamps)`` takes a chunk (n, H, W, 3) uint8 RGB and returns
    ``(frames, timestamps, regions)`` for the frames with a region: a list of m frames,
    (m,) seconds, and m ``(include, exclude)`` polygon lists in frame pixels.
    """

    def __init__(self, landmarker: Any, detector: Any = None, name: str = "video"):
        self.landmarker = check_landmarker(landmarker, getattr(landmarker, "name", type(landmarker).__name__))
        self.detector = detector
        self.name = name
        self.frames_seen = 0
        self.frames_without_face = 0
        self.detections = 0  # landmarker and detector calls
        self.faces_found = 0
        self._points: np.ndarray | None = None
        self._region: tuple[list[np.ndarray], list[np.ndarray]] | None = None

    def _find(self, frame: np.ndarray) -> np.ndarray | None:
        self.detections += 1
        points = self.landmarker.landmarks(frame, near=self._points)
        if points is None and self.detector is not None:
            self.detections += 1
            box = self.detector.detect(frame)
            if box is not None:
                self.detections += 1
                points = self.landmarker.landmarks(frame, box=box)
        return points

    def process(self, frames: np.ndarray, timestamps: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, list]:
        out_frames: list[np.ndarray] = []
        out_ts: list[float] = []
        regions: list = []
        for frame, t in zip(frames, timestamps):
            self.frames_seen += 1
            points = self._find(frame)
            if points is None:
                self.frames_without_face += 1
                if self._region is None:
                    continue  # no face yet: the frame is dropped
            else:
                self.faces_found += 1
                self._points = np.asarray(points, dtype=np.float64)
                self._region = self.landmarker.skin_polygons(self._points)
            out_frames.append(frame)
            out_ts.append(float(t))
            regions.append(self._region)
        return out_frames, np.asarray(out_ts, dtype=np.float64), regions

    def finish(self) -> None:
        """DataError when no face was found in the whole stream."""
        if self.faces_found == 0 and self.frames_seen > 0:
            raise DataError(
                f"no face found in '{self.name}' ({self.frames_seen} frames, {self.detections} "
                "detector runs); check that it shows a face, try --roi face (the box detector), or "
                "use --roi full for video already cropped to skin"
            )


def crop_region(frame: np.ndarray, region: tuple[list[np.ndarray], list[np.ndarray]], size: int) -> np.ndarray:
    """The square around ``region``'s include polygons (x :data:`MARGIN`), resized to
    ``size`` x ``size`` (area interpolation), with the pixels outside the region set to
    zero.  Shape: (H, W, 3) uint8 -> (size, size, 3) uint8."""
    include, exclude = region
    pts = np.concatenate(include)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    height, width = frame.shape[:2]
    centre = (lo + hi) / 2.0
    x0, y0, side = square_box(centre[0], centre[1], float(max(hi - lo)) * MARGIN, width, height)
    crop = cv2.resize(frame[y0 : y0 + side, x0 : x0 + side], (size, size), interpolation=cv2.INTER_AREA)
    scale = size / side
    shifted = ([(p - (x0, y0)) * scale for p in include], [(p - (x0, y0)) * scale for p in exclude])
    crop[~_fill(shifted, size)] = 0
    return crop


def _fill(region: tuple[list[np.ndarray], list[np.ndarray]], size: int) -> np.ndarray:
    """Boolean mask (size, size) of the include polygons less the exclude ones (polygon
    points in pixels of that grid, filled with 1/8-pixel precision)."""
    mask = np.zeros((size, size), np.uint8)
    include, exclude = region
    cv2.fillPoly(mask, [np.round(p * 8).astype(np.int32) for p in include], 1, shift=3)
    if exclude:
        cv2.fillPoly(mask, [np.round(p * 8).astype(np.int32) for p in exclude], 0, shift=3)
    return mask.astype(bool)


def region_mask(crops: np.ndarray) -> np.ndarray:
    """The region of crops made by :func:`crop_region`: every pixel that is not zero.
    Shape: (T, H, W, 3) -> (T, H, W) bool."""
    return np.asarray(crops).any(axis=-1)
