"""The tscan backbone: shapes for any clip length and frame size, the temporal shift,
the integrated output, training vs evaluation, the inference routes (optimised, TorchScript,
ONNX) and a known answer after a short supervised fit."""

from __future__ import annotations

import pytest
import torch

import pulsecl
from backbone_helpers import (
    check_exports_match,
    check_optimised_matches,
    held_out_heart_rates,
    one_thread,
    supervised_fit,
    video,
    write_checkpoint,
)
from pulsecl.config import Config, load_config
from pulsecl.errors import ConfigError, SignalError
from pulsecl.testing import check_backbone
from pulsecl_tscan.model import MIN_FRAMES, TemporalShift, integrate, segment_means, shift_traceable

ATTENTIONS = ["appearance", "self"]


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_published_size_and_the_small_default():
    """channels=64 has TS-CAN's 32 and 64 filters: about 0.14 M parameters (its dense
    layer over a flattened 36x36 map adds 0.4 M more; here the head is 64 -> 128 -> 1)."""
    assert 0.13e6 < n_params(pulsecl.build("backbones", "tscan", channels=64)) < 0.15e6
    assert n_params(pulsecl.build("backbones", "tscan", channels=64, attention="self")) < 0.08e6
    assert n_params(pulsecl.build("backbones", "tscan", channels=32)) < 0.04e6


def test_builds_from_the_default_and_paper_model_options():
    """`pulsecl train --set model.backbone=tscan` passes the default's options
    (channels 32, chromatic norm). The paper preset's are PhysNet's, zero time padding
    included, which TS-CAN (no temporal convolution to pad) does not take: a one-line
    config error naming the option."""
    net = pulsecl.build("backbones", "tscan", **Config().model.options)
    assert net(video((1, 3, 20, 16, 16))).shape == (1, 20)
    paper = dict(load_config("paper").model.options)
    with pytest.raises(pulsecl.ConfigError, match="backbones 'tscan' has no option 'time_padding'"):
        pulsecl.build("backbones", "tscan", **paper)
    paper.pop("time_padding")
    assert pulsecl.build("backbones", "tscan", **paper)(video((1, 3, 20, 16, 16))).shape == (1, 20)


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("t, h, w", [(MIN_FRAMES, 8, 8), (17, 8, 8), (33, 9, 11), (40, 1, 1), (61, 20, 16)])
def test_any_length_and_frame_size_gives_b_by_t(attention, t, h, w):
    net = pulsecl.build("backbones", "tscan", channels=4, attention=attention)
    assert net(torch.rand(2, 3, t, h, w)).shape == (2, t)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_conforms_and_every_parameter_gets_a_gradient(attention):
    torch.manual_seed(0)
    net = pulsecl.build("backbones", "tscan", channels=8, attention=attention)
    check_backbone(net)
    net.zero_grad(set_to_none=True)
    net(video((2, 3, 23, 8, 8))).square().mean().backward()
    unused = [k for k, p in net.named_parameters() if p.grad is None or not bool((p.grad != 0).any())]
    assert unused == []  # DDP needs no find_unused_parameters


def test_temporal_shift_moves_channel_thirds_one_frame_within_each_clip():
    b, t, c = 2, 5, 6
    x = torch.arange(b * t * c, dtype=torch.float32).view(b * t, c, 1, 1) + 1  # frame (i, s) = row i*t+s
    y = TemporalShift()(x, t).view(b, t, c)
    v = x.view(b, t, c)
    for i in range(b):
        for s in range(t):
            future = v[i, s + 1, :2] if s + 1 < t else torch.zeros(2)  # no wrap, nothing from clip i+1
            past = v[i, s - 1, 2:4] if s > 0 else torch.zeros(2)
            assert torch.equal(y[i, s, :2], future)
            assert torch.equal(y[i, s, 2:4], past)
            assert torch.equal(y[i, s, 4:], v[i, s, 4:])


