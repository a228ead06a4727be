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
    def pulsecl_register_proxy_tasks(self, registry):
        registry.add("t-proxy_tasks", lambda scale=1: ("proxy_tasks", scale))

    @pulsecl.hookimpl
    def pulsecl_register_view_windows(self, registry):
        registry.add("t-view_windows", lambda scale=1: ("view_windows", scale))

    @pulsecl.hookimpl
    def pulsecl_register_augmentations(self, registry):
        registry.add("t-augmentations", lambda scale=1: ("augmentations", scale))

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


class _OldStyleViews:
    """A plugin of pulsecl 0.1: its view generators come through the deprecated hook."""

    class Proxy:
        stage = "proxy"

    class Windows:
        stage = "views"

    class Shake:
        stage = "augment"

    class NoStage:
        pass

    def __init__(self, with_bad: bool = False):
        self.with_bad = with_bad

    @pulsecl.hookimpl
    def pulsecl_register_view_generators(self, registry):
        registry.add("old-proxy", self.Proxy)
        registry.add("old-windows", self.Windows)
        registry.add("old-shake", self.Shake)
        if self.with_bad:
            registry.add("old-unstaged", self.NoStage)


def test_the_deprecated_view_generators_hook_still_fills_the_stage_tables():
    pm = PulseclPluginManager()
    pm.load(autoload=False)
    pm.register(_OldStyleViews(), "old-views")
    with pytest.warns(DeprecationWarning, match="plugin 'old-views' registers view generators with pulsecl_register_view_generators, which is deprecated"):
        tables = pm.tables()
    assert "old-proxy" in tables["proxy_tasks"] and "old-windows" in tables["view_windows"]
    assert "old-shake" in tables["augmentations"] and "old-shake" not in tables["proxy_tasks"]
    assert pm.plugin_components("old-views") == {
        "proxy_tasks": ["old-proxy"], "view_windows": ["old-windows"], "augmentations": ["old-shake"]}
    with pytest.warns(DeprecationWarning, match="the component kind 'view_generators' is deprecated"):
        old = pm.components("view_generators")  # the old kind name: the three stages together
    assert {"frequency", "windows", "motion", "old-proxy", "old-windows", "old-shake"} <= set(old)


def test_a_deprecated_view_generator_without_a_stage_is_an_error_naming_it():
    from pulsecl.errors import PluginValidationError

    pm = PulseclPluginManager()
    pm.load(autoload=False)
    pm.register(_OldStyleViews(with_bad=True), "old-views")
    with pytest.warns(DeprecationWarning), pytest.raises(
        PluginValidationError, match="plugin 'old-views': view generator 'old-unstaged' declares stage None"
    ):
        pm.tables()
