"""Each pulsecl_register_<kind> hook fills its own table and no other."""

import pytest

import pulsecl
from pulsecl.plugins import PulseclPluginManager
from pulsecl.registry import KINDS


class OnePerKind:
    """Registers one component in every table, through each register hook by name."""

    @pulsecl.hookimpl
    def pulsecl_register_backbones(self, registry):
        registry.add("t-backbones", lambda scale=1: ("backbones", scale))

    @pulsecl.hookimpl
    def pulsecl_register_view_generators(self, registry):
        registry.add("t-view_generators", lambda scale=1: ("view_generators", scale))

    @pulsecl.hookimpl
    def pulsecl_register_samplers(self, registry):
        registry.add("t-samplers", lambda scale=1: ("samplers", scale))

    @pulsecl.hookimpl
    def pulsecl_register_losses(self, registry):
        registry.add("t-losses", lambda scale=1: ("losses", scale))

    @pulsecl.hookimpl
    def pulsecl_register_negative_banks(self, registry):
        registry.add("t-negative_banks", lambda scale=1: ("negative_banks", scale))

    @pulsecl.hookimpl
    def pulsecl_register_datasets(self, registry):
        registry.add("t-datasets", lambda scale=1: ("datasets", scale))

    @pulsecl.hookimpl
    def pulsecl_register_face_detectors(self, registry):
        registry.add("t-face_detectors", lambda scale=1: ("face_detectors", scale))

    @pulsecl.hookimpl
    def pulsecl_register_classical_methods(self, registry):
        registry.add("t-classical_methods", lambda scale=1: ("classical_methods", scale))

    @pulsecl.hookimpl
    def pulsecl_register_metrics(self, registry):
        registry.add("t-metrics", lambda scale=1: ("metrics", scale))


@pytest.mark.parametrize("kind", KINDS)
def test_each_register_hook_fills_its_own_table(kind):
    pm = PulseclPluginManager()
    pm.load(autoload=False)
    pm.register(OnePerKind(), "one-per-kind")
    assert pm.build(kind, f"t-{kind}", scale=3) == (kind, 3)
    assert pm.plugin_components("one-per-kind")[kind] == [f"t-{kind}"]
    for other in KINDS:
        if other != kind:
            assert f"t-{kind}" not in pm.table(other)