def test_the_fast_shift_and_the_traceable_one_agree_forward_and_backward():
    """The shift's own backward (the opposite shift) gives autograd's gradient of the
    traceable version, for contiguous and channels-last input."""
    torch.manual_seed(0)
    for layout in (torch.contiguous_format, torch.channels_last):
        x = torch.randn(3 * 7, 10, 4, 5).contiguous(memory_format=layout)
        a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        ya, yb = TemporalShift()(a, 7), shift_traceable(b, 7, 10 // 3)
        assert torch.equal(ya, yb)
        w = torch.randn_like(ya)
        (ya * w).sum().backward()
        (yb * w).sum().backward()
        assert torch.equal(a.grad, b.grad)


def test_integrate_gives_back_the_differences_and_a_sine_from_its_derivative():
    torch.manual_seed(0)
    d = torch.randn(3, 40)
    y = integrate(d)
    assert y.shape == (3, 41)
    torch.testing.assert_close(y.mean(dim=1), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.diff(y, dim=1), d - d.mean(dim=1, keepdim=True), atol=1e-5, rtol=1e-5)
    t = torch.arange(301) / 30.0
    pulse = torch.sin(2 * torch.pi * 1.5 * t)  # 10 s, 15 whole periods: the differences have mean 0
    back = integrate(torch.diff(pulse)[None])[0]
    torch.testing.assert_close(back, pulse - pulse.mean(), atol=1e-4, rtol=0)


def test_without_integration_the_output_is_the_difference():
    torch.manual_seed(0)
    net = pulsecl.build("backbones", "tscan", channels=4, integrate=False).eval()
    pulse_net = pulsecl.build("backbones", "tscan", channels=4)
    pulse_net.load_state_dict({k: v for k, v in net.state_dict().items() if k != "out.bias"})  # it cancels
    x = video((2, 3, 30, 8, 8))
    with torch.no_grad():
        d, y = net(x), pulse_net.eval()(x)
    assert torch.equal(d[:, 0], torch.zeros(2))
    torch.testing.assert_close(torch.diff(y, dim=1), d[:, 1:] - d[:, 1:].mean(dim=1, keepdim=True), atol=1e-5, rtol=1e-4)


def test_segment_means_average_each_run_of_frames():
    x = torch.rand(2, 3, 23, 4, 5)
    m = segment_means(x, 10)
    assert m.shape == (2, 3, 3, 4, 5)
    for k, (a, b) in enumerate([(0, 10), (10, 20), (20, 23)]):
        torch.testing.assert_close(m[:, :, k], x[:, :, a:b].mean(dim=2))
    torch.testing.assert_close(segment_means(x[:, :, :6], 10)[:, :, 0], x[:, :, :6].mean(dim=2))


def test_training_and_evaluation_compute_the_same_without_dropout():
    """No BatchNorm: eval mode changes nothing but dropout."""
    torch.manual_seed(0)
    net = pulsecl.build("backbones", "tscan", channels=4)
    x = video((2, 3, 24, 8, 8))
    with torch.no_grad():
        a = net.train()(x)
        b = net.eval()(x)
    assert torch.equal(a, b)
    net = pulsecl.build("backbones", "tscan", channels=4, dropout=0.5)
    with torch.no_grad():
        assert not torch.equal(net.train()(x), net.train()(x))
        assert torch.equal(net.eval()(x), net.eval()(x))


def test_each_clip_is_computed_on_its_own():
    """Nothing crosses from one clip of a batch to another (the shift stops at clip ends)."""
    torch.manual_seed(0)
    net = pulsecl.build("backbones", "tscan", channels=4).eval()
    x = video((3, 3, 25, 8, 8))
    with torch.no_grad():
        whole = net(x)
        alone = torch.cat([net(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(whole, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"channels": 7}, "even integer"),
        ({"norm": "minmax"}, "zscore, temporal, chromatic, none"),
        ({"attention": "spatial"}, "appearance, self"),
        ({"segment_frames": 0}, "segment_frames"),
        ({"dropout": 1.0}, "probability"),
        ({"chanels": 8}, "did you mean 'channels'"),
    ],
)
def test_bad_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        pulsecl.build("backbones", "tscan", **options)


def test_too_short_clip_and_wrong_shape_are_signal_errors():
    net = pulsecl.build("backbones", "tscan", channels=4)
    with pytest.raises(SignalError, match="at least 4 frames"):
        net(torch.rand(1, 3, 3, 8, 8))
    with pytest.raises(SignalError, match=r"\(B, 3, T, H, W\)"):
        net(torch.rand(1, 1, 8, 8, 8))


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_optimised_for_inference_gives_the_same_output(attention):
    torch.manual_seed(0)
    net = pulsecl.build("backbones", "tscan", channels=8, attention=attention)
    check_optimised_matches(net, [(1, 3, 48, 16, 16), (2, 3, 31, 16, 16)])


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_exports_give_the_same_output_at_any_length(attention, tmp_path):
    """Traced on 48 frames; run on the traced length, a longer odd one and one shorter
    than an appearance segment, at batch sizes 1 and 3."""
    ck = write_checkpoint(tmp_path / "ck.pt", "tscan", {"channels": 8, "attention": attention})
    check_exports_match(ck, tmp_path, [(1, 3, 48, 16, 16), (3, 3, 101, 16, 16), (1, 3, 7, 16, 16)])


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_a_short_supervised_fit_finds_a_known_heart_rate(attention):
    """Fit on clips with a green sinusoid of 48-132 bpm at 30 fps (120 steps, a few
    seconds), then read 84 bpm off held-out clips at new phases, at 30 and at 20 fps."""
    torch.manual_seed(0)
    net = pulsecl.build("backbones", "tscan", channels=8, attention=attention)
    net, loss = supervised_fit(net, steps=120)
    assert loss < 0.3
    for fs in (30.0, 20.0):
        hr = held_out_heart_rates(net, 1.4, fs)
        assert abs(hr - 84.0).max() < 3.0, (fs, hr)
