"""Face boxes for every frame: detect every N frames, smooth, glide, enlarge.

The detector (a ``face_detectors`` plugin, built with :func:`pulsecl.build`) runs on
every ``detect_every``-th frame.  Each detection's centre and size are smoothed with an
exponential moving average (weight ``smooth`` for the new box); between detections the
box glides linearly from the previous smoothed box to the new one over ``detect_every``
frames, so the crop never jumps (a jump every N frames would put a spike train at
fs / N Hz, inside the heart-rate band, into every trace).  Boxes are squares of side
``box_scale`` x the detected size, kept inside the frame.

Detections that differ from the smoothed box by less than ``deadband`` x its side
(centre and size) leave it where it is: a detector's box jitters by a few pixels (a
Haar cascade's size moves in steps of its scale factor), and on a still face every
such wobble would shift the crop's skin and hair and show in the trace.

Frames whose last detection found no face keep the last box and are counted in
``frames_without_face``.  Frames before the first face are held back (up to
``max_pending`` frames, detecting on each) and get the first face's box; if the face
takes longer to appear, the held frames get a centred square.  A video in which no face
is ever found is a :class:`~pulsecl.errors.DataError` naming it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulsecl.errors import ConfigError, DataError

__all__ = ["FaceTracker", "square_box"]


def square_box(cx: float, cy: float, side: float, width: int, height: int) -> tuple[int, int, int]:
    """Integer square ``(x0, y0, side)`` centred near (cx, cy), shifted to lie inside a
    ``width`` x ``height`` frame (and shrunk to fit if larger than it)."""
    s = int(round(min(max(side, 2.0), width, height)))
    x0 = int(round(cx - s / 2.0))
    y0 = int(round(cy - s / 2.0))
    x0 = min(max(x0, 0), width - s)
    y0 = min(max(y0, 0), height - s)
    return x0, y0, s


class FaceTracker:
    """Per-frame face boxes for a stream of frames (state carries across chunks).

    ``process(frames, timestamps)`` takes a chunk (n, H, W, 3) uint8 RGB and returns
    ``(frames, timestamps, boxes)`` for the frames whose box is known: a list of m
    frames, (m,) seconds, (m, 3) int boxes ``(x0, y0, side)``.  Frames held back (no
    face seen yet) come out of a later call; ``finish()`` raises DataError if no face
    was ever found.  The boxes do not depend on how the stream is cut into chunks.
    """

    def __init__(
        self,
        detector: Any,
        detect_every: int = 10,
        box_scale: float = 1.2,
        smooth: float = 0.3,
        name: str = "video",
        max_pending: int = 64,
        search_near: bool = True,
        deadband: float = 0.1,
    ):
        if not isinstance(detect_every, (int, np.integer)) or detect_every < 1:
            raise ConfigError(f"preprocess.detect_every = {detect_every!r}: give a positive number of frames")
        if not box_scale > 0:
            raise ConfigError(f"preprocess.box_scale = {box_scale!r}: give a positive factor (e.g. 1.2)")
        if not 0 < smooth <= 1:
            raise ConfigError(f"preprocess.smooth = {smooth!r}: give the EMA weight of a new box in (0, 1]")
        self.detector = detector
        self.detect_every = int(detect_every)
        self.box_scale = float(box_scale)
        self.smooth = float(smooth)
        self.name = name
        self.max_pending = int(max_pending)
        self.search_near = bool(search_near)
        self.deadband = float(deadband)
        self.frames_seen = 0
        self.frames_without_face = 0
        self.detections = 0  # detector calls
        self.faces_found = 0  # calls that found a face
        self._state: np.ndarray | None = None  # smoothed (cx, cy, side)
        self._glide_from: np.ndarray | None = None
        self._glide_start = 0
        self._next_detect = 0
        self._missing = False
        self._fallback: np.ndarray | None = None
        self._pending: list[tuple[np.ndarray, float]] = []
        self._size: tuple[int, int] | None = None

    def _detect(self, frame: np.ndarray) -> np.ndarray | None:
        """Smoothed-box candidate ``(cx, cy, side)`` from the detector, or None.

        With a face already tracked (and ``search_near``), the detector first sees only
        the neighbourhood of
        the last box, shrunk so the face is about :attr:`roi_face_px` pixels wide (a
        fraction of the cost of the whole frame); the whole frame is searched when that
        finds nothing.
        """
        box = None
        if self._state is not None and self.search_near:
            box = self._detect_near(frame, self._state)
        if box is None:
            self.detections += 1
            box = self.detector.detect(frame)
        if box is None:
            return None
        x, y, w, h = (float(v) for v in box)
        if w <= 0 or h <= 0:
            return None
        self.faces_found += 1
        return np.array([x + w / 2.0, y + h / 2.0, max(w, h) * self.box_scale])

    roi_face_px = 48.0  # face width the detector sees when searching near the last box

    def _detect_near(self, frame: np.ndarray, state: np.ndarray) -> tuple[float, float, float, float] | None:
        import cv2

        height, width = frame.shape[:2]
        face = state[2] / self.box_scale
        x0, y0, side = square_box(state[0], state[1], 2.2 * face, width, height)
        roi = frame[y0 : y0 + side, x0 : x0 + side]
        shrink = min(1.0, self.roi_face_px / max(face, 1.0))
        if shrink < 1.0:
            n = max(int(round(side * shrink)), 24)
            shrink = n / side
            roi = cv2.resize(roi, (n, n), interpolation=cv2.INTER_AREA)
        self.detections += 1
        box = self.detector.detect(np.ascontiguousarray(roi))
        if box is None:
            return None
        bx, by, bw, bh = (float(v) / shrink for v in box)
        return bx + x0, by + y0, bw, bh

    def _current(self, i: int) -> np.ndarray:
        if self._glide_from is None:
            return self._state
        f = min((i - self._glide_start + 1) / self.detect_every, 1.0)
        return self._glide_from + f * (self._state - self._glide_from)

    def _box(self, b: np.ndarray) -> tuple[int, int, int]:
        width, height = self._size
        return square_box(b[0], b[1], b[2], width, height)

    def process(
        self, frames: np.ndarray, timestamps: np.ndarray
    ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """Boxes for a chunk; see the class docstring.  Frames come back as a list of
        views into ``frames`` (held-back frames as copies)."""
        if self._size is None:
            self._size = (frames.shape[2], frames.shape[1])
        out_frames: list[np.ndarray] = []
        out_ts: list[float] = []
        boxes: list[tuple[int, int, int]] = []
        for frame, t in zip(frames, timestamps):
            i = self.frames_seen
            self.frames_seen += 1
            if i >= self._next_detect:
                found = self._detect(frame)
                if found is None:
                    self._missing = True
                    searching = self._state is None and self._fallback is None
                    self._next_detect = i + (1 if searching else self.detect_every)
                else:
                    if self._state is None:
                        self._state, self._glide_from = found, None
                        self._glide_start = i
                    elif np.max(np.abs(found - self._state)) >= self.deadband * self._state[2]:
                        self._glide_from = self._current(i - 1)
                        self._state = (1.0 - self.smooth) * self._state + self.smooth * found
                        self._glide_start = i
                    self._missing = False
                    self._fallback = None
                    self._next_detect = i + self.detect_every
            if self._state is None:
                if self._fallback is None:
                    self._pending.append((frame.copy(), float(t)))  # a view would pin the chunk
                    self.frames_without_face += 1
                    if len(self._pending) > self.max_pending:
                        # The face is late: give up holding frames, use a centred square.
                        width, height = self._size
                        self._fallback = np.array([width / 2.0, height / 2.0, float(min(width, height))])
                        self._release(self._fallback, out_frames, out_ts, boxes)
                        self._next_detect = i + self.detect_every
                    continue
                self.frames_without_face += 1
                out_frames.append(frame)
                out_ts.append(float(t))
                boxes.append(self._box(self._fallback))
                continue
            if self._pending:
                self._release(self._state, out_frames, out_ts, boxes)
            if self._missing:
                self.frames_without_face += 1
            out_frames.append(frame)
            out_ts.append(float(t))
            boxes.append(self._box(self._current(i)))
        return out_frames, np.asarray(out_ts, dtype=np.float64), np.asarray(boxes, dtype=np.int64).reshape(-1, 3)

    def _release(self, b: np.ndarray, out_frames: list, out_ts: list, boxes: list) -> None:
        box = self._box(b)
        for frame, t in self._pending:
            out_frames.append(frame)
            out_ts.append(t)
            boxes.append(box)
        self._pending = []

    def finish(self) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """Frames still held at the end of the stream; DataError if no face was found."""
        if self.faces_found == 0 and self.frames_seen > 0:
            raise DataError(
                f"no face found in '{self.name}' ({self.frames_seen} frames, {self.detections} "
                "detector runs); check that it shows a frontal face, try another detector or "
                "its options (preprocess.detector_options), or use preprocess.roi = 'full' for "
                "video already cropped to skin"
            )
        # Once a face is found the held frames are released, so nothing is held here.
        return [], np.zeros(0), np.zeros((0, 3), dtype=np.int64)
