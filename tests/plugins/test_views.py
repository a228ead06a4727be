"""The frequency-resampling proxy and the multi-view windows."""

from __future__ import annotations

import math

import pytest
import torch

import pulsecl
from pulsecl.errors import ConfigError, SignalError
from pulsecl.nn.spectral import periodogram
from pulsecl_views.frequency import largest_factor, lowest_frame_rate

F_MAX = 250 / 60  # top of the default band, Hz


def pulse_video(f_hz, fs, frames, batch=1, size=4):
    """Video whose every pixel carries a sinusoid at f_hz.  Shape: (B, 3, T, s, s)."""
    t = torch.arange(frames, dtype=torch.float32) / fs
    wave = 0.5 + 0.1 * torch.sin(2 * math.pi * f_hz * t)
    return wave.view(1, 1, -1, 1, 1).expand(batch, 3, frames, size, size).contiguous()


def mean_model(video):
    """A linear stand-in backbone: the spatial and colour mean.  (B, C, T, H, W) -> (B, T)."""
    return video.mean(dim=(1, 3, 4))


def peak(signal, fs):
    power, freqs = periodogram(signal.reshape(1, -1).double(), fs, pad_factor=64)
    return float(freqs[0, power[0].argmax()])


@pytest.mark.parametrize("r", [1.25, 1.375, 1.5])
@pytest.mark.parametrize(
    "fs, f",
    [
        (30.0, 1.2),
        (30.0, 3.0),
        (1.02 * lowest_frame_rate(1.5, F_MAX), 1.5),
        (1.02 * lowest_frame_rate(1.5, F_MAX), 0.9 * F_MAX),  # near the top of the band
    ],
)
@pytest.mark.parametrize("equal_length", [True, False])
def test_negative_peaks_at_r_f_and_positive_at_f(r, fs, f, equal_length):
    frames = int(round(12 * fs))
    gen = pulsecl.build("proxy_tasks", "frequency", factor_range=(r, r), equal_length=equal_length)
    context = pulse_video(f, fs, gen.context_frames(frames))
    out = gen(context[:, :, :frames], fs, mean_model, context=context)
    r_applied = float(out["factors"][0])
    assert r_applied == pytest.approx(r, abs=0.01)  # r rounded to whole frames
    assert peak(out["negative"][0], fs) == pytest.approx(r_applied * f, rel=0.01)
    assert peak(out["positive"][0], fs) == pytest.approx(f, rel=0.01)
    assert peak(out["anchor"][0], fs) == pytest.approx(f, rel=0.01)


def test_guard_names_lowest_frame_rate_and_largest_factor():
    need = lowest_frame_rate(1.5, F_MAX)
    assert need == pytest.approx(12.5)
    gen = pulsecl.build("proxy_tasks", "frequency")
    video = pulse_video(1.2, 12.0, 64)
    with pytest.raises(SignalError) as info:
        gen(video, 12.0, mean_model)
    message = str(info.value)
    assert "12 fps is too low" in message
    assert "above 12.50 fps" in message
    assert f"below {largest_factor(12.0, F_MAX):.3f}" in message  # 1.440
    assert "\n" not in message
    # at the lowest allowed rate it runs
    gen(pulse_video(1.2, 12.6, 64), 12.6, mean_model, context=pulse_video(1.2, 12.6, 96))


def test_guard_uses_each_samples_rate():
    gen = pulsecl.build("proxy_tasks", "frequency")
    with pytest.raises(SignalError, match="10 fps is too low"):
        gen(pulse_video(1.2, 30.0, 64, batch=2), torch.tensor([30.0, 10.0]), mean_model)


def test_guard_when_no_factor_works_says_to_lower_the_band():
    gen = pulsecl.build("proxy_tasks", "frequency")
    with pytest.raises(SignalError, match="lower band_bpm"):
        gen(pulse_video(1.0, 6.0, 64), 6.0, mean_model)


