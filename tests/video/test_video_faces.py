"""FaceTracker: detection schedule, smoothing, glide, enlargement, missing faces."""

from __future__ import annotations

import numpy as np
import pytest

from pulsecl.errors import ConfigError, DataError
from pulsecl.video.faces import FaceTracker, square_box


class Scripted:
    """A detector that answers from a list: a box or None per call, and records calls."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = 0

    def detect(self, frame):
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return answer


def _run(tracker, n, chunk=7, h=100, w=200):
    frames = np.zeros((n, h, w, 3), np.uint8)
    frames[:, 0, 0, 0] = np.arange(n) % 256  # tag each frame
    ts = np.arange(n) / 10.0
    out_f, out_t, out_b = [], [], []
    for s in range(0, n, chunk):
        f, t, b = tracker.process(frames[s : s + chunk], ts[s : s + chunk])
        out_f += list(f)
        out_t.append(t)
        out_b.append(b)
    f, t, b = tracker.finish()
    out_f += list(f)
    out_t.append(t)
    out_b.append(b)
    return np.stack(out_f), np.concatenate(out_t), np.concatenate(out_b)


def test_square_box_is_kept_inside_the_frame():
    assert square_box(100, 50, 40, 200, 100) == (80, 30, 40)
    assert square_box(5, 5, 40, 200, 100) == (0, 0, 40)  # shifted in
    assert square_box(199, 99, 40, 200, 100) == (160, 60, 40)
    assert square_box(100, 50, 500, 200, 100) == (50, 0, 100)  # shrunk to fit


def test_detects_every_n_frames_and_enlarges():
    det = Scripted([(90, 30, 20, 20)])
    tracker = FaceTracker(det, detect_every=5, box_scale=1.5, smooth=1.0, search_near=False)
    frames, ts, boxes = _run(tracker, 23)
    assert len(frames) == 23 and np.allclose(ts, np.arange(23) / 10)
    assert tracker.detections == 5  # frames 0, 5, 10, 15, 20
    assert {tuple(b) for b in boxes} == {(85, 25, 30)}  # centre (100, 40), side 1.5 x 20
    assert tracker.frames_without_face == 0


def test_smoothing_and_glide_have_known_answers():
    # The face jumps 40 px right at the second detection.
    det = Scripted([(80, 40, 20, 20), (120, 40, 20, 20)])
    tracker = FaceTracker(det, detect_every=4, box_scale=1.0, smooth=0.5, search_near=False)
    _, _, boxes = _run(tracker, 12, chunk=5)
    x = boxes[:, 0]
    # EMA: the smoothed centre moves half way (20 px); the box glides there in 4 equal
    # steps of 5 px, then halves the remaining gap at the next detection.
    assert list(x[:4]) == [80, 80, 80, 80]
    assert list(x[4:8]) == [85, 90, 95, 100]
    assert list(x[8:12]) == [102, 105, 108, 110]  # 112.5, 115, 117.5, 120 centres


def test_missing_detections_reuse_the_last_box_and_are_counted():
    det = Scripted([(80, 40, 20, 20), None, None, (80, 40, 20, 20)])
    tracker = FaceTracker(det, detect_every=3, box_scale=1.0, smooth=1.0, search_near=False)
    _, _, boxes = _run(tracker, 12)
    assert {tuple(b) for b in boxes} == {(80, 40, 20)}
    assert tracker.frames_without_face == 6  # frames 3-8: their detections failed


def test_frames_before_the_first_face_get_its_box():
    det = Scripted([None] * 5 + [(60, 20, 30, 30)])
    tracker = FaceTracker(det, detect_every=10, box_scale=1.0, smooth=1.0, search_near=False)
    frames, ts, boxes = _run(tracker, 20, chunk=3)
    assert len(frames) == 20
    assert list(frames[:, 0, 0, 0]) == list(range(20))  # order kept
    assert np.allclose(ts, np.arange(20) / 10)
    assert {tuple(b) for b in boxes} == {(60, 20, 30)}
    assert tracker.frames_without_face == 5
    assert det.calls == 6 + 1  # every frame until the face, then every 10th (frame 15)


def test_a_late_face_stops_holding_frames():
    det = Scripted([None] * 30 + [(60, 20, 30, 30)])
    tracker = FaceTracker(det, detect_every=1, box_scale=1.0, smooth=1.0, max_pending=8, search_near=False)
    frames, _, boxes = _run(tracker, 40)
    assert len(frames) == 40
    assert tuple(boxes[0]) == (50, 0, 100)  # centred square while waiting
    assert tuple(boxes[-1]) == (60, 20, 30)
    assert tracker.frames_without_face == 30


def test_no_face_at_all_names_the_video():
    tracker = FaceTracker(Scripted([None]), detect_every=4, name="/data/clip7.avi")
    with pytest.raises(DataError, match="no face found in '/data/clip7.avi'.*roi = 'full'"):
        _run(tracker, 30)


def test_neighbourhood_search_maps_boxes_back():
    """After the first face, the detector sees a shrunken neighbourhood of the last box;
    what it finds there comes back in full-frame pixels."""

    class Sees:
        def __init__(self):
            self.shapes = []

        def detect(self, frame):
            self.shapes.append(frame.shape[:2])
            h, w = frame.shape[:2]
            if (h, w) == (100, 200):
                return (100, 30, 40, 40)  # centre (120, 50)
            return (w / 2 - 0.2 * w, h / 2 - 0.2 * h, 0.4 * w, 0.4 * h)  # centred in the window

    det = Sees()
    tracker = FaceTracker(det, detect_every=2, box_scale=1.0, smooth=1.0)
    _, _, boxes = _run(tracker, 6)
    assert det.shapes[0] == (100, 200) and det.shapes[1] != (100, 200)
    assert max(det.shapes[1]) <= 90  # shrunk so the face is ~48 px
    x0, y0, side = boxes[-1]
    assert abs(x0 + side / 2 - 120) <= 2 and abs(y0 + side / 2 - 50) <= 2


@pytest.mark.parametrize(
    ("kw", "key"), [({"detect_every": 0}, "detect_every"), ({"box_scale": 0}, "box_scale"), ({"smooth": 0}, "smooth")]
)
def test_bad_settings(kw, key):
    with pytest.raises(ConfigError, match=f"preprocess.{key}"):
        FaceTracker(Scripted([None]), **kw)
