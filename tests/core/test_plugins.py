"""The plugin manager: built-ins, entry points, disabling, and every plugin error."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import pulsecl
from pulsecl.errors import (
    DuplicateComponentError,
    PluginLoadError,
    PluginValidationError,
)
from pulsecl.plugins import BUILTIN_PLUGINS, PulseclPluginManager, reset_plugin_manager

ROOT = Path(__file__).resolve().parents[2]


def test_builtin_list_equals_pyproject_entry_points():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = project["project"]["entry-points"]["pulsecl"]
    assert declared == BUILTIN_PLUGINS


def test_builtins_load_from_a_plain_source_checkout():
    """With no installed metadata at all, the built-ins still load from framework/ and
    plugins/ on sys.path."""
    code = (
        "import importlib.metadata as md, sys\n"
        "md.entry_points = lambda **kw: []\n"
        f"sys.path[:0] = [{str(ROOT / 'framework')!r}, {str(ROOT / 'plugins')!r}]\n"
        "import pulsecl\n"
        "from pulsecl.plugins import get_plugin_manager, BUILTIN_PLUGINS\n"
        "pm = get_plugin_manager()\n"
        "assert pulsecl.__file__.startswith(" + repr(str(ROOT / "framework")) + "), pulsecl.__file__\n"
        "assert sorted(pm.info) == sorted(BUILTIN_PLUGINS), sorted(pm.info)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_all_builtins_registered_with_provenance():
    pm = PulseclPluginManager()
    pm.load(autoload=False)
    assert set(BUILTIN_PLUGINS) <= set(pm.info)
    info = pm.info["physnet"]
    assert (info.distribution, info.version, info.builtin) == ("pulsecl", pulsecl.__version__, True)
    assert info.entry_point == "physnet = pulsecl_physnet"


def test_disable_by_environment_variable(monkeypatch):
    monkeypatch.setenv("PULSECL_DISABLE_PLUGINS", "physnet, bank")
    pm = PulseclPluginManager()
    pm.load()
    assert "physnet" not in pm.info and "bank" not in pm.info
    assert "losses" in pm.info
    assert pm.is_blocked("physnet")


def test_disable_by_argument():
    pm = PulseclPluginManager()
    pm.load(disabled=["haar"])
    assert "haar" not in pm.info


GOOD = """
from pulsecl import hookimpl

@hookimpl
def pulsecl_register_backbones(registry):
    registry.add("third-party-net", dict, description="a dict, for the test")
