"""Face detection and 468 face landmarks with MediaPipe's models, run by LiteRT.

Models (Apache 2.0, shipped in ``models/`` beside this file; see its README):

* ``face_detection_short_range.tflite``: BlazeFace (Bazarevsky et al., "BlazeFace:
  Sub-millisecond neural face detection on mobile GPUs", CVPR-W 2019), faces within
  about 2 m of the camera; a box and six key points per face.
* ``face_landmark.tflite``: Face Mesh (Kartynnik et al., "Real-time facial surface
  geometry from monocular video on mobile GPUs", CVPR-W 2019): 468 points of a face
  crop and a face-presence score.

The runtime is ``ai-edge-litert`` (Google's TensorFlow Lite runtime), installed with
``pip install "pulsecl[landmarks]"``; it is imported when the detector is built, so
pulsecl works without it (with the Haar detector).

:meth:`FaceMesh.detect` answers the ``face_detectors`` protocol (a box);
:meth:`FaceMesh.landmarks` gives the points of a face near a given square and
:meth:`FaceMesh.skin_polygons` the skin region they outline (the face oval less the
eyes, eyebrows and mouth), which :class:`pulsecl.video.landmarks.LandmarkTracker`
follows from frame to frame.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

import cv2
import numpy as np

from pulsecl.errors import ConfigError, DataError, PluginError

__all__ = ["FACE_OVAL", "FaceMesh", "SKIN_HOLES", "model_path"]

MODELS = Path(__file__).resolve().parent / "models"

# Face Mesh point indices (the canonical 468-point topology): the face oval, and the
# parts inside it that are not skin or move on their own.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
SKIN_HOLES = {
    "right_eye": (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
    "left_eye": (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249),
    "right_brow": (70, 63, 105, 66, 107, 55, 65, 52, 53, 46),
    "left_brow": (300, 293, 334, 296, 336, 285, 295, 282, 283, 276),
    "mouth": (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146),
}
_EYE_OUTER = (33, 263)  # the right and left eyes' outer corners: the face's roll

_DETECT_SIZE = 128
_MESH_SIZE = 192


def model_path(name: str) -> Path:
    """Path of a shipped model file; PluginError when the package lacks it."""
    path = MODELS / name
    if not path.is_file():
        raise PluginError(f"facemesh: model file '{path}' is missing; reinstall pulsecl")
    return path


def _interpreter(name: str, threads: int):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise PluginError(
            "facemesh: the TensorFlow Lite runtime is not installed; pip install \"pulsecl[landmarks]\" "
            "(ai-edge-litert), or use the haar detector (preprocess.detector = 'haar', --roi face)"
        ) from None
    with _native_stderr_silenced():  # LiteRT prints an INFO line as it sets up XNNPACK
        interp = Interpreter(model_path=str(model_path(name)), num_threads=threads)
        interp.allocate_tensors()
    return interp


@contextlib.contextmanager
def _native_stderr_silenced():
    """File descriptor 2 sent to /dev/null inside the block (native libraries' prints)."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _anchors() -> np.ndarray:
    """BlazeFace short-range anchor centres (896, 2): 16x16 cells x 2 anchors (stride 8),
    then 8x8 cells x 6 anchors (strides 16, 16, 16), each cell's anchors together."""
    rows = []
    for grid, per_cell in ((16, 2), (8, 6)):
        centres = (np.arange(grid) + 0.5) / grid
        yy, xx = np.meshgrid(centres, centres, indexing="ij")
        cell = np.stack([xx.ravel(), yy.ravel()], axis=1)
        rows.append(np.repeat(cell, per_cell, axis=0))
    return np.concatenate(rows).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, np.float64), -100.0, 100.0)))


