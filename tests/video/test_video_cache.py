"""The preprocessing cache: reuse, rebuild on change, atomic writes."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from pulsecl.config import PreprocessConfig
from pulsecl.synthetic import render_clip
from pulsecl.video import preprocess
from pulsecl.video.cache import CacheEntry, NpyStreamWriter, cache_key
from pulsecl.video.writer import write_video


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    clip = render_clip(seed=31, duration=2.0, fps=15.0, width=160, height=120)
    path = tmp_path_factory.mktemp("v") / "clip.avi"
    write_video(path, clip.frames, fps=15.0)
    return path


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_second_run_reuses_and_a_changed_setting_rebuilds(tmp_path, video):
    cache = tmp_path / "cache"
    settings = PreprocessConfig(size=24)
    first = preprocess(video, settings, cache_dir=cache)
    assert not first.reused and first.n_frames == 30 and first.fs == pytest.approx(15.0)
    entry = first.cache_path
    assert _files(cache) == sorted(
        f"{os.path.basename(entry)}/{n}" for n in ("frames.npy", "meta.json", "timestamps.npy")
    )
    second = preprocess(video, PreprocessConfig(size=24), cache_dir=cache)
    assert second.reused and second.cache_path == entry
    assert isinstance(second.frames, np.memmap)
    assert np.array_equal(np.asarray(second.frames), np.asarray(first.frames))
    assert np.array_equal(second.timestamps, first.timestamps)
    # Chunking does not change the crops, so it does not change the key.
    assert preprocess(video, PreprocessConfig(size=24, chunk_frames=7), cache_dir=cache).reused
    for change in ({"size": 32}, {"box_scale": 1.5}, {"detect_every": 3}, {"smooth": 0.5},
                   {"roi": "full"}, {"detector_options": {"min_neighbors": 6}}):
        other = preprocess(video, PreprocessConfig(**{"size": 24, **change}), cache_dir=cache)
        assert not other.reused and other.cache_path != entry, change
    assert len([p for p in cache.iterdir()]) == 7


def test_a_changed_source_file_rebuilds(tmp_path, video):
    copy = tmp_path / "copy.avi"
    copy.write_bytes(video.read_bytes())
    cache = tmp_path / "cache"
    a = preprocess(copy, PreprocessConfig(size=16), cache_dir=cache)
    os.utime(copy, ns=(10**18, 10**18))  # touched: same bytes, new modification time
    b = preprocess(copy, PreprocessConfig(size=16), cache_dir=cache)
    assert not b.reused and b.cache_path != a.cache_path


def test_meta_records_what_was_done(tmp_path, video):
    clip = preprocess(video, PreprocessConfig(size=16, detect_every=5), cache_dir=tmp_path)
    meta = json.loads((clip.cache_path and open(os.path.join(clip.cache_path, "meta.json")).read()))
    assert meta["n_frames"] == 30 and meta["frames_without_face"] == 0
    assert meta["settings"]["size"] == 16 and meta["settings"]["detect_every"] == 5
    assert meta["identity"]["path"] == str(video.resolve())
    frames = np.load(os.path.join(clip.cache_path, "frames.npy"))
    assert frames.shape == (30, 16, 16, 3) and frames.dtype == np.uint8


def test_incomplete_entry_is_rebuilt(tmp_path, video):
    clip = preprocess(video, PreprocessConfig(size=16), cache_dir=tmp_path)
    os.unlink(os.path.join(clip.cache_path, "meta.json"))  # as if killed before the end
    again = preprocess(video, PreprocessConfig(size=16), cache_dir=tmp_path)
    assert not again.reused and again.cache_path == clip.cache_path
    with open(os.path.join(clip.cache_path, "frames.npy"), "r+b") as fh:
        fh.truncate(500)  # damaged on disk
    third = preprocess(video, PreprocessConfig(size=16), cache_dir=tmp_path)
    assert not third.reused and third.n_frames == 30


def test_interrupted_run_leaves_nothing_half_written(tmp_path, video, monkeypatch):
    import pulsecl.video.pipeline as pipeline

    original = pipeline.CropStream._crop
    calls = {"n": 0}

    def crop_then_interrupt(self, frames, boxes):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, frames, boxes)

    monkeypatch.setattr(pipeline.CropStream, "_crop", crop_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        preprocess(video, PreprocessConfig(size=16, chunk_frames=10), cache_dir=tmp_path / "cache")
    assert _files(tmp_path / "cache") == []  # no frames.npy, no temporary file, no meta.json
    monkeypatch.setattr(pipeline.CropStream, "_crop", original)
    clip = preprocess(video, PreprocessConfig(size=16, chunk_frames=10), cache_dir=tmp_path / "cache")
    assert not clip.reused and clip.n_frames == 30


def test_key_covers_settings_and_identity():
    ident = {"path": "/v.avi", "size": 10, "mtime_ns": 1}
    base = cache_key(PreprocessConfig(), ident)
    assert base == cache_key(PreprocessConfig(), dict(ident))
    assert base != cache_key(PreprocessConfig(), {**ident, "size": 11})
    assert base != cache_key(PreprocessConfig(size=48), ident)
    assert base == cache_key(PreprocessConfig(chunk_frames=17), ident)
    # roi = "full" runs no detector: detector settings do not split the cache.
    assert cache_key(PreprocessConfig(roi="full"), ident) == cache_key(
        PreprocessConfig(roi="full", detect_every=3, detector_options={"x": 1}), ident
    )


@pytest.mark.parametrize("count", [1, 7, 123456])
def test_streamed_npy_files_load_with_numpy(tmp_path, count):
    path = tmp_path / "x.npy"
    with open(path, "wb") as fh:
        writer = NpyStreamWriter(fh, (2, 2, 3))
        block = np.arange(count * 12, dtype=np.int64).reshape(count, 2, 2, 3).astype(np.uint8)
        writer.append(block[: count // 2])
        writer.append(block[count // 2 :])
        writer.finish()
    loaded = np.load(path, mmap_mode="r")
    assert loaded.shape == (count, 2, 2, 3) and np.array_equal(loaded, block)


def test_cache_folder_that_is_a_file(tmp_path, video):
    from pulsecl.errors import DataError

    (tmp_path / "f").write_text("x")
    with pytest.raises(DataError, match="cache '.*f' exists and is not a folder"):
        preprocess(video, PreprocessConfig(size=16), cache_dir=tmp_path / "f")


def test_entry_names_are_safe(tmp_path):
    entry = CacheEntry(tmp_path, "we ird/name:1", "abc")
    assert entry.dir.parent == tmp_path and "/" not in entry.dir.name and ":" not in entry.dir.name


def test_an_entry_another_process_is_building_is_left_alone(tmp_path, video, hold_lock):
    """Issue 30, case 1: two processes building one cache entry at once; the second
    stops with the entry and the builder's pid, and leaves the first one's files."""
    from pulsecl.errors import BusyError

    cache = tmp_path / "cache"
    first = preprocess(video, PreprocessConfig(size=24), cache_dir=cache)
    entry = tmp_path / "cache" / os.path.basename(first.cache_path)
    os.unlink(entry / "meta.json")  # being rebuilt by the holder below
    holder = hold_lock(entry)
    with pytest.raises(BusyError) as err:
        preprocess(video, PreprocessConfig(size=24), cache_dir=cache)
    assert str(err.value) == (
        f"cache entry '{entry}' is in use by another pulsecl process (pid {holder.pid}); wait for it to finish "
        "(the entry is then reused) or give another --cache"
    )
    assert sorted(p.name for p in entry.iterdir()) == [".pulsecl.lock", "frames.npy", "timestamps.npy"]
    holder.kill()  # killed mid-build: its lock does not block the next run
    holder.wait()
    again = preprocess(video, PreprocessConfig(size=24), cache_dir=cache)
    assert not again.reused and _files(cache) == sorted(
        f"{entry.name}/{n}" for n in ("frames.npy", "meta.json", "timestamps.npy")
    )
