"""The collapse probe: a model whose output ignores its input is caught; one that follows it is not."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pulsecl.engine.clips import Video
from pulsecl.engine.probe import CROSS_R_LIMIT, INPUT_R_LIMIT, collapse_probe, probe_clips, still_clip
from pulsecl.testing import FixedWaveBackbone, PassThroughBackbone


def pulse_clips(hrs, frames=128, fs=15.0, seed=0):
    """uint8 clips (T, 4, 4, 3) whose green carries a pulse at each of ``hrs`` (Hz), plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fs
    out = []
    for f in hrs:
        wave = 128 + 6 * np.sin(2 * math.pi * f * t + rng.uniform(0, 6))
        clip = np.repeat(wave[:, None, None, None], 4, 1).repeat(4, 2).repeat(3, 3)
        out.append(np.clip(clip + rng.normal(0, 1, clip.shape), 0, 255).astype(np.uint8))
    return out


def test_a_fixed_waveform_is_collapsed():
    result = collapse_probe(FixedWaveBackbone(5.3), pulse_clips([1.0, 1.3, 1.7]))
    assert result.cross_r == pytest.approx(1.0) and result.noise_r == pytest.approx(1.0)
    assert result.grey_r == pytest.approx(1.0) and result.collapsed
    row = result.as_row()
    for key in ("probe_rate_spread", "probe_pos_spread", "probe_still_db"):
        assert math.isnan(row.pop(key))  # no frame rates given
    assert row == {"probe_cross_r": 1.0, "probe_noise_r": 1.0, "probe_grey_r": 1.0, "probe_same_rate": False,
                   "collapsed": True}


def test_the_rate_spread_is_that_of_the_pulses_put_in_and_zero_for_a_fixed_wave():
    hrs = [1.0, 1.3, 1.7, 2.2]  # Hz: 60, 78, 102, 132 bpm
    clips = pulse_clips(hrs, frames=256)
    follows = collapse_probe(PassThroughBackbone(), clips, fs=[15.0] * 4)
    assert follows.rate_spread == pytest.approx(np.std([60.0, 78.0, 102.0, 132.0]), abs=1.0)
    fixed = collapse_probe(FixedWaveBackbone(20.0), clips, fs=[15.0] * 4)  # 20 cycles in 256 frames at 15 fps
    assert fixed.rate_spread == pytest.approx(0.0, abs=0.1)
    assert "its heart rates spread 0.0 bpm" in fixed.describe()


def test_a_model_that_follows_its_input_is_not():
    result = collapse_probe(PassThroughBackbone(), pulse_clips([1.0, 1.3, 1.7, 2.2]))
    assert result.clips == 4
    assert result.grey_r == 0.0  # a constant output counts as r = 0
    assert result.noise_r < 0.3 and result.cross_r < 0.5
    assert not result.collapsed


def test_limits_and_constant_outputs():
    def mix(w):  # w * fixed wave + (1 - w) * the input's pulse
        fixed, passing = FixedWaveBackbone(5.0), PassThroughBackbone()
        return lambda x: w * fixed(x) / fixed(x).std() + (1 - w) * passing(x) / passing(x).std().clamp_min(1e-9)

    clips = pulse_clips([1.0, 1.3, 1.7])
    assert not collapse_probe(mix(0.2), clips).collapsed
    assert collapse_probe(mix(0.8), clips).collapsed
    constant = collapse_probe(lambda x: torch.zeros(x.shape[0], x.shape[2]), clips)
    assert (constant.cross_r, constant.noise_r, constant.grey_r) == (0.0, 0.0, 0.0)
    assert INPUT_R_LIMIT == 0.5 and CROSS_R_LIMIT == 0.9


def test_probe_clips_take_one_clip_per_group_from_the_middle():
    vids = [
        Video(id=f"v{i}", subject=s, frames=np.arange(n)[:, None, None, None].repeat(2, 1).repeat(2, 2).repeat(3, 3).astype(np.uint8),
              timestamps=np.arange(n) / 15.0, fs=15.0)
        for i, (s, n) in enumerate((("a", 100), ("a", 100), ("b", 30), ("c", 60)))
    ]
    clips, fs, groups = probe_clips(vids, 40, groups=[0, 0, 1, 2])
    assert groups == [0, 2]  # v1 repeats group 0; v2 (30 frames) is too short
    assert clips[0][0, 0, 0, 0] == 30 and clips[1][0, 0, 0, 0] == 10  # (100 - 40) // 2, (60 - 40) // 2
    assert fs == [15.0, 15.0] and clips[0].shape == (40, 2, 2, 3)


def skin_pulse_clips(hrs, frames=300, fs=30.0, seed=0):
    """uint8 clips (T, 8, 8, 3) of skin colour that darkens along the blood-volume direction
    at each of ``hrs`` (Hz), plus pixel noise: POS reads them."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fs
    skin, direction = np.array([190.0, 140.0, 115.0]), np.array([0.33, 0.77, 0.53])
    out = []
    for f in hrs:
        wave = np.sin(2 * math.pi * f * t + rng.uniform(0, 6))
        clip = skin * (1 - 0.01 * direction * wave[:, None])  # (T, 3)
        clip = np.broadcast_to(clip[:, None, None, :], (frames, 8, 8, 3)) + rng.normal(0, 1, (frames, 8, 8, 3))
        out.append(np.clip(clip + 0.5, 0, 255).astype(np.uint8))
    return out


def test_a_rhythm_made_from_a_still_face_is_collapse():
    clips = skin_pulse_clips([1.0, 1.3, 1.7, 2.2])
    fixed = collapse_probe(FixedWaveBackbone(10.0), clips, fs=[30.0] * 4)  # 10 cycles in 10 s: 60 bpm, always
    assert fixed.still_db > 0 and fixed.still_rhythm and fixed.collapsed
    assert "still face" in fixed.describe()
    follows = collapse_probe(PassThroughBackbone(), clips, fs=[30.0] * 4)
    assert follows.still_db <= 0 and not follows.still_rhythm  # a still face gives it only noise


def test_every_face_at_about_the_same_rate_is_collapse_when_pos_sees_them_apart():
    hrs = [1.0, 1.3, 1.7, 2.2]  # 60, 78, 102, 132 bpm
    clips = skin_pulse_clips(hrs)
    expected = np.std([60.0, 78.0, 102.0, 132.0])
    fixed = collapse_probe(FixedWaveBackbone(10.0), clips, fs=[30.0] * 4)
    assert fixed.pos_spread == pytest.approx(expected, abs=2.0)
    assert fixed.rate_spread == pytest.approx(0.0, abs=0.1) and fixed.same_rate
    follows = collapse_probe(PassThroughBackbone(), clips, fs=[30.0] * 4)
    assert not follows.same_rate
    assert not collapse_probe(FixedWaveBackbone(10.0), clips[:3], fs=[30.0] * 3).same_rate  # 3 clips say too little


def test_a_still_clip_is_the_middle_frame_with_noise():
    clip = np.arange(5)[:, None, None, None].repeat(4, 1).repeat(4, 2).repeat(3, 3).astype(np.uint8) * 50
    still = still_clip(clip, noise=0.0)
    assert still.shape == clip.shape and np.all(still == 100)
