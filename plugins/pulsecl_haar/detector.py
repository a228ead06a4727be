"""Face detection with OpenCV's Haar cascades (Viola & Jones, "Rapid object detection
using a boosted cascade of simple features", CVPR 2001).

opencv-python 4.x ships the cascade XML files under ``cv2.data.haarcascades`` and has
``cv2.CascadeClassifier``; 5.x has neither.  Both cases are reported as a
:class:`~pulsecl.errors.PluginError` that says what to install.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from pulsecl.errors import ConfigError, DataError, PluginError

__all__ = ["HaarFaceDetector"]

_EQUALIZE = ("clahe", "hist", "none")


class HaarFaceDetector:
    """OpenCV Haar cascade face detector: ``detect(frame_rgb) -> (x, y, w, h) | None``.

    Options:
        cascade: XML file name under ``cv2.data.haarcascades``, or a path to one.
        scale_factor: image pyramid step of ``detectMultiScale`` (> 1).
        min_neighbors: overlapping detections needed to keep a face (higher = fewer false
            faces, more misses).
        min_size: smallest face, as a fraction of the shorter frame side.
        max_side: frames are shrunk so their longer side is at most this many pixels
            before detection (speed); boxes are returned in full-frame pixels. 0 = never.
        equalize: contrast normalisation before detection: ``clahe`` (local; keeps dark
            faces in front of bright backgrounds detectable), ``hist`` (global) or ``none``.

    The largest face is returned, as integers in pixels of the frame given.
    """

    def __init__(
        self,
        cascade: str = "haarcascade_frontalface_default.xml",
        scale_factor: float = 1.1,
        min_neighbors: int = 4,
        min_size: float = 0.15,
        max_side: int = 320,
        equalize: str = "clahe",
    ):
        if not scale_factor > 1.0:
            raise ConfigError(f"haar detector: scale_factor = {scale_factor}: must be > 1 (e.g. 1.1)")
        if int(min_neighbors) < 0:
            raise ConfigError(f"haar detector: min_neighbors = {min_neighbors}: must be >= 0")
        if not 0.0 <= min_size < 1.0:
            raise ConfigError(f"haar detector: min_size = {min_size}: a fraction of the frame side in [0, 1)")
        if equalize not in _EQUALIZE:
            raise ConfigError(f"haar detector: equalize = '{equalize}': use one of {', '.join(_EQUALIZE)}")
        if not hasattr(cv2, "CascadeClassifier"):
            raise PluginError(
                f"haar detector: this OpenCV ({cv2.__version__}) has no CascadeClassifier "
                "(opencv-python 5.x dropped it); install opencv-python>=4.6,<5"
            )
        path = cascade
        if not os.path.isfile(path):
            data = getattr(getattr(cv2, "data", None), "haarcascades", None)
            if data is None:
                raise PluginError(
                    f"haar detector: OpenCV {cv2.__version__} ships no Haar cascade files "
                    "(opencv-python 5.x dropped them); install opencv-python>=4.6,<5 or give "
                    "cascade=<path to an XML file>"
                )
            path = os.path.join(data, cascade)
        if not os.path.isfile(path):
            raise PluginError(
                f"haar detector: cascade file '{path}' does not exist; give a file name from "
                "cv2.data.haarcascades or a path to a cascade XML (opencv-python 4.x ships them)"
            )
        self._classifier = cv2.CascadeClassifier(path)
        if self._classifier.empty():
            raise PluginError(f"haar detector: OpenCV could not load the cascade '{path}'")
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self.min_size = float(min_size)
        self.max_side = int(max_side)
        self.equalize = equalize
        self._clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))

    def detect(self, frame: np.ndarray) -> tuple[int, int, int, int] | None:
        """The largest face in ``frame`` (H, W, 3) uint8 RGB (or (H, W) grey) as
        ``(x, y, w, h)`` pixels, or None when there is none."""
        if frame.ndim == 3:
            grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        elif frame.ndim == 2:
            grey = frame
        else:
            raise DataError(f"haar detector: expected a frame (H, W, 3) or (H, W), got shape {frame.shape}")
        h, w = grey.shape
        shrink = 1.0
        if self.max_side and max(h, w) > self.max_side:
            shrink = self.max_side / max(h, w)
            grey = cv2.resize(grey, (max(int(round(w * shrink)), 1), max(int(round(h * shrink)), 1)), interpolation=cv2.INTER_AREA)
        if self.equalize == "clahe":
            grey = self._clahe.apply(grey)
        elif self.equalize == "hist":
            grey = cv2.equalizeHist(grey)
        side = max(int(self.min_size * min(grey.shape)), 12)
        faces = self._classifier.detectMultiScale(
            grey, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(side, side)
        )
        if len(faces) == 0:
            return None
        x, y, fw, fh = max((tuple(int(v) for v in f) for f in faces), key=lambda b: b[2] * b[3])
        if shrink != 1.0:
            x, y, fw, fh = (int(round(v / shrink)) for v in (x, y, fw, fh))
        return x, y, fw, fh
