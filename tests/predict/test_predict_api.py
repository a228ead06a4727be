"""pulsecl.predict: heart rate from videos, arrays and iterators against the heart rate
rendered into synthetic videos; the streamed pipeline against the whole-clip one."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import pulsecl
from pulsecl.errors import ConfigError, DataError, SignalError


@pytest.mark.parametrize("name", ["light-30fps", "dark-30fps", "light-15fps"])
def test_pos_heart_rate_within_3_bpm(videos, name):
    video = videos[name]
    result = pulsecl.predict(str(video.path), method="pos")
    assert abs(result.hr_bpm - video.hr_bpm) < 3.0
    assert result.fs == pytest.approx(video.fs, rel=1e-3)
    assert result.frames_read == video.n_frames
    assert result.frames_without_face == 0
    assert result.method == "pos" and result.checkpoint is None
    # 15 s, 10-s windows every 1 s: 6 windows, each near the truth
    assert len(result.window_hr_bpm) == 6
    assert np.all(np.abs(result.window_hr_bpm - video.hr_bpm) < 5.0)
    assert result.pulse.shape == result.times_s.shape == (video.n_frames,)
    assert np.all(np.isfinite(result.window_snr_db)) and np.all((result.window_ipr >= 0) & (result.window_ipr <= 1))
    assert result.snr_db > 0.0  # a clean synthetic pulse stands well above the rest of the band


def test_chrom_and_band(videos):
    video = videos["light-30fps"]
    result = pulsecl.predict(video.path, method="chrom", band_bpm=(45, 150))
    assert abs(result.hr_bpm - video.hr_bpm) < 3.0
    assert result.band_bpm == pytest.approx((45.0, 150.0))


def test_pulsecl_predict_is_the_function_after_importing_its_module(small_frames):
    import pulsecl.predictor as module

    frames, fs, hr = small_frames
    assert callable(pulsecl.predict)
    result = pulsecl.predict(frames, fs=fs)
    assert isinstance(result, module.Prediction)
    assert abs(result.hr_bpm - hr) < 3.0


def test_array_and_iterator_sources_agree(small_frames):
    frames, fs, hr = small_frames
    from_array = pulsecl.predict(frames, fs=fs)
    single = pulsecl.predict((f for f in frames), fs=fs)  # one frame at a time
    chunks = pulsecl.predict((frames[i : i + 50] for i in range(0, len(frames), 50)), fs=fs)
    assert abs(from_array.hr_bpm - hr) < 3.0
    assert single.hr_bpm == pytest.approx(from_array.hr_bpm, abs=1e-6)
    assert chunks.hr_bpm == pytest.approx(from_array.hr_bpm, abs=1e-6)
    assert single.frames_read == len(frames)


def test_iterator_needs_a_frame_rate(small_frames):
    frames, _, _ = small_frames
    with pytest.raises(DataError, match="give their frame rate, fs="):
        pulsecl.predict(iter(frames))


def test_roi_full_on_video_already_cropped_to_skin(videos):
    from predict_helpers import face_crops

    video = videos["light-30fps"]
    crops, _ = face_crops(video.path)
    # The central half of each face crop: skin only, as a video cropped to the face.
    s = crops.shape[1]
    skin = np.ascontiguousarray(crops[:, s // 4 : 3 * s // 4, s // 4 : 3 * s // 4])
    result = pulsecl.predict(skin, fs=video.fs, roi="full")
    assert result.roi == "full"
    assert abs(result.hr_bpm - video.hr_bpm) < 3.0


def test_trace_streamed_chunk_by_chunk_equals_rgb_trace(videos):
    from predict_helpers import face_crops

    from pulsecl.extractors import TracePulse
    from pulsecl.video import rgb_trace

    crops, ts = face_crops(videos["dark-30fps"].path)
    expected = rgb_trace(crops)
    for chunk in (1, 7, 100, len(crops)):
        tp = TracePulse("pos")
        for s in range(0, len(crops), chunk):
            tp.feed(crops[s : s + chunk], ts[s : s + chunk])
            assert len(tp._tail) <= chunk + 2 * tp.half  # held: a chunk and the mask average's context
        tp.finish()
        np.testing.assert_array_equal(tp.trace(), expected)


def test_frame_rate_too_low_for_the_band(small_frames):
    frames, _, _ = small_frames
    with pytest.raises(SignalError) as err:
        pulsecl.predict(frames[::5], fs=6.0)
    msg = str(err.value)
    assert "at 6 fps, too low for heart rates up to 250 bpm" in msg and "--band" in msg
    assert "\n" not in msg
    # the same frames with a band that 6 fps can resolve (top below 180 bpm) are accepted
    result = pulsecl.predict(frames[::5], fs=6.0, band_bpm=(45, 150))
    assert 45 <= result.hr_bpm <= 150


def test_bad_settings(small_frames):
    frames, fs, _ = small_frames
    with pytest.raises(ConfigError, match="0 < low < high"):
        pulsecl.predict(frames, fs=fs, band_bpm=(150, 45))
    with pytest.raises(ConfigError, match="preprocess.roi = 'skin': use auto, face"):
        pulsecl.predict(frames, fs=fs, roi="skin")
    with pytest.raises(ConfigError, match="give one of a classical method, a checkpoint or a shipped model, not a classical method and a checkpoint"):
        pulsecl.predict(frames, fs=fs, method="pos", checkpoint="x.pt")
    with pytest.raises(pulsecl.UnknownComponentError, match="poss"):
        pulsecl.predict(frames, fs=fs, method="poss")


def test_too_short(small_frames):
    frames, fs, _ = small_frames
    with pytest.raises(SignalError, match="too few for a heart rate down to 40 bpm"):
        pulsecl.predict(frames[:60], fs=fs)  # 2 s


def test_memory_does_not_grow_with_length():
    """Frames stream through: a 4x longer recording adds only its per-frame scalars."""
    import tracemalloc

    rng = np.random.default_rng(0)
    frame_block = (120 + 20 * rng.random((30, 24, 24, 3))).astype(np.uint8)  # 1 s of "skin"

    def frames(seconds):
        for _ in range(seconds):
            yield frame_block

    peaks = []
    for seconds in (60, 240):
        tracemalloc.start()
        pulsecl.predict(frames(seconds), fs=30.0, roi="full", window_s=10.0, stride_s=5.0)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # 180 extra seconds = 5400 frames; the per-frame scalars and signals take a few
    # hundred bytes per frame in the analysis; 24x24 frames themselves would be 9 MB.
    assert peaks[1] - peaks[0] < 5400 * 1000


def test_prefetching_reader_gives_the_same_chunks_errors_and_stops(small_frames):
    import threading

    from pulsecl.video import PrefetchSource
    from pulsecl.video import ArraySource, FrameSource

    frames, fs, _ = small_frames
    plain = ArraySource(frames, fs=fs, chunk_frames=50)
    got = list(PrefetchSource(plain).chunks())
    want = list(plain.chunks())
    assert len(got) == len(want) and all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(got, want))

    class Broken(FrameSource):
        fs, path, name, n_frames, chunk_frames = 30.0, None, "broken", None, 10

        def chunks(self):
            yield frames[:10], np.arange(10) / 30.0
            raise DataError("'broken': frame 10 is corrupt")

    it = PrefetchSource(Broken()).chunks()
    next(it)
    with pytest.raises(DataError, match="frame 10 is corrupt"):
        next(it)
    # closing early stops the reader thread
    before = threading.active_count()
    it = PrefetchSource(ArraySource(frames, fs=fs, chunk_frames=10)).chunks()
    next(it)
    it.close()
    assert threading.active_count() <= before
    assert pulsecl.predict(frames, fs=fs, prefetch=False).hr_bpm == pytest.approx(pulsecl.predict(frames, fs=fs).hr_bpm)


@pytest.mark.parametrize("preset", ["default", "rppg-toolbox", "gideon2021"])
def test_window_rates_are_the_presets_hr_over_time(preset):
    """analyse() works through the windows in blocks; its per-window rates are the preset's."""
    from pulsecl.signal.analysis import _BLOCK, analyse
    from pulsecl.signal.presets import get_preset

    fs = 15.0
    rng = np.random.default_rng(3)
    t = np.arange(int((_BLOCK + 40) * fs)) / fs  # more windows than one block
    pulse = np.sin(2 * np.pi * (1.2 + 0.002 * t) * t) + 0.5 * rng.standard_normal(t.size)
    band = (40 / 60, 180 / 60)
    a = analyse(pulse, fs, band, 10.0, 1.0, preset)
    times, expected = get_preset(preset).hr_over_time(pulse, fs, 10.0, 1.0, band_hz=band)
    np.testing.assert_allclose(a.window_times_s, times)
    np.testing.assert_allclose(a.window_peak_bpm, expected, atol=1e-9)
