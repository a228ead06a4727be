"""The clip sampler: clips, their groups, and sampling by subject."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pulsecl.engine.clips import ClipSampler, Video
from pulsecl.errors import DataError


def videos():
    """Subject a: one long video (1000 frames); b and c: short ones (100 frames each;
    c has two).  Each frame's value is its video's index, so a clip tells where it came from."""
    out = []
    for i, (subject, n) in enumerate((("a", 1000), ("b", 100), ("c", 100), ("c", 100))):
        frames = np.full((n, 2, 2, 3), i, dtype=np.uint8)
        frames[:, 0, 0, 0] = np.arange(n) % 256  # the frame index, to check starts
        out.append(Video(id=f"v{i}", subject=subject, frames=frames, timestamps=np.arange(n) / 30.0, fs=30.0))
    return out


def test_groups_are_subject_indices_and_clips_match_their_source():
    s = ClipSampler(videos(), 20)
    assert s.groups == [0, 1, 2, 2] and s.subjects == ["a", "b", "c"]
    batch = s.draw(6, torch.Generator().manual_seed(0))
    assert batch.groups.tolist() == [s.groups[v] for v in batch.video_index]
    for k, (v, start) in enumerate(zip(batch.video_index, batch.start)):
        clip = batch.x[k]  # (3, T, H, W)
        assert torch.allclose(clip[1, :, 0, 0] * 255, torch.full((20,), float(v)), atol=1e-3)
        assert torch.allclose(clip[0, :, 0, 0] * 255, (torch.arange(start, start + 20) % 256).float(), atol=1e-3)


def test_uniform_sampling_follows_frames_and_subject_sampling_balances_subjects():
    uniform = ClipSampler(videos(), 20)
    by_subject = ClipSampler(videos(), 20, sampling="subjects")
    g = torch.Generator().manual_seed(1)
    u = np.bincount(np.concatenate([uniform.draw(3, g).groups.numpy() for _ in range(200)]), minlength=3)
    s = [by_subject.draw(3, g).groups.tolist() for _ in range(200)]
    assert u[0] / u.sum() > 0.7  # the long video dominates (981 of 1224 starts)
    assert all(sorted(b) == [0, 1, 2] for b in s)  # every batch of 3: three distinct subjects
    big = by_subject.draw(5, torch.Generator().manual_seed(2)).groups.tolist()
    assert sorted(big[:3]) == [0, 1, 2] and len(set(big[3:])) == 2  # a second round of distinct subjects


def test_sampling_is_reproducible_and_ranks_share_the_global_batch():
    s = ClipSampler(videos(), 20, sampling="subjects")
    whole = s.draw(4, torch.Generator().manual_seed(3), rank=0, world_size=1)
    r0 = s.draw(2, torch.Generator().manual_seed(3), rank=0, world_size=2)
    r1 = s.draw(2, torch.Generator().manual_seed(3), rank=1, world_size=2)
    assert whole.video_index == r0.video_index + r1.video_index
    assert whole.start == r0.start + r1.start


def test_unknown_sampling_is_a_data_error():
    with pytest.raises(DataError, match="data.sampling = 'random': use one of uniform, subjects"):
        ClipSampler(videos(), 20, sampling="random")