"""


def test_third_party_entry_point_is_loaded_with_its_distribution(make_dist):
    make_dist("acme-rppg", "0.4.1", {"acme": "acme_plugin"}, {"acme_plugin": GOOD})
    pm = PulseclPluginManager()
    pm.load()
    info = pm.info["acme"]
    assert (info.distribution, info.version, info.builtin) == ("acme-rppg", "0.4.1", False)
    assert info.entry_point == "acme = acme_plugin"
    assert pm.plugin_components("acme") == {"backbones": ["third-party-net"]}
    assert pm.build("backbones", "third-party-net", a=1) == {"a": 1}


def test_autoload_off_skips_third_party(make_dist, monkeypatch):
    make_dist("acme-rppg", "0.4.1", {"acme": "acme_plugin"}, {"acme_plugin": GOOD})
    monkeypatch.setenv("PULSECL_DISABLE_PLUGIN_AUTOLOAD", "1")
    pm = PulseclPluginManager()
    pm.load()
    assert "acme" not in pm.info
    assert "physnet" in pm.info


def test_every_broken_plugin_is_reported(make_dist):
    make_dist(
        "broken-one", "1.0", {"one": "broken_one"}, {"broken_one": "import not_a_module_xyz\n"}
    )
    make_dist(
        "broken-two", "2.5", {"two": "broken_two"}, {"broken_two": "raise RuntimeError('boom')\n"}
    )
    make_dist("acme-rppg", "0.4.1", {"acme": "acme_plugin"}, {"acme_plugin": GOOD})
    expected = [
        "error importing plugin 'one' (distribution broken-one 1.0, entry point "
        "'one = broken_one'): ModuleNotFoundError: No module named 'not_a_module_xyz'; "
        "disable it with PULSECL_DISABLE_PLUGINS=one or pulsecl --disable-plugin one",
        "error importing plugin 'two' (distribution broken-two 2.5, entry point "
        "'two = broken_two'): RuntimeError: boom; "
        "disable it with PULSECL_DISABLE_PLUGINS=two or pulsecl --disable-plugin two",
    ]
    pm = PulseclPluginManager()
    with pytest.raises(PluginLoadError) as err:
        pm.load(strict=True)
    assert sorted(err.value.errors) == expected
    # the healthy plugin was still loaded
    assert "acme" in pm.info


def test_broken_plugins_are_left_out_with_one_warning_each_and_the_rest_works(make_dist, caplog):
    """Issue 30, case 4: by default a broken plugin no longer stops the tool."""
    make_dist("broken-one", "1.0", {"one": "broken_one"}, {"broken_one": "import not_a_module_xyz\n"})
    make_dist("broken-two", "2.5", {"two": "broken_two"}, {"broken_two": "raise RuntimeError('boom\\nsecond line')\n"})
    make_dist("acme-rppg", "0.4.1", {"acme": "acme_plugin"}, {"acme_plugin": GOOD})
    pm = PulseclPluginManager()
    with caplog.at_level("WARNING", logger="pulsecl"):
        pm.load()
    assert sorted(r.getMessage() for r in caplog.records) == [
        "error importing plugin 'one' (distribution broken-one 1.0, entry point "
        "'one = broken_one'): ModuleNotFoundError: No module named 'not_a_module_xyz'; "
        "disable it with PULSECL_DISABLE_PLUGINS=one or pulsecl --disable-plugin one",
        "error importing plugin 'two' (distribution broken-two 2.5, entry point "
        "'two = broken_two'): RuntimeError: boom second line; "  # one line, whatever the plugin raised
        "disable it with PULSECL_DISABLE_PLUGINS=two or pulsecl --disable-plugin two",
    ]
    assert sorted(pm.broken) == ["one", "two"] and "one" not in pm.info
    assert (pm.broken["two"].distribution, pm.broken["two"].version, pm.broken["two"].entry_point) == (
        "broken-two", "2.5", "two = broken_two")
    assert pm.build("backbones", "third-party-net", a=1) == {"a": 1}
    with pytest.raises(pulsecl.UnknownComponentError) as err:
        pm.build("backbones", "two-net")
    assert str(err.value).endswith(
        "; plugin 'one' (broken-one 1.0) failed to load (ModuleNotFoundError: No module named 'not_a_module_xyz') "
        "and plugin 'two' (broken-two 2.5) failed to load (RuntimeError: boom second line), and may provide it"
    )


def test_broken_plugin_can_be_disabled(make_dist, monkeypatch):
    make_dist("broken-one", "1.0", {"one": "broken_one"}, {"broken_one": "import nope_xyz\n"})
    monkeypatch.setenv("PULSECL_DISABLE_PLUGINS", "one")
    pm = PulseclPluginManager()
    pm.load()
    assert "one" not in pm.info


def test_misspelt_hook_name_suggests_the_right_one():
    class Plugin:
        @pulsecl.hookimpl
        def pulsecl_register_loss(self, registry):
            registry.add("x", dict)

    with pytest.raises(PluginValidationError) as err:
        PulseclPluginManager().register(Plugin(), "typo")
    assert str(err.value) == (
        "plugin 'typo' implements unknown hook 'pulsecl_register_loss'; "
        "did you mean 'pulsecl_register_losses'? (hooks are listed in CONTRIBUTING.md)"
    )


def test_undecorated_pulsecl_function_is_a_hook_and_checked():
    class Plugin:
        def pulsecl_register_metric(self, registry):
            registry.add("x", dict)

    with pytest.raises(PluginValidationError, match="did you mean 'pulsecl_register_metrics'"):
        PulseclPluginManager().register(Plugin(), "typo")


def test_hook_with_argument_the_spec_lacks():
    class Plugin:
        @pulsecl.hookimpl
        def pulsecl_register_losses(self, registry, device):
            registry.add("x", dict)

    with pytest.raises(PluginValidationError) as err:
        PulseclPluginManager().register(Plugin(), "extra")
    assert str(err.value) == (
        "plugin 'extra': hook 'pulsecl_register_losses' takes argument(s) 'device' that "
        "the spec lacks; the spec is pulsecl_register_losses(registry)"
    )


def test_invalid_third_party_hook_reported_with_distribution(make_dist):
    bad = "def pulsecl_register_backbone(registry):\n    registry.add('x', dict)\n"
    make_dist("typo-dist", "0.1", {"typo": "typo_plugin"}, {"typo_plugin": bad})
    with pytest.raises(PluginLoadError) as err:
        PulseclPluginManager().load(strict=True)
    (line,) = err.value.errors
    pm = PulseclPluginManager()
    pm.load()  # not strict: left out, and listed as broken with the same line
    assert pm.broken["typo"].error == line and "typo" not in pm.info
    assert line == (
        "plugin 'typo' implements unknown hook 'pulsecl_register_backbone'; did you mean "
        "'pulsecl_register_backbones'? (hooks are listed in CONTRIBUTING.md) "
        "(distribution typo-dist 0.1, entry point 'typo = typo_plugin'); "
        "disable it with PULSECL_DISABLE_PLUGINS=typo or pulsecl --disable-plugin typo"
    )


def test_component_registered_twice_names_both_plugins(make_dist):
    make_dist("acme-rppg", "0.4.1", {"acme": "acme_plugin"}, {"acme_plugin": GOOD})
    make_dist("rival-rppg", "0.1", {"rival": "rival_plugin"}, {"rival_plugin": GOOD})
    pm = PulseclPluginManager()
    with pytest.raises(DuplicateComponentError) as err:
        pm.load()  # duplicates are rejected at start-up, not at first use
    expected = {
        f"backbones 'third-party-net' is registered twice: by plugin '{a}' and by plugin "
        f"'{b}'; disable one of them (PULSECL_DISABLE_PLUGINS={b}) or rename the component"
        for a, b in [("acme", "rival"), ("rival", "acme")]
    }
    assert str(err.value) in expected


def test_top_level_build_and_components(make_dist):
    make_dist("acme-rppg", "0.4.1", {"acme": "acme_plugin"}, {"acme_plugin": GOOD})
    reset_plugin_manager()
    assert "third-party-net" in pulsecl.components("backbones")
    assert "third-party-net" in pulsecl.components("backbone")
    assert pulsecl.build("backbone", "third-party-net") == {}
    with pytest.raises(pulsecl.UnknownComponentError, match="did you mean 'third-party-net'"):
        pulsecl.build("backbones", "third-party-nte")


class Recorder:
    """A plugin implementing the lifecycle and report hooks, recording the calls."""

    def __init__(self):
        self.calls = []

    @pulsecl.hookimpl
    def pulsecl_configure(self, config, manager):
        self.calls.append(("configure", config.train.epochs, manager))

    @pulsecl.hookimpl
    def pulsecl_extra_negatives(self, spectra, step):
        self.calls.append(("extra", step))
        return spectra[:1] * 0 + 1

    @pulsecl.hookimpl
    def pulsecl_train_step_end(self, step, outputs):
        self.calls.append(("end", step, outputs["loss"]))

    @pulsecl.hookimpl
    def pulsecl_report_header(self, config):
        return [f"recorder: epochs={config.train.epochs}"]


def test_lifecycle_and_report_hooks_are_called_with_their_arguments():
    import torch

    from pulsecl.config import load_config

    pm = PulseclPluginManager()
    pm.load(autoload=False)
    rec = Recorder()
    pm.register(rec, "recorder")
    config = load_config(overrides=["train.epochs=7"])
    pm.hook.pulsecl_configure(config=config, manager=pm)
    spectra = torch.full((2, 3), 0.5)
    extra = pm.hook.pulsecl_extra_negatives(spectra=spectra, freqs=torch.arange(3.0), step=4, groups=None)
    pm.hook.pulsecl_train_step_end(step=4, outputs={"loss": 1.5})
    assert rec.calls == [("configure", 7, pm), ("extra", 4), ("end", 4, 1.5)]
    assert [e.tolist() for e in extra] == [[[1.0, 1.0, 1.0]]]
    header = pm.report_header(config)
    assert header[0] == f"pulsecl {pulsecl.__version__}"
    assert "plugin physnet: pulsecl " + pulsecl.__version__ in header
    assert header[-1] == "recorder: epochs=7"


def test_unregister_removes_components(make_dist):
    make_dist("acme-rppg", "0.4.1", {"acme": "acme_plugin"}, {"acme_plugin": GOOD})
    pm = PulseclPluginManager()
    pm.load()
    assert "third-party-net" in pm.table("backbones")
    pm.unregister(name="acme")
    assert "third-party-net" not in pm.table("backbones")
    assert "acme" not in pm.info


def test_the_core_imports_no_built_in_plugin():
    """framework/pulsecl reaches built-in plugins only through the registry: no module of
    the core imports one (BUILTIN_PLUGINS names them only to register them)."""
    import ast
    from pathlib import Path

    from pulsecl.plugins import BUILTIN_PLUGINS

    core = Path(pulsecl.__file__).parent
    plugin_modules = set(BUILTIN_PLUGINS.values())
    found = []
    for path in sorted(core.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            for name in names:
                if name.split(".")[0] in plugin_modules:
                    found.append(f"{path.relative_to(core)}: {name}")
    assert found == []