class Recorder(torch.nn.Module):
    """Mean model that records the clips it is given."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, video):
        self.seen.append(video.detach().clone())
        return mean_model(video)


def test_negatives_run_at_their_own_length_without_padding():
    torch.manual_seed(0)
    t = 60
    video = torch.rand(6, 3, t, 4, 4) * 0.5 + 0.25
    model = Recorder()
    gen = pulsecl.build("proxy_tasks", "frequency", equal_length=False)
    out = gen(video, 30.0, model, generator=torch.Generator().manual_seed(3))
    drawn_r = gen.draw_factors(6, torch.Generator().manual_seed(3))  # the same draw
    drawn = out["lengths"].tolist()
    assert drawn == [round(t / float(r)) for r in drawn_r]
    assert len(set(drawn)) > 1  # factors differ per sample
    assert [n.shape[0] for n in out["negative"]] == drawn
    # the model saw the anchors at T, then each group of equal length at that length
    assert model.seen[0].shape[2] == t
    seen_lengths = sorted(clip.shape[2] for clip in model.seen[1:] for _ in range(clip.shape[0]))
    assert seen_lengths == sorted(drawn)
    for clip in model.seen:
        frame_energy = clip.abs().sum(dim=(1, 3, 4))  # (N, T')
        assert (frame_energy > 0).all()  # no zero (padding) frame anywhere
    assert out["positive"].shape == (6, t)


def test_negative_length_is_round_t_over_r():
    t = 61
    for r in (1.25, 1.3, 1.41, 1.5):
        gen = pulsecl.build("proxy_tasks", "frequency", factor_range=(r, r), equal_length=False)
        out = gen(torch.rand(2, 3, t, 4, 4), 30.0, mean_model)
        assert out["negative"].shape == (2, round(t / r))
        assert out["lengths"].tolist() == [round(t / r)] * 2
        assert out["factors"].tolist() == pytest.approx([t / round(t / r)] * 2)


@pytest.mark.parametrize("fs", [30.0, 1.02 * lowest_frame_rate(1.5, F_MAX)])
def test_cropped_negatives_share_one_call_and_keep_each_factor(fs):
    f, frames = 1.6, int(round(12 * fs))
    model = Recorder()
    gen = pulsecl.build("proxy_tasks", "frequency", crop_negatives=True)
    out = gen(pulse_video(f, fs, frames, batch=5), fs, model, generator=torch.Generator().manual_seed(1))
    r = gen.draw_factors(5, torch.Generator().manual_seed(1))  # the same draw
    length = round(frames / float(r.max()))
    assert len(model.seen) == 2 and model.seen[1].shape[:3] == (5, 3, length)  # one negative call
    assert (model.seen[1].abs().sum(dim=(1, 3, 4)) > 0).all()  # no padding frame
    assert out["negative"].shape == (5, length)
    spans = [round(length * float(ri)) for ri in r]
    assert [p.shape[0] for p in out["positive"]] == spans
    assert out["factors"].tolist() == pytest.approx([n / length for n in spans])
    assert len(set(spans)) > 1  # still a factor per sample
    for i in range(5):
        assert peak(out["negative"][i], fs) == pytest.approx(float(out["factors"][i]) * f, rel=0.015)
        assert peak(out["positive"][i], fs) == pytest.approx(f, rel=0.015)
    starts = out["crop_starts"]
    assert ((starts >= 0) & (starts + torch.tensor(spans) <= frames)).all()
    views = pulsecl.build("view_windows", "windows")(out, generator=torch.Generator().manual_seed(0))
    assert views["positive_views"].shape == (5, 4, frames // 2)


def test_paper_recipe_pads_negatives_and_shares_one_call():
    torch.manual_seed(0)
    t = 60
    model = Recorder()
    gen = pulsecl.build("proxy_tasks", "frequency", per_sample=False, pad_negatives=True, antialias=False)
    out = gen(torch.rand(3, 3, t, 4, 4) + 0.1, 30.0, model)
    assert len(model.seen) == 1 and model.seen[0].shape[:3] == (6, 3, t)  # anchors + negatives
    length = int(out["lengths"][0])
    assert (out["lengths"] == length).all()  # one factor per batch
    assert out["negative"].shape == (3, length)
    padding = model.seen[0][3:, :, length:]
    assert padding.numel() > 0 and (padding == 0).all()


def test_factors_reproducible_with_a_generator_and_in_range():
    gen = pulsecl.build("proxy_tasks", "frequency", factor_range=(1.2, 1.6))
    context = torch.rand(8, 3, 160, 4, 4)
    video = context[:, :, :100]
    a = gen(video, 30.0, mean_model, generator=torch.Generator().manual_seed(7), context=context)
    b = gen(video, 30.0, mean_model, generator=torch.Generator().manual_seed(7), context=context)
    assert torch.equal(a["factors"], b["factors"])
    assert torch.equal(a["context_starts"], b["context_starts"])
    assert torch.equal(a["negative"], b["negative"])
    assert ((a["factors"] > 1.18) & (a["factors"] < 1.62)).all()
    shared = pulsecl.build("proxy_tasks", "frequency", per_sample=False)
    c = shared(video, 30.0, mean_model, generator=torch.Generator().manual_seed(7), context=context)
    assert (c["factors"] == c["factors"][0]).all()


def test_gradients_reach_the_model_through_every_branch():
    model = torch.nn.Conv3d(3, 1, 1)
    gen = pulsecl.build("proxy_tasks", "frequency")
    context = torch.rand(3, 3, 60, 4, 4)
    out = gen(context[:, :, :40], 30.0, lambda v: model(v).mean(dim=(1, 3, 4)), context=context)
    sum(p.sum() for p in out["positive"]).backward()
    assert model.weight.grad is not None and (model.weight.grad != 0).any()


def test_half_precision_model_outputs_work():
    """Under mixed precision the backbone gives float16; the resampled positive is float32."""
    gen = pulsecl.build("proxy_tasks", "frequency", equal_length=False)
    out = gen(pulse_video(1.5, 30.0, 90, batch=3), 30.0, lambda v: mean_model(v).half())
    assert out["anchor"].dtype == torch.float16
    assert out["positive"].dtype == torch.float32 and out["positive"].shape == (3, 90)
    assert peak(out["positive"][0].float(), 30.0) == pytest.approx(1.5, rel=0.02)
    equal = pulsecl.build("proxy_tasks", "frequency")
    context = pulse_video(1.5, 30.0, 135, batch=3)
    out = equal(context[:, :, :90], 30.0, lambda v: mean_model(v).half(), context=context)
    assert out["negative"].dtype == torch.float16
    assert all(p.dtype == torch.float32 for p in out["positive"])
    assert peak(out["positive"][0].float(), 30.0) == pytest.approx(1.5, rel=0.02)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"factor_range": (0.8, 1.2)}, "both above 1"),
        ({"factor_range": (1.5,)}, "give \\[low, high\\]"),
        ({"band_bpm": (250, 40)}, "0 < low < high"),
        ({"factor_range": (0.6, 0.8), "pad_negatives": True}, "padding needs"),
        ({"crop_negatives": True, "pad_negatives": True}, "turn one of them off"),
        ({"equal_length": True, "pad_negatives": True}, "cannot be padded or cropped"),
        ({"equal_length": True, "crop_negatives": True}, "cannot be padded or cropped"),
    ],
)
def test_frequency_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        pulsecl.build("proxy_tasks", "frequency", **options)


# -- windows -------------------------------------------------------------------------------


def branches(batch=4, t=60, neg_lengths=(40, 45, 48, 40)):
    g = torch.Generator().manual_seed(0)
    return {
        "anchor": torch.randn(batch, t, generator=g),
        "positive": torch.randn(batch, t, generator=g),
        "negative": [torch.randn(n, generator=g) for n in neg_lengths[:batch]],
        "fs": torch.full((batch,), 30.0),
    }


def test_windows_shapes_and_views_are_slices_at_the_offsets():
    gen = pulsecl.build("view_windows", "windows", n_views=3, window_frames=20)
    data = branches()
    out = gen(data, generator=torch.Generator().manual_seed(1))
    for key in ("anchor", "positive", "negative"):
        views, offsets = out[f"{key}_views"], out[f"{key}_offsets"]
        assert views.shape == (4, 3, 20)
        for b in range(4):
            for v in range(3):
                o = int(offsets[b, v])
                assert torch.equal(views[b, v], data[key][b][o : o + 20])
    assert out["anchor"] is data["anchor"]  # the branches pass through


def test_window_offsets_are_independent_per_sample():
    gen = pulsecl.build("view_windows", "windows", n_views=4, window_frames=10)
    batch = 16
    data = {"anchor": torch.randn(batch, 100), "fs": torch.full((batch,), 30.0)}
    offsets = gen(data, generator=torch.Generator().manual_seed(0))["anchor_offsets"]  # (B, V)
    assert len({tuple(row) for row in offsets.tolist()}) == batch  # no two samples share them
    assert int(offsets.min()) >= 0 and int(offsets.max()) <= 90
    again = gen(data, generator=torch.Generator().manual_seed(0))["anchor_offsets"]
    assert torch.equal(offsets, again)


def test_window_length_from_seconds_uses_the_lowest_fs():
    gen = pulsecl.build("view_windows", "windows", n_views=2, window_s=1.5)
    data = {"anchor": torch.randn(2, 90), "fs": torch.tensor([30.0, 20.0])}
    assert gen(data)["anchor_views"].shape == (2, 2, 30)


def test_default_window_is_half_the_clip():
    gen = pulsecl.build("view_windows", "windows")
    out = gen({"anchor": torch.randn(2, 300), "negative": torch.randn(2, 200), "fs": 30.0})
    assert out["anchor_views"].shape == (2, 4, 150)
    assert out["negative_views"].shape == (2, 4, 150)


def test_window_longer_than_the_negative_is_a_signal_error():
    gen = pulsecl.build("view_windows", "windows", window_frames=42)
    with pytest.raises(SignalError, match="do not fit the negative branch \\(40 samples"):
        gen(branches())


@pytest.mark.parametrize(
    "options, message",
    [
        ({"window_s": 2.0, "window_frames": 60}, "give one of them"),
        ({"n_views": 0}, "n_views"),
        ({"window_frames": 1}, "window_frames"),
    ],
)
def test_windows_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        pulsecl.build("view_windows", "windows", **options)


# -- motion augmentation -------------------------------------------------------------------


def test_motion_shift_moves_content_by_the_given_pixels():
    from pulsecl_views.augment import MotionAugment

    x = torch.zeros(1, 3, 2, 12, 12)
    x[:, :, :, 4, 5] = 1.0  # one bright pixel at (y=4, x=5) in both frames
    d = torch.tensor([[[0.0, 0.0], [2.0, -1.0]]])  # frame 1 moves +2 px along x, -1 px along y
    out = MotionAugment().shift(x, d)
    assert torch.allclose(out[:, :, 0], x[:, :, 0], atol=1e-6)
    expected = torch.zeros(12, 12)
    expected[3, 7] = 1.0
    assert torch.allclose(out[0, 0, 1], expected, atol=1e-5)
    half = MotionAugment().shift(x, torch.tensor([[[0.0, 0.0], [0.5, 0.0]]]))
    assert half[0, 0, 1, 4, 5].item() == pytest.approx(0.5, abs=1e-5)  # bilinear: half a pixel
    assert half[0, 0, 1, 4, 6].item() == pytest.approx(0.5, abs=1e-5)


def test_motion_is_one_sinusoid_per_sample_inside_the_band_and_amplitude():
    from pulsecl_views.augment import MotionAugment

    gen = MotionAugment(amplitude=0.1, band_bpm=(60, 120))
    fs = torch.tensor([30.0, 25.0] * 16)
    frames = 600
    d = gen.draw(32, frames, fs, (40, 32), torch.Generator().manual_seed(1)).double()  # (B, T, 2)
    assert d.shape == (32, frames, 2)
    assert float(d.abs().max()) <= 0.1 * 32 + 1e-9  # amplitude is a fraction of the shorter side
    for b in range(32):
        u = d[b, d[b].norm(dim=1).argmax()]
        u = u / u.norm()  # the direction of the largest displacement
        along = d[b] @ u
        assert torch.allclose(d[b], along[:, None] * u, atol=1e-9)  # one direction throughout
        hz = peak(along, float(fs[b]))
        assert 1.0 - 0.01 <= hz <= 2.0 + 0.01
    amps = d.norm(dim=2).max(dim=1).values
    assert float(amps.min()) < 0.5 * 3.2 < float(amps.max())  # amplitudes are drawn, not fixed


def test_motion_leaves_a_uniform_pulse_video_unchanged_and_zero_amplitude_is_identity():
    from pulsecl_views.augment import MotionAugment

    video = pulse_video(1.3, 30.0, 90, batch=2, size=8)
    moved = MotionAugment(amplitude=0.2)(video, 30.0, torch.Generator().manual_seed(0))
    assert torch.allclose(moved, video, atol=1e-6)  # border padding: the pulse is all there is
    x = torch.rand(2, 3, 16, 8, 8, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(MotionAugment(amplitude=0.0)(x, 30.0), x, atol=1e-6)
    assert not torch.allclose(MotionAugment()(x, 30.0, torch.Generator().manual_seed(0)), x, atol=1e-3)


def test_motion_bad_options_and_inputs_are_named():
    from pulsecl_views.augment import MotionAugment

    with pytest.raises(ConfigError) as e:
        pulsecl.build("augmentations", "motion", amplitude=0.7)
    assert str(e.value) == (
        "motion amplitude = 0.7: give the largest shift as a fraction of the crop side in [0, 0.5] (e.g. 0.06)"
    )
    with pytest.raises(ConfigError) as e:
        MotionAugment(padding="wrap")
    assert str(e.value) == "motion padding = 'wrap': use one of border, reflection, zeros"
    with pytest.raises(SignalError) as e:
        MotionAugment()(torch.zeros(3, 16, 8, 8), 30.0)
    assert str(e.value) == "motion augmentation takes video (B, C, T, H, W), got shape (3, 16, 8, 8)"
    with pytest.raises(SignalError) as e:
        MotionAugment().shift(torch.zeros(1, 3, 4, 8, 8), torch.zeros(1, 5, 2))
    assert str(e.value) == "motion displacement must be (1, 4, 2) for video (1, 3, 4, 8, 8), got (1, 5, 2)"
