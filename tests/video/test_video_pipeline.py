"""iter_crops / preprocess / rgb_trace: crops on the face, streaming, counts, traces."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

from pulsecl.config import PreprocessConfig
from pulsecl.errors import ConfigError, DataError
from pulsecl.synthetic import render_clip
from pulsecl.video import iter_crops, preprocess, rgb_trace, skin_mask
from pulsecl.video import ArraySource, FrameSource
from pulsecl.video.writer import write_video


@pytest.fixture(scope="module")
def clip():
    return render_clip(seed=12, duration=3.0, fps=20.0, width=160, height=120, skin_tone=0.4)


def test_crops_are_square_uint8_and_on_the_face(clip):
    settings = PreprocessConfig(size=32, detect_every=5)
    stream = iter_crops(clip.frames, settings, fs=clip.fs)
    chunks = list(stream)
    crops = np.concatenate([c for c, _ in chunks])
    ts = np.concatenate([t for _, t in chunks])
    assert crops.shape == (60, 32, 32, 3) and crops.dtype == np.uint8
    assert np.allclose(ts, clip.timestamps)
    assert stream.n_frames == 60 and stream.frames_without_face == 0
    assert skin_mask(crops).mean() > 0.5  # mostly skin


def test_tracked_boxes_sit_on_the_drawn_face(clip):
    import pulsecl
    from pulsecl.video.faces import FaceTracker

    tracker = FaceTracker(pulsecl.build("face_detectors", "haar"), detect_every=5, box_scale=1.2)
    _, _, boxes = tracker.process(clip.frames, clip.timestamps)
    look = clip.params["appearance"]
    cx, cy, face = look["centre_x"] * 160, look["centre_y"] * 120, look["face_height"] * 120
    centres = boxes[:, :2] + boxes[:, 2:3] / 2
    assert np.all(np.abs(centres[:, 0] - cx) < 0.15 * face)
    assert np.all(np.abs(centres[:, 1] - cy) < 0.25 * face)
    assert np.all((boxes[:, 2] > 0.6 * face) & (boxes[:, 2] < 1.6 * face))


def test_output_does_not_depend_on_chunking(clip):
    a = preprocess(clip.frames, PreprocessConfig(chunk_frames=7, detect_every=4), fs=clip.fs)
    b = preprocess(clip.frames, PreprocessConfig(chunk_frames=300, detect_every=4), fs=clip.fs)
    assert np.array_equal(a.frames, b.frames)
    assert a.fs == pytest.approx(20.0) and a.n_frames == 60 and a.cache_path is None


def test_roi_full_resizes_whole_frames(clip):
    out = preprocess(clip.frames, PreprocessConfig(roi="full", size=16), fs=clip.fs)
    import cv2

    expect = cv2.resize(clip.frames[5], (16, 16), interpolation=cv2.INTER_AREA)
    assert np.array_equal(out.frames[5], expect)
    assert out.frames_without_face == 0


def test_frames_without_face_are_counted_and_reuse_the_box(clip):
    frames = clip.frames.copy()
    background = render_clip(seed=12, duration=0.1, fps=20.0, width=160, height=120, skin_tone=0.4, pulse_amplitude=0.0)
    # Cover the face in frames 20-29 with a flat patch of background colour.
    frames[20:30, 10:120, 40:120] = np.median(background.frames[0, :10, :10].reshape(-1, 3), axis=0).astype(np.uint8)
    out = preprocess(frames, PreprocessConfig(detect_every=1, size=32), fs=clip.fs)
    assert out.frames_without_face == 10
    assert out.n_frames == 60


def test_video_without_any_face_is_an_error_naming_it(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (12, 120, 160, 3), dtype=np.uint8)
    path = tmp_path / "noface.avi"
    write_video(path, frames, fps=12)
    with pytest.raises(DataError, match=r"no face found in '.*noface.avi'"):
        preprocess(path, PreprocessConfig(detect_every=3), cache_dir=tmp_path / "cache")
    # Nothing half-written in the cache.
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert leftovers == []


class CountingSource(FrameSource):
    """Frames made on the fly; records how many of its chunks are alive at once."""

    def __init__(self, n_chunks, chunk=16):
        self.fs, self.path, self.name, self.n_frames, self.chunk_frames = 10.0, None, "counting", n_chunks * chunk, chunk
        self.n_chunks = n_chunks
        self.alive = 0
        self.most_alive = 0

    def _dead(self):
        self.alive -= 1

    def chunks(self):
        for k in range(self.n_chunks):
            block = np.full((self.chunk_frames, 48, 64, 3), 100 + k % 50, np.uint8)
            self.alive += 1
            self.most_alive = max(self.most_alive, self.alive)
            weakref.finalize(block, self._dead)
            ts = (k * self.chunk_frames + np.arange(self.chunk_frames)) / self.fs
            yield block, ts
            del block


@pytest.mark.parametrize("roi", ["full", "face"])
def test_streaming_holds_one_chunk_of_frames_at_a_time(roi):
    class Centre:
        def detect(self, frame):
            return (16, 8, 32, 32)

    source = CountingSource(n_chunks=40)
    settings = PreprocessConfig(roi=roi, size=8)
    stream = iter_crops(source, settings)
    if roi == "face":
        import pulsecl.video.pipeline as pipeline
        from pulsecl.video.faces import FaceTracker

        stream._tracker = lambda: FaceTracker(Centre(), detect_every=5)
    total = sum(len(c) for c, _ in stream)
    assert total == 640
    assert source.most_alive == 1  # memory does not grow with the length of the video


def test_detector_comes_from_the_plugin_table(clip):
    import pulsecl
    from pulsecl.plugins import get_plugin_manager

    seen = []

    class Fixed:
        def __init__(self, side: int = 40):
            self.side = side

        def detect(self, frame):
            seen.append(frame.shape)
            return (60, 30, self.side, self.side)

    class Plugin:
        @pulsecl.hookimpl
        def pulsecl_register_face_detectors(self, registry):
            registry.add("fixed", Fixed)

    get_plugin_manager().register(Plugin(), "fixed-detector")
    settings = PreprocessConfig(
        detector="fixed", detector_options={"side": 20}, detect_every=10, box_scale=1.0, size=64
    )
    out = preprocess(clip.frames[:10], settings, fs=clip.fs)
    assert out.n_frames == 10 and seen == [(120, 160, 3)]
    import cv2

    for k in (0, 9):
        expect = cv2.resize(clip.frames[k, 30:50, 60:80], (64, 64), interpolation=cv2.INTER_AREA)
        assert np.array_equal(out.frames[k], expect)
    with pytest.raises(ConfigError, match="has no option 'sides'"):
        preprocess(clip.frames[:5], PreprocessConfig(detector="fixed", detector_options={"sides": 3}), fs=clip.fs)


@pytest.mark.parametrize(
    ("field", "value"), [("roi", "skin"), ("size", 4), ("chunk_frames", 0), ("detect_every", 0), ("smooth", 1.5)]
)
def test_bad_settings_are_config_errors(clip, field, value):
    settings = PreprocessConfig(**{field: value})
    with pytest.raises(ConfigError, match=f"preprocess.{field}"):
        iter_crops(clip.frames, settings, fs=clip.fs)


def test_rgb_trace_known_answers():
    crops = np.zeros((4, 10, 10, 3), np.uint8)
    crops[..., :] = (30, 60, 200)  # blue: not skin
    crops[:, :5] = (200, 150, 120)  # top half skin
    crops[2, :5] = (205, 150, 120)
    tr = rgb_trace(crops)
    assert tr.shape == (4, 3) and tr.dtype == np.float64
    assert np.allclose(tr[0], np.array([200, 150, 120]) / 255)
    assert np.allclose(tr[2], np.array([205, 150, 120]) / 255)
    whole = rgb_trace(crops, skin=False)
    assert np.allclose(whole[0], np.array([115, 105, 160]) / 255)
    # No skin anywhere: all pixels are used.
    blue = np.full((3, 8, 8, 3), (30, 60, 200), np.uint8)
    assert np.allclose(rgb_trace(blue), np.array([30, 60, 200]) / 255)
    with pytest.raises(DataError, match=r"\(T, H, W, 3\)"):
        rgb_trace(crops[..., 0])


def test_rgb_trace_over_skin_carries_the_pulse_better(clip):
    frames = render_clip(seed=4, duration=6.0, fps=30.0, width=160, height=120, skin_tone=0.5)
    out = preprocess(frames.frames, PreprocessConfig(box_scale=1.6), fs=frames.fs)
    skin = -rgb_trace(out.frames)[:, 1]
    every = -rgb_trace(out.frames, skin=False)[:, 1]
    c_skin = np.corrcoef(skin, frames.ppg)[0, 1]
    c_all = np.corrcoef(every, frames.ppg)[0, 1]
    assert c_skin > 0.9 and c_skin > c_all


def test_rgb_trace_reads_memory_maps_in_chunks(tmp_path, clip):
    out = preprocess(clip.frames, PreprocessConfig(size=16), fs=clip.fs, cache_dir=tmp_path)
    assert isinstance(out.frames, np.memmap)
    assert np.allclose(rgb_trace(out.frames, chunk=7), rgb_trace(np.asarray(out.frames)))


def test_array_sources_cache_by_content(tmp_path, clip):
    a = preprocess(ArraySource(clip.frames, fs=clip.fs), PreprocessConfig(size=16), cache_dir=tmp_path)
    b = preprocess(clip.frames, PreprocessConfig(size=16), cache_dir=tmp_path, fs=clip.fs)
    assert b.reused and a.cache_path == b.cache_path