class FaceMesh:
    """MediaPipe's face detector and Face Mesh, on RGB frames.

    Options:
        min_score: BlazeFace's smallest detection score for a face (0-1).
        min_presence: Face Mesh's smallest face-presence score for its points to count.
        scale: the square given to Face Mesh is this many times the face's extent
            (MediaPipe uses 1.5).
        threads: LiteRT's CPU threads per model.
    """

    def __init__(self, min_score: float = 0.5, min_presence: float = 0.5, scale: float = 1.5, threads: int = 1):
        for key, value in (("min_score", min_score), ("min_presence", min_presence)):
            if not 0.0 <= float(value) < 1.0:
                raise ConfigError(f"facemesh detector: {key} = {value!r}: give a score in [0, 1)")
        if not float(scale) >= 1.0:
            raise ConfigError(f"facemesh detector: scale = {scale!r}: give a factor >= 1 (MediaPipe: 1.5)")
        if int(threads) < 1:
            raise ConfigError(f"facemesh detector: threads = {threads!r}: give at least 1")
        self.min_score = float(min_score)
        self.min_presence = float(min_presence)
        self.scale = float(scale)
        self._det = _interpreter("face_detection_short_range.tflite", int(threads))
        self._mesh = _interpreter("face_landmark.tflite", int(threads))
        self._det_io = (self._det.get_input_details()[0]["index"],
                        [d["index"] for d in self._det.get_output_details()])
        self._mesh_io = (self._mesh.get_input_details()[0]["index"],
                         [d["index"] for d in self._mesh.get_output_details()])
        self._anchors = _anchors()

    # ------------------------------------------------------------------ detection
    def detect(self, frame: np.ndarray) -> tuple[int, int, int, int] | None:
        """The most confident face in ``frame`` (H, W, 3) uint8 RGB as ``(x, y, w, h)``
        pixels, or None."""
        found = self._detect(frame)
        if found is None:
            return None
        (x0, y0, x1, y1), _ = found
        return int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))

    def _detect(self, frame: np.ndarray) -> tuple[tuple[float, float, float, float], np.ndarray] | None:
        """``((x0, y0, x1, y1), key points (6, 2))`` in frame pixels, or None."""
        _check_frame(frame)
        h, w = frame.shape[:2]
        side = max(h, w)  # letterbox: the frame centred in a square
        s = _DETECT_SIZE / side
        m = np.array([[s, 0, (_DETECT_SIZE - s * w) / 2], [0, s, (_DETECT_SIZE - s * h) / 2]], np.float32)
        img = cv2.warpAffine(frame, m, (_DETECT_SIZE, _DETECT_SIZE), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        inp, (reg_idx, cls_idx) = self._det_io
        self._det.set_tensor(inp, (img.astype(np.float32) / 127.5 - 1.0)[None])
        self._det.invoke()
        reg = self._det.get_tensor(reg_idx)[0]  # (896, 16): box (cx, cy, w, h), 6 key points
        score = _sigmoid(self._det.get_tensor(cls_idx)[0, :, 0])
        k = int(np.argmax(score))
        if score[k] < self.min_score:
            return None
        r = reg[k] / _DETECT_SIZE
        cx, cy = r[0] + self._anchors[k, 0], r[1] + self._anchors[k, 1]
        box = np.array([cx - r[2] / 2, cy - r[3] / 2, cx + r[2] / 2, cy + r[3] / 2]) * _DETECT_SIZE
        keys = (r[4:16].reshape(6, 2) + self._anchors[k]) * _DETECT_SIZE
        back = lambda p: (p - [(_DETECT_SIZE - s * w) / 2, (_DETECT_SIZE - s * h) / 2]) / s  # noqa: E731
        x0, y0 = back(box[:2])
        x1, y1 = back(box[2:])
        return (float(x0), float(y0), float(x1), float(y1)), back(keys)

    # ------------------------------------------------------------------ landmarks
    def landmarks(self, frame: np.ndarray, near: np.ndarray | None = None,
                  box: tuple[float, float, float, float] | None = None) -> np.ndarray | None:
        """The 468 points (468, 2) of the face in ``frame`` (H, W, 3) uint8 RGB, in frame
        pixels, or None when Face Mesh sees no face there.

        ``near``: the previous frame's points (468, 2): the face is looked for in the
        square around them, turned to their roll (MediaPipe's tracking).  ``box``: a face
        box ``(x, y, w, h)`` from another detector, looked in upright.  Without either (or
        when they find nothing) the face is detected first.
        """
        _check_frame(frame)
        if near is not None:
            points = self._mesh_at(frame, *self._square_of_points(np.asarray(near, np.float64)))
            if points is not None:
                return points
        if box is not None:
            x, y, w, h = (float(v) for v in box)
            points = self._mesh_at(frame, x + w / 2, y + h / 2, max(w, h) * self.scale, 0.0)
            if points is not None:
                return points
        found = self._detect(frame)
        if found is None:
            return None
        (x0, y0, x1, y1), keys = found
        roll = _roll(keys[0], keys[1])
        return self._mesh_at(frame, (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * self.scale, roll)

    def _square_of_points(self, p: np.ndarray) -> tuple[float, float, float, float]:
        roll = _roll(p[_EYE_OUTER[0]], p[_EYE_OUTER[1]])
        c, s = math.cos(-roll), math.sin(-roll)
        centre = (p.min(axis=0) + p.max(axis=0)) / 2
        upright = (p - centre) @ np.array([[c, s], [-s, c]])  # points turned level
        extent = upright.max(axis=0) - upright.min(axis=0)
        mid = centre + ((upright.max(axis=0) + upright.min(axis=0)) / 2) @ np.array([[c, -s], [s, c]])
        return float(mid[0]), float(mid[1]), float(max(extent)) * self.scale, roll

    def _mesh_at(self, frame: np.ndarray, cx: float, cy: float, side: float, roll: float) -> np.ndarray | None:
        if not side > 1:
            return None
        s = _MESH_SIZE / side
        c, n = math.cos(roll) * s, math.sin(roll) * s
        # frame -> crop: rotate by -roll about (cx, cy), scale, centre in the crop
        m = np.array([[c, n, _MESH_SIZE / 2 - c * cx - n * cy], [-n, c, _MESH_SIZE / 2 + n * cx - c * cy]], np.float32)
        crop = cv2.warpAffine(frame, m, (_MESH_SIZE, _MESH_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        inp, (pts_idx, flag_idx) = self._mesh_io
        self._mesh.set_tensor(inp, (crop.astype(np.float32) / 255.0)[None])
        self._mesh.invoke()
        presence = float(_sigmoid(self._mesh.get_tensor(flag_idx).ravel()[:1])[0])
        if presence < self.min_presence:
            return None
        p = self._mesh.get_tensor(pts_idx).reshape(468, 3)[:, :2].astype(np.float64)
        inverse = cv2.invertAffineTransform(m)
        return p @ inverse[:, :2].T + inverse[:, 2]

    @staticmethod
    def skin_polygons(points: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``(include, exclude)`` polygons (each (n, 2), frame pixels) of the skin region
        outlined by ``points`` (468, 2): the face oval, less the eyes, eyebrows and mouth."""
        p = np.asarray(points)
        return [p[list(FACE_OVAL)]], [p[list(idx)] for idx in SKIN_HOLES.values()]


def _roll(right: np.ndarray, left: np.ndarray) -> float:
    """Angle (radians) of the line from the right eye to the left eye in the image."""
    return float(math.atan2(left[1] - right[1], left[0] - right[0]))


def _check_frame(frame: np.ndarray) -> None:
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8):
        shape = getattr(frame, "shape", None)
        raise DataError(f"facemesh detector: expected a frame (H, W, 3) uint8 RGB, got shape {shape}")
