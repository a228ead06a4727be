"""Every registered backbone, sampler, view generator and loss follows its interface.

Parametrised over the registry, so third-party plugins installed in the environment are
checked too.  Built-ins get small options here to keep the run short; every other
component is built with its defaults.
"""

from __future__ import annotations

import pytest
import torch

import pulsecl
from pulsecl.plugins import get_plugin_manager, reset_plugin_manager
from pulsecl.testing import (
    ConformanceError,
    TinyBackbone,
    check_backbone,
    check_loss,
    check_sampler,
    check_still_clip_is_flat,
    check_view_generator,
)

#: Options that make the built-ins small (defaults otherwise).
SMALL = {
    ("backbones", "physnet"): {"channels": 8},
    ("backbones", "tscan"): {"channels": 8},
    ("backbones", "physformer_lite"): {"channels": 8, "heads": 2},
    ("samplers", "saliency"): {"grid_size": 4},
}


def _names(kind: str) -> list[str]:
    reset_plugin_manager()
    try:
        return get_plugin_manager().components(kind)
    finally:
        reset_plugin_manager()


def _build(kind: str, name: str):
    torch.manual_seed(0)
    return pulsecl.build(kind, name, **SMALL.get((kind, name), {}))


@pytest.mark.parametrize("name", _names("backbones"))
def test_backbone_conforms(name):
    check_backbone(_build("backbones", name))


@pytest.mark.parametrize("name", ["physnet", "tscan", "physformer_lite"])
def test_builtin_backbones_give_a_still_clip_a_flat_output(name):
    torch.manual_seed(0)
    check_still_clip_is_flat(pulsecl.build("backbones", name, **SMALL[("backbones", name)]))


@pytest.mark.parametrize("options", [{"time_padding": "zeros"}, {}])
def test_the_flat_output_check_catches_zero_time_padding(options):
    """PhysFormer-lite with zero padding fails (its attention spreads the clip's ends to
    every token), as does the fixed-wave backbone; with its default it passes."""
    torch.manual_seed(0)
    net = pulsecl.build("backbones", "physformer_lite", channels=8, heads=2, norm="chromatic", **options)
    if options:
        with pytest.raises(ConformanceError, match="a still clip gave an output that moves"):
            check_still_clip_is_flat(net)
    else:
        check_still_clip_is_flat(net)
    from pulsecl.testing import FixedWaveBackbone

    with pytest.raises(ConformanceError, match="depends on where a frame sits"):
        check_still_clip_is_flat(FixedWaveBackbone())


@pytest.mark.parametrize("name", _names("samplers"))
def test_sampler_conforms(name):
    check_sampler(_build("samplers", name))


@pytest.mark.parametrize("kind, name", [(k, n) for k in ("proxy_tasks", "view_windows", "augmentations") for n in _names(k)])
def test_view_stage_components_conform(kind, name):
    check_view_generator(_build(kind, name), TinyBackbone())


def test_cropping_proxy_conforms():
    check_view_generator(pulsecl.build("proxy_tasks", "frequency", crop_negatives=True), TinyBackbone())


@pytest.mark.parametrize("name", _names("losses"))
def test_loss_conforms(name):
    check_loss(_build("losses", name))


def test_the_builtins_are_all_covered():
    assert {"physnet", "tscan", "physformer_lite"} <= set(_names("backbones"))
    assert {"identity", "saliency"} <= set(_names("samplers"))
    assert "frequency" in _names("proxy_tasks") and "windows" in _names("view_windows")
    assert "motion" in _names("augmentations")
    assert {"mvtl", "ipr", "neg_mcc", "neg_snr", "neg_pearson", "bandwidth", "sparsity", "variance"} <= set(
        _names("losses")
    )


# -- the checks themselves fail on broken components --------------------------------------


class _WrongLength(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(()))

    def forward(self, x):
        return self.w * x.mean(dim=(1, 3, 4))[:, ::2]  # (B, T/2): wrong


class _Detached(torch.nn.Module):
    requires = ("signal",)

    def forward(self, inputs):
        return inputs["signal"].detach().square().mean()  # no gradient


class _NaNLoss(torch.nn.Module):
    requires = ("signal", "fs")

    def forward(self, inputs):
        return inputs["signal"].mean() * float("nan")


class _Shrinker(torch.nn.Module):
    last_saliency = None

    def forward(self, x):
        return x[:, :, :, :-1]

    def regularization(self):
        return torch.zeros(())


class _NoStage:
    def __call__(self, *args, **kwargs):
        return {}


@pytest.mark.parametrize(
    "check, component, message",
    [
        (check_backbone, _WrongLength(), "expected (2, 32)"),
        (check_loss, _Detached(), "non-zero gradient"),
        (check_loss, _NaNLoss(), "non-finite"),
        (check_sampler, _Shrinker(), "same shape"),
        (check_view_generator, _NoStage(), "stage"),
    ],
)
def test_checks_reject_broken_components(check, component, message):
    with pytest.raises(ConformanceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check(component)


def test_third_party_components_are_checked_too(make_dist):
    """A component from an installed distribution shows up in the parametrised lists."""
    make_dist(
        "pulsecl-tp",
        "1.0",
        {"tp": "pulsecl_tp_plugin"},
        {
            "pulsecl_tp_plugin": """
                from pulsecl import hookimpl
                from pulsecl.registry import lazy

                @hookimpl
                def pulsecl_register_losses(registry):
                    registry.add("tp_smooth", lazy("pulsecl_tp_models:Smooth"))
            """,
            "pulsecl_tp_models": """
                import torch

                class Smooth(torch.nn.Module):
                    requires = ("signal",)

                    def forward(self, inputs):
                        y = inputs["signal"]
                        return (y[:, 1:] - y[:, :-1]).square().mean()
            """,
        },
    )
    assert "tp_smooth" in _names("losses")
    reset_plugin_manager()
    check_loss(pulsecl.build("losses", "tp_smooth"))


def test_paper_preset_builds_the_papers_components():
    """`paper` preset: PhysNet 64 ch z-scored (0.86 M), one factor per batch in
    [1.25, 1.5] with padded negatives, V = 4 windows of T/2, MVTL alone with MSE."""
    from pulsecl.config import load_config
    from pulsecl_losses import combine

    config = load_config("paper")
    backbone = pulsecl.build("backbones", config.model.backbone, **config.model.options)
    assert 0.85e6 < sum(p.numel() for p in backbone.parameters()) < 0.87e6
    assert backbone.norm.kind == "zscore"
    proxy = pulsecl.build("proxy_tasks", config.views.proxy, **config.views.proxy_options)
    assert proxy.factor_range == (1.25, 1.5)
    assert (proxy.per_sample, proxy.pad_negatives, proxy.antialias) == (False, True, False)
    windows = pulsecl.build("view_windows", config.views.windows, **config.views.windows_options)
    assert windows.n_views == 4 and windows.window_frames == config.data.clip_frames // 2 == 150
    loss = combine(config.loss.weights, config.loss.options)
    assert list(loss.terms) == ["mvtl"] and loss.terms["mvtl"].distance == "mse"
    assert loss.terms["mvtl"].pad_factor == 1.0
    assert (config.train.lr, config.train.batch_size, config.preprocess.size) == (4e-5, 4, 64)
    assert config.bank.size == 0
