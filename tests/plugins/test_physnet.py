"""The physnet backbone: size, any clip length and frame size, input normalisations."""

from __future__ import annotations

import pytest
import torch

import pulsecl
from pulsecl.errors import ConfigError, SignalError
from pulsecl_physnet.model import InputNorm


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_paper_size_is_about_0_86_million_parameters():
    model = pulsecl.build("backbones", "physnet", channels=64)
    assert 0.85e6 < n_params(model) < 0.87e6


def test_parameters_grow_with_channels():
    assert n_params(pulsecl.build("backbones", "physnet", channels=8)) < n_params(
        pulsecl.build("backbones", "physnet", channels=16)
    )


@pytest.mark.parametrize("t, h, w", [(4, 8, 8), (17, 8, 8), (33, 9, 11), (40, 1, 1), (64, 20, 16)])
def test_any_length_and_frame_size_gives_b_by_t(t, h, w):
    model = pulsecl.build("backbones", "physnet", channels=4)
    assert model(torch.rand(2, 3, t, h, w)).shape == (2, t)


def test_fully_convolutional_in_time():
    """In eval mode an output sample depends on nearby frames only (receptive field about
    +-30 frames): changing the last 32 frames of a 128-frame clip leaves the first 64
    outputs unchanged and changes the last ones."""
    torch.manual_seed(0)
    model = pulsecl.build("backbones", "physnet", channels=4, norm="none")
    x = torch.rand(1, 3, 128, 8, 8)
    y = x.clone()
    y[:, :, 96:] = torch.rand(1, 3, 32, 8, 8)
    for m in model.modules():  # running statistics = this clip's, so eval mode is not flat
        if isinstance(m, torch.nn.BatchNorm3d):
            m.momentum = None
    with torch.no_grad():
        model(x)
    model.eval()
    with torch.no_grad():
        a, b = model(x), model(y)
    assert torch.allclose(a[:, :64], b[:, :64], atol=1e-6)
    assert (a[:, 96:] - b[:, 96:]).abs().max() > 1e-2


def test_zscore_norm_is_per_clip():
    x = torch.rand(2, 3, 8, 4, 4) * torch.tensor([1.0, 3.0]).view(2, 1, 1, 1, 1)
    z = InputNorm("zscore")(x)
    for b in range(2):
        assert float(z[b].mean()) == pytest.approx(0.0, abs=1e-5)
        assert float(z[b].std()) == pytest.approx(1.0, abs=1e-2)


def test_temporal_norm_is_relative_change_per_pixel():
    x = torch.full((1, 3, 4, 2, 2), 0.5)
    x[0, 1, :, 0, 0] = torch.tensor([0.4, 0.6, 0.4, 0.6])  # mean 0.5, +-20 %
    z = InputNorm("temporal")(x)
    assert torch.allclose(z[0, 1, :, 0, 0], torch.tensor([-0.2, 0.2, -0.2, 0.2]), atol=1e-6)
    assert torch.allclose(z[0, 0], torch.zeros(4, 2, 2))


def test_temporal_norm_ignores_each_pixels_brightness():
    """Scaling a pixel's brightness by a constant does not change what the network sees."""
    x = torch.rand(1, 3, 6, 4, 4) * 0.5 + 0.25
    gain = torch.rand(1, 3, 1, 4, 4) + 0.5
    norm = InputNorm("temporal")
    assert torch.allclose(norm(x), norm(x * gain), atol=1e-5)


def test_dropout_is_random_in_training_only():
    torch.manual_seed(0)
    model = pulsecl.build("backbones", "physnet", channels=4, dropout=0.5)
    x = torch.rand(2, 3, 8, 8, 8)
    with torch.no_grad():
        model.train()
        assert not torch.equal(model(x), model(x))
        model.eval()
        assert torch.equal(model(x), model(x))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"channels": 7}, "even integer"),
        ({"norm": "minmax"}, "zscore, temporal, chromatic, none"),
        ({"dropout": 1.0}, "probability"),
        ({"chanels": 8}, "did you mean 'channels'"),
    ],
)
def test_bad_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        pulsecl.build("backbones", "physnet", **options)


def test_too_short_clip_and_wrong_shape_are_signal_errors():
    model = pulsecl.build("backbones", "physnet", channels=4)
    with pytest.raises(SignalError, match="at least 4 frames"):
        model(torch.rand(1, 3, 3, 8, 8))
    with pytest.raises(SignalError, match=r"\(B, 3, T, H, W\)"):
        model(torch.rand(1, 1, 8, 8, 8))


def test_chromatic_norm_cancels_brightness_changes_but_keeps_colour_changes():
    import torch

    from pulsecl_physnet.model import InputNorm

    torch.manual_seed(0)
    x = 0.3 + 0.4 * torch.rand(2, 3, 16, 4, 4)
    t = torch.arange(16.0)
    shade = (1 + 0.2 * torch.sin(t))[None, None, :, None, None]  # brightness, all channels
    norm = InputNorm("chromatic")
    torch.testing.assert_close(norm(x * shade), norm(x), rtol=1e-5, atol=1e-6)
    pulse = torch.zeros(1, 3, 16, 1, 1)
    pulse[0, 1, :, 0, 0] = 0.01 * torch.sin(2 * t)  # green only: a colour change
    assert (norm(x * (1 + pulse)) - norm(x)).abs().max() > 1e-3


def _settled(model, x):
    """Eval mode with running statistics set from ``x`` (so that eval mode is not flat)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            m.momentum = None
    with torch.no_grad():
        model(x)
    return model.eval()


@pytest.mark.parametrize("norm", ["chromatic", "none"])
def test_replicate_time_padding_gives_a_still_clip_a_flat_output(norm):
    """The collapse of issue 12: with zero padding in time the clip's ends tell the network
    where each frame sits, so a clip that never changes still gets a wave; with the
    default replicate padding it gets a flat line (every wave comes from the input)."""
    torch.manual_seed(0)
    x = torch.rand(2, 3, 96, 8, 8)
    still = x[:1, :, :1].expand(1, 3, 96, 8, 8).contiguous()  # one frame, held
    spread = {}
    for padding in ("zeros", "replicate"):
        torch.manual_seed(1)
        model = _settled(pulsecl.build("backbones", "physnet", channels=8, norm=norm, time_padding=padding), x)
        with torch.no_grad():
            y, scale = model(still)[0], float(model(x).std())
        spread[padding] = float(y.max() - y.min()) / scale
    assert spread["replicate"] < 1e-5
    assert spread["zeros"] > 1e-2


def test_time_padding_default_and_bad_value():
    assert pulsecl.build("backbones", "physnet", channels=4).time_padding == "replicate"
    with pytest.raises(ConfigError, match="time_padding = 'reflect': use one of zeros, replicate"):
        pulsecl.build("backbones", "physnet", channels=4, time_padding="reflect")
