"""The face-landmark skin region (``preprocess.roi = "landmarks"``): the facemesh plugin,
the tracker, the masked crops, and how classical methods choose their crops."""

from __future__ import annotations

import numpy as np
import pytest

import pulsecl
from pulsecl.errors import DataError, PluginError
from pulsecl.video.landmarks import LandmarkTracker, check_landmarker, crop_region, region_mask

facemesh_runs = pytest.mark.skipif(
    not __import__("pulsecl_facemesh").available(), reason="ai-edge-litert is not installed (pulsecl[landmarks])"
)


@pytest.fixture(scope="module")
def face():
    """A 4-s 320x240 synthetic face at 30 fps: (frames, fs, hr)."""
    from pulsecl.synthetic import render_clip

    clip = render_clip(seed=4, duration=4.0, fps=30.0, width=320, height=240, hr_range=(60.0, 90.0))
    return clip.frames, clip.fs, float(clip.params["hr_mean_bpm"])


@facemesh_runs
def test_facemesh_finds_the_face_haar_finds_and_outlines_its_skin(face):
    frames, _, _ = face
    frame = np.ascontiguousarray(frames[0])
    mesh = pulsecl.build("face_detectors", "facemesh")
    hx, hy, hw, hh = pulsecl.build("face_detectors", "haar").detect(frame)
    x, y, w, h = mesh.detect(frame)
    overlap = max(0, min(x + w, hx + hw) - max(x, hx)) * max(0, min(y + h, hy + hh) - max(y, hy))
    assert overlap / min(w * h, hw * hh) > 0.6
    points = mesh.landmarks(frame)
    assert points.shape == (468, 2)
    nose, right_eye, left_eye, chin = points[1], points[33], points[263], points[152]
    assert right_eye[0] < nose[0] < left_eye[0]  # the subject's right eye is on the image's left
    assert max(right_eye[1], left_eye[1]) < nose[1] < chin[1]
    assert hx <= nose[0] <= hx + hw and hy <= nose[1] <= hy + hh
    include, exclude = mesh.skin_polygons(points)
    import cv2

    assert cv2.pointPolygonTest(include[0].astype(np.float32), tuple(map(float, nose)), False) > 0
    assert any(cv2.pointPolygonTest(e.astype(np.float32), tuple(map(float, points[159])), False) >= 0 for e in exclude)
    again = mesh.landmarks(np.ascontiguousarray(frames[1]), near=points)  # tracked from the last frame's points
    assert np.abs(again - points).mean() < 3.0


@facemesh_runs
def test_facemesh_sees_no_face_in_noise():
    mesh = pulsecl.build("face_detectors", "facemesh")
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert mesh.detect(noise) is None and mesh.landmarks(noise) is None


def test_facemesh_without_its_runtime_says_what_to_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_litert(name, *a, **k):
        if name.startswith("ai_edge_litert"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_litert)
    with pytest.raises(PluginError, match=r'pip install "pulsecl\[landmarks\]"'):
        pulsecl.build("face_detectors", "facemesh")


def test_a_box_detector_cannot_be_the_landmarker():
    with pytest.raises(PluginError, match="face detector 'haar' has no landmarks"):
        check_landmarker(pulsecl.build("face_detectors", "haar"), "haar")


def _square(x0, y0, side):
    return np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]], dtype=np.float64)


def test_a_region_crop_keeps_the_region_and_zeroes_the_rest():
    frame = np.full((100, 120, 3), 200, np.uint8)
    region = ([_square(20, 30, 40)], [_square(30, 40, 10)])  # a 40-px square with a 10-px hole
    crop = crop_region(frame, region, 44)
    # the crop is the 44-px square around the region (x 1.1) at 1 px per px: 2 px of margin each side
    mask = region_mask(crop[None])[0]
    assert mask.shape == (44, 44)
    assert mask[22, 5] and not mask[1, 1] and not mask[12, 12]  # inside, in the margin, in the hole
    assert mask.sum() == pytest.approx(40 * 40 - 10 * 10, rel=0.08)
    assert np.all(crop[mask] == 200) and np.all(crop[~mask] == 0)


class _Scripted:
    """A landmarker whose face appears at frame ``first`` and is lost at frames ``lost``."""

    def __init__(self, first=0, lost=(), never=False):
        self.first, self.lost, self.never, self.i = first, set(lost), never, -1

    def detect(self, frame):
        return None

    def landmarks(self, frame, near=None, box=None):
        if box is None:
            self.i += 1
        if self.never or self.i < self.first or self.i in self.lost:
            return None
        return _square(10 + self.i, 10, 20)

    def skin_polygons(self, points):
        return [points], []


