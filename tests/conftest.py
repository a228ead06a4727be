"""Shared fixtures.  Each test gets a fresh process-wide plugin manager."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _fresh_plugin_manager(monkeypatch):
    """No test sees plugin state (or PULSECL_* variables) left by another."""
    from pulsecl.plugins import reset_plugin_manager

    for var in ("PULSECL_DISABLE_PLUGINS", "PULSECL_DISABLE_PLUGIN_AUTOLOAD"):
        monkeypatch.delenv(var, raising=False)
    reset_plugin_manager()
    yield
    reset_plugin_manager()


@pytest.fixture
def make_dist(tmp_path, monkeypatch):
    """Create an installed-looking distribution on sys.path, without pip.

    ``make_dist(name, version, entry_points={"ep": "module"}, modules={"module": src})``
    writes ``<module>.py`` files and a ``<name>-<version>.dist-info`` folder whose
    entry_points.txt declares them in group ``pulsecl``; importlib.metadata finds it.
    """
    root = tmp_path / "site"
    root.mkdir(exist_ok=True)
    monkeypatch.syspath_prepend(str(root))

    def make(name: str, version: str, entry_points: dict[str, str], modules: dict[str, str]) -> Path:
        for module, source in modules.items():
            (root / f"{module}.py").write_text(textwrap.dedent(source))
        info = root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        eps = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
        (info / "entry_points.txt").write_text(f"[pulsecl]\n{eps}\n")
        return root

    return make


class _TestBackbones:
    """Registers pulsecl.testing's fixed-wave and pass-through backbones."""

    @staticmethod
    def pulsecl_register_backbones(registry):
        from pulsecl.testing import FixedWaveBackbone, PassThroughBackbone

        registry.add("fixed-wave", FixedWaveBackbone, description="test: k cycles per clip, whatever the input")
        registry.add("pass-through", PassThroughBackbone, description="test: the mean green trace")


@pytest.fixture
def test_backbones():
    """The backbones 'fixed-wave' and 'pass-through' while the test runs."""
    from pulsecl.plugins import get_plugin_manager

    pm = get_plugin_manager()
    pm.register(_TestBackbones(), "test-backbones")
    try:
        yield
    finally:
        pm.unregister(name="test-backbones")
