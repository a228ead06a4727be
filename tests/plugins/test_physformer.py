"""The physformer_lite backbone: size, any clip length and frame size, the
central-difference convolution, training vs evaluation, the inference routes (optimised,
TorchScript, ONNX) and a known answer after a short supervised fit."""

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
from pulsecl_physformer.model import MIN_FRAMES, CDConv1d

SMALL = {"channels": 8, "heads": 2}


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_a_few_hundred_thousand_parameters_at_the_default_width():
    assert 0.25e6 < n_params(pulsecl.build("backbones", "physformer_lite")) < 0.30e6  # channels 64
    assert 0.06e6 < n_params(pulsecl.build("backbones", "physformer_lite", channels=32)) < 0.08e6
    assert n_params(pulsecl.build("backbones", "physformer_lite", layers=2)) < 0.2e6


def test_builds_from_the_default_and_paper_model_options():
    """`pulsecl train --set model.backbone=physformer_lite` passes the default's options
    (channels 32, chromatic norm); the paper preset's (64, zscore, dropout 0) work too."""
    for options in (Config().model.options, load_config("paper").model.options):
        net = pulsecl.build("backbones", "physformer_lite", **options)
        assert net(video((1, 3, 20, 16, 16))).shape == (1, 20)


@pytest.mark.parametrize("t, h, w", [(MIN_FRAMES, 8, 8), (17, 8, 8), (33, 9, 11), (40, 1, 1), (61, 20, 16), (301, 8, 8)])
def test_any_length_and_frame_size_gives_b_by_t(t, h, w):
    net = pulsecl.build("backbones", "physformer_lite", **SMALL)
    assert net(torch.rand(2, 3, t, h, w)).shape == (2, t)


def test_conforms_and_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    net = pulsecl.build("backbones", "physformer_lite", **SMALL)
    check_backbone(net)
    net.zero_grad(set_to_none=True)
    net(video((2, 3, 23, 16, 16))).square().mean().backward()  # 2x2 positions for the spatial softmax
    unused = [k for k, p in net.named_parameters() if p.grad is None or not bool((p.grad != 0).any())]
    assert unused == []  # DDP needs no find_unused_parameters


def test_central_difference_conv_against_a_hand_computation():
    """y(t) = sum_k w_k x(t+k) - theta * (w_-1 + w_+1) x(t), zero padding at the ends."""
    torch.manual_seed(0)
    conv = CDConv1d(1, 1, theta=0.7)
    w = conv.conv.weight.detach()[0, 0]  # (3,): taps at t-1, t, t+1
    x = torch.randn(1, 1, 9)
    padded = torch.nn.functional.pad(x[0, 0], (1, 1))
    want = torch.stack([
        w[0] * padded[t] + w[1] * padded[t + 1] + w[2] * padded[t + 2] - 0.7 * (w[0] + w[2]) * x[0, 0, t]
        for t in range(9)
    ])
    torch.testing.assert_close(conv(x)[0, 0], want, rtol=1e-5, atol=1e-6)
    # theta = 1: a constant input meets only the centre tap (away from the padded ends)
    full = CDConv1d(1, 1, theta=1.0)
    full.load_state_dict(conv.state_dict())
    torch.testing.assert_close(full(torch.ones(1, 1, 9))[0, 0, 1:-1], w[1].expand(7), rtol=1e-5, atol=1e-6)


def test_training_and_evaluation_compute_the_same_without_dropout():
    """No BatchNorm: eval mode changes nothing but dropout."""
    torch.manual_seed(0)
    net = pulsecl.build("backbones", "physformer_lite", **SMALL)
    x = video((2, 3, 24, 8, 8))
    with torch.no_grad():
        assert torch.equal(net.train()(x), net.eval()(x))
    net = pulsecl.build("backbones", "physformer_lite", **SMALL, dropout=0.5)
    with torch.no_grad():
        assert not torch.equal(net.train()(x), net.train()(x))
        assert torch.equal(net.eval()(x), net.eval()(x))


def test_each_clip_is_computed_on_its_own():
    torch.manual_seed(0)
    net = pulsecl.build("backbones", "physformer_lite", **SMALL).eval()
    x = video((3, 3, 25, 8, 8))
    with torch.no_grad():
        whole = net(x)
        alone = torch.cat([net(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(whole, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"channels": 30}, "multiple of 4 and of heads"),
        ({"channels": 32, "heads": 3}, "multiple of 4 and of heads = 3"),
        ({"layers": 0}, "layers"),
        ({"norm": "minmax"}, "zscore, temporal, chromatic, none"),
        ({"theta": 1.5}, "theta"),
        ({"dropout": 1.0}, "probability"),
        ({"chanels": 8}, "did you mean 'channels'"),
    ],
)
def test_bad_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        pulsecl.build("backbones", "physformer_lite", **options)


def test_too_short_clip_and_wrong_shape_are_signal_errors():
    net = pulsecl.build("backbones", "physformer_lite", **SMALL)
    with pytest.raises(SignalError, match="at least 4 frames"):
        net(torch.rand(1, 3, 3, 8, 8))
    with pytest.raises(SignalError, match=r"\(B, 3, T, H, W\)"):
        net(torch.rand(1, 1, 8, 8, 8))


def test_optimised_for_inference_gives_the_same_output():
    torch.manual_seed(0)
    check_optimised_matches(pulsecl.build("backbones", "physformer_lite", **SMALL), [(1, 3, 48, 16, 16), (2, 3, 31, 16, 16)])


def test_exports_give_the_same_output_at_any_length(tmp_path):
    """Traced on 48 frames; run on the traced length, a longer odd one and a short one,
    at batch sizes 1 and 3 (no positional embedding: nothing is tied to 48 tokens)."""
    ck = write_checkpoint(tmp_path / "ck.pt", "physformer_lite", SMALL)
    check_exports_match(ck, tmp_path, [(1, 3, 48, 16, 16), (3, 3, 101, 16, 16), (1, 3, 7, 16, 16)])


def test_a_short_supervised_fit_finds_a_known_heart_rate():
    """Fit on clips with a green sinusoid of 48-132 bpm at 30 fps (60 steps), then read
    84 bpm off held-out 10-s clips (longer than the 64-frame training clips) at new
    phases, at 30 and at 20 fps."""
    torch.manual_seed(0)
    net = pulsecl.build("backbones", "physformer_lite", channels=16)
    net, loss = supervised_fit(net, steps=60)
    assert loss < 0.3
    for fs in (30.0, 20.0):
        hr = held_out_heart_rates(net, 1.4, fs)
        assert abs(hr - 84.0).max() < 3.0, (fs, hr)
