"""Every built-in component satisfies the typed contract of its kind (pulsecl.protocols),
and an object that lacks a method does not."""

from __future__ import annotations

import pytest

import pulsecl
from pulsecl import protocols


def _built(kind, name, **options):
    return pulsecl.build(kind, name, **options)


@pytest.mark.parametrize("kind, protocol", [
    ("backbones", protocols.Backbone),
    ("samplers", protocols.Sampler),
    ("losses", protocols.Loss),
    ("classical_methods", protocols.ClassicalMethod),
    ("negative_banks", protocols.NegativeBank),
    ("face_detectors", protocols.FaceDetector),
])
def test_every_built_in_component_follows_its_protocol(kind, protocol):
    names = pulsecl.components(kind)
    assert names
    for name in names:
        assert isinstance(_built(kind, name), protocol), (kind, name)


def test_heart_rate_metrics_follow_their_protocol():
    hr = [n for n in pulsecl.components("metrics") if _built("metrics", n).inputs == ("pred_hr", "ref_hr")]
    assert set(hr) == {"bland_altman", "mae", "mape", "pearson", "rmse", "within"}
    assert all(isinstance(_built("metrics", n), protocols.HeartRateMetric) for n in hr)


def test_extractors_and_presets_follow_their_protocols():
    from pulsecl.extractors import TracePulse
    from pulsecl.signal.presets import get_preset, presets

    assert isinstance(TracePulse("pos"), protocols.Extractor)
    assert all(isinstance(get_preset(p), protocols.Preset) for p in presets())


def test_an_object_without_the_method_is_not_a_component():
    class NoDetect:
        def find(self, frame):
            return None

    assert not isinstance(NoDetect(), protocols.FaceDetector)
    assert not isinstance(object(), protocols.Preset)


@pytest.mark.parametrize("kind, protocol", [
    ("proxy_tasks", protocols.ProxyTask),
    ("view_windows", protocols.ViewWindows),
    ("augmentations", protocols.Augmentation),
])
def test_view_stage_components_follow_their_protocols(kind, protocol):
    names = pulsecl.components(kind)
    assert names and all(isinstance(_built(kind, n), protocol) for n in names)
