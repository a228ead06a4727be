"""The built-in 'haar' face detector plugin."""

from __future__ import annotations

import numpy as np
import pytest

import pulsecl
from pulsecl.errors import ConfigError, DataError, PluginError
from pulsecl.synthetic import render_clip


def test_registered_and_lazy():
    assert "haar" in pulsecl.components("face_detectors")
    from pulsecl.plugins import get_plugin_manager

    comp = get_plugin_manager().table("face_detectors").get("haar")
    assert "opencv" in comp.description.lower()
    assert set(comp.options()) >= {"scale_factor", "min_neighbors", "min_size", "max_side", "equalize", "cascade"}


def test_finds_the_largest_face_in_frame_pixels():
    clip = render_clip(seed=2, duration=0.2, fps=10, width=640, height=480, skin_tone=0.6)
    frame = clip.frames[0]
    look = clip.params["appearance"]
    face = look["face_height"] * 480
    for max_side in (0, 320):  # with and without shrinking first
        det = pulsecl.build("face_detectors", "haar", max_side=max_side)
        x, y, w, h = det.detect(frame)
        assert abs(x + w / 2 - look["centre_x"] * 640) < 0.15 * face
        assert 0.5 * face < w < 1.5 * face
    # Two faces: the larger one wins.
    small = render_clip(seed=3, duration=0.2, fps=10, width=160, height=120).frames[0]
    both = frame.copy()
    both[:120, :160] = small
    x, y, w, h = pulsecl.build("face_detectors", "haar").detect(both)
    assert w > 0.5 * face


def test_no_face_gives_none():
    rng = np.random.default_rng(0)
    det = pulsecl.build("face_detectors", "haar")
    assert det.detect(np.full((240, 320, 3), 128, np.uint8)) is None
    assert det.detect(np.zeros((240, 320), np.uint8)) is None
    with pytest.raises(DataError, match="expected a frame"):
        det.detect(rng.integers(0, 255, (2, 4, 4, 3), dtype=np.uint8))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"scale_factor": 1.0}, "scale_factor"),
        ({"min_neighbors": -1}, "min_neighbors"),
        ({"min_size": 1.5}, "min_size"),
        ({"equalize": "gamma"}, "equalize"),
    ],
)
def test_bad_options(options, match):
    with pytest.raises(ConfigError, match=match):
        pulsecl.build("face_detectors", "haar", **options)


def test_missing_cascade_and_opencv5(monkeypatch, tmp_path):
    with pytest.raises(PluginError, match="nope.xml.*does not exist"):
        pulsecl.build("face_detectors", "haar", cascade="nope.xml")
    import pulsecl_haar.detector as mod

    class NoData:  # opencv-python 5.x: no cv2.data, no CascadeClassifier
        __version__ = "5.0.0"

    monkeypatch.setattr(mod, "cv2", NoData())
    with pytest.raises(PluginError, match="no CascadeClassifier.*opencv-python>=4.6,<5"):
        mod.HaarFaceDetector()
    fake = type("CV", (), {"__version__": "5.0.0", "CascadeClassifier": object})()
    monkeypatch.setattr(mod, "cv2", fake)
    with pytest.raises(PluginError, match="ships no Haar cascade files"):
        mod.HaarFaceDetector()