def test_the_tracker_drops_frames_before_the_face_and_keeps_the_last_region_when_lost():
    tracker = LandmarkTracker(_Scripted(first=3, lost=(5, 6)), name="v.avi")
    frames = np.zeros((9, 40, 60, 3), np.uint8)
    kept, ts, regions = tracker.process(frames, np.arange(9) / 30.0)
    assert len(kept) == 6 and ts[0] == pytest.approx(3 / 30.0)  # frames 0-2 dropped
    assert tracker.frames_without_face == 3 + 2
    assert regions[2][0][0][0, 0] == regions[1][0][0][0, 0] == 14  # frames 5, 6 keep frame 4's region
    assert regions[4][0][0][0, 0] == 17
    tracker.finish()


def test_no_face_in_the_whole_video_is_a_data_error_naming_it():
    tracker = LandmarkTracker(_Scripted(never=True), name="empty.avi")
    tracker.process(np.zeros((5, 40, 60, 3), np.uint8), np.arange(5) / 30.0)
    with pytest.raises(DataError, match="no face found in 'empty.avi'.*--roi face"):
        tracker.finish()


@facemesh_runs
def test_landmark_crops_stream_with_their_region(face):
    from pulsecl.config import PreprocessConfig
    from pulsecl.video.pipeline import iter_crops

    frames, fs, _ = face
    stream = iter_crops(frames, PreprocessConfig(roi="landmarks", size=64), fs=fs)
    crops = np.concatenate([c for c, _ in stream])
    assert crops.shape == (len(frames), 64, 64, 3) and stream.frames_without_face == 0
    share = region_mask(crops).mean()
    assert 0.3 < share < 0.8  # the skin region fills much of its square, not all of it


def test_classical_methods_read_landmark_crops_where_the_landmarker_runs(monkeypatch):
    import pulsecl.video.pipeline as pipeline
    from pulsecl.config import PreprocessConfig

    monkeypatch.setattr(pipeline, "_LANDMARKS_OK", {"facemesh": True})
    s = pipeline.trace_settings(PreprocessConfig())
    assert (s.roi, s.size) == ("landmarks", 128)
    assert pipeline.model_settings(PreprocessConfig()).roi == "face"  # a model keeps its face box
    assert pipeline.trace_settings(PreprocessConfig(roi="face")).roi == "face"  # asked for: kept


def test_without_landmarks_classical_methods_warn_and_use_the_face_box(monkeypatch, caplog):
    import pulsecl.video.pipeline as pipeline
    from pulsecl.config import PreprocessConfig

    monkeypatch.setattr(pipeline, "_LANDMARKS_OK", {"facemesh": False})
    s = pipeline.trace_settings(PreprocessConfig())
    assert (s.roi, s.size) == ("face", 128)
    (record,) = [r for r in caplog.records if r.name == "pulsecl"]
    line = record.getMessage()
    assert line.startswith("face landmarks are not available") and "pulsecl[landmarks]" in line


def test_a_trace_of_region_crops_is_the_mean_of_the_region():
    from pulsecl.extractors import TracePulse
    from pulsecl.video.pipeline import rgb_trace

    rng = np.random.default_rng(1)
    crops = rng.integers(1, 255, (40, 16, 16, 3), dtype=np.uint8)
    crops[:, :4] = 0  # outside the region
    expected = crops[:, 4:].reshape(40, -1, 3).mean(axis=1) / 255.0
    assert np.allclose(rgb_trace(crops, region=True), expected)
    tp = TracePulse("pos", region=True)
    tp.feed(crops[:25], np.arange(25) / 30.0)
    tp.feed(crops[25:], np.arange(25, 40) / 30.0)
    tp.finish()
    assert np.allclose(tp.trace(), expected)


def test_the_cache_key_names_the_landmarker_only_for_landmark_crops():
    from pulsecl.config import PreprocessConfig
    from pulsecl.video.cache import cache_key, cache_settings

    ident = {"path": "v.avi", "size": 1, "mtime": 0}
    assert "landmarker" not in cache_settings(PreprocessConfig(roi="face"))
    a = PreprocessConfig(roi="landmarks")
    b = PreprocessConfig(roi="landmarks", landmarker="other")
    assert cache_key(a, ident) != cache_key(b, ident)
    assert cache_key(PreprocessConfig(roi="face"), ident) == cache_key(PreprocessConfig(roi="face", landmarker="x"), ident)


@facemesh_runs
def test_predict_reads_a_synthetic_face_through_its_landmarks(tmp_path):
    from pulsecl.synthetic import synthesize
    from pulsecl.video.writer import write_video

    subject = synthesize(index=1, seed=3, duration=15.0, fps=30.0, width=320, height=240, hr_range=(50.0, 120.0))
    path = tmp_path / "face.avi"
    write_video(path, (block for block, _ in subject.frames()), subject.fps, quality=90)
    result = pulsecl.predict(str(path))
    assert result.roi == "landmarks" and result.frames_without_face == 0
    assert abs(result.hr_bpm - float(subject.params["hr_mean_bpm"])) < 2.0
