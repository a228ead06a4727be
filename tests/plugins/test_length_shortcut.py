"""The length shortcut (issue 12): a backbone that outputs "k cycles per clip" whatever
its input must not satisfy the default proxy task; one that passes the pulse through must.

Under the recipes whose negatives are shorter than the anchor (own length, cropped) or
zero-padded (the paper's), the fixed waveform's negative has its k cycles in fewer
frames, so it is r times "faster", and its positive equals the anchor: it scores as well
as the true pulse.  With equal-length negatives it cannot.
"""

from __future__ import annotations

import math

import pytest
import torch

import pulsecl
from pulsecl.config import load_config
from pulsecl.testing import FixedWaveBackbone, PassThroughBackbone

FS, T = 15.0, 128  # the real patch videos' rate and the default clip
HR = [1.0, 1.2, 1.5, 2.0]  # Hz, one per sample


def pulse_video(frames, seed=0):
    """Skin-coloured clips whose green carries a pulse at HR[i] plus a little noise.  (4, 3, T, 4, 4)."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(frames, dtype=torch.float32) / FS
    out = []
    for f in HR:
        wave = 0.5 + 0.01 * torch.sin(2 * math.pi * f * t + 2 * math.pi * float(torch.rand(1, generator=g)))
        clip = wave.view(1, -1, 1, 1).expand(3, frames, 4, 4).clone()
        out.append(clip + 0.002 * torch.randn(clip.shape, generator=g))
    return torch.stack(out)


def mvtl_loss(proxy_options, backbone, seeds=range(4)):
    """MVTL (the default's options) of ``backbone`` under a proxy built with
    ``proxy_options``, averaged over a few draws."""
    config = load_config(None)
    gen = pulsecl.build("proxy_tasks", "frequency", **proxy_options)
    windows = pulsecl.build("view_windows", config.views.windows, **config.views.windows_options)
    mvtl = pulsecl.build("losses", "mvtl", **config.loss.options.get("mvtl", {}))
    context = pulse_video(gen.context_frames(T))
    values = []
    with torch.no_grad():
        for seed in seeds:
            g = torch.Generator().manual_seed(seed)
            out = gen(context[:, :, :T], FS, backbone, generator=g, context=context)
            views = windows(out, generator=g)
            values.append(float(mvtl({**views, "fs": torch.full((len(HR),), FS)})))
    return sum(values) / len(values)


DEFAULT = load_config(None).views.proxy_options
PAPER = load_config("paper").views.proxy_options


@pytest.mark.parametrize("cycles", [5.3, 7.0, 8.9])  # what the collapsed model gave at 64, 96, 128 frames
def test_default_recipe_penalises_a_fixed_waveform_and_rewards_the_pulse(cycles):
    fixed = mvtl_loss(DEFAULT, FixedWaveBackbone(cycles))
    passing = mvtl_loss(DEFAULT, PassThroughBackbone())
    assert DEFAULT == {"equal_length": True}
    assert fixed > 0.01  # positive: the anchor matches the negative, not the positive
    assert passing < -0.015  # the pulse separates anchor and negative
    assert fixed - passing > 0.03


@pytest.mark.parametrize(
    "recipe",
    [PAPER, {"equal_length": False}, {"crop_negatives": True}],
    ids=["paper (zero-padded)", "own length", "cropped"],
)
def test_shorter_or_padded_negatives_reward_a_fixed_waveform(recipe):
    """The flaw, documented: a frame-counting output scores at least as well as the pulse."""
    fixed = mvtl_loss(recipe, FixedWaveBackbone(7.0))
    passing = mvtl_loss(recipe, PassThroughBackbone())
    assert fixed < -0.01
    assert fixed <= passing + 0.005


def test_fixed_wave_backbone_counts_frames_up_to_the_padding():
    net = FixedWaveBackbone(4.0)
    x = torch.rand(2, 3, 40, 4, 4) + 0.1
    x[1, :, 30:] = 0.0  # sample 1: 30 frames of content, then zero padding
    y = net(x).detach()
    t = torch.arange(40.0)
    assert torch.allclose(y[0], torch.sin(2 * math.pi * 4.0 * t / 40))
    assert torch.allclose(y[1, :30], torch.sin(2 * math.pi * 4.0 * t[:30] / 30))
    assert (y[1, 30:] == 0).all()
    assert torch.equal(net(torch.rand(1, 3, 40, 4, 4)), net(torch.full((1, 3, 40, 4, 4), 0.5)))  # input-blind


def test_pass_through_backbone_gives_the_pulse():
    clip = pulse_video(T)
    y = PassThroughBackbone()(clip).detach()
    for i, f in enumerate(HR):
        t = torch.arange(T) / FS
        ref = torch.sin(2 * math.pi * f * t)
        # correlation with a sinusoid of the right frequency, best phase
        cos = torch.cos(2 * math.pi * f * t)
        amp = torch.hypot(y[i] @ ref, y[i] @ cos) / (y[i].norm() * ref.norm())
        assert amp > 0.6
