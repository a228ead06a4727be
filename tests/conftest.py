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


class _FillingFile:
    """A file whose writes fail with ENOSPC once ``budget`` bytes are written (what a
    full disk does: the part that fits is written, then the write fails)."""

    def __init__(self, fh, state):
        self._fh, self._state = fh, state

    def write(self, data):
        import errno

        size = len(memoryview(data).cast("B")) if not isinstance(data, str) else len(data.encode())
        room = self._state["budget"] - self._state["written"]
        if size > room:
            if room > 0 and not isinstance(data, str):
                self._fh.write(memoryview(data).cast("B")[:room])
            self._state["written"] += max(room, 0)
            self._state["failures"] += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._state["written"] += size
        return self._fh.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()
        return False

    def __getattr__(self, name):
        return getattr(self._fh, name)


@pytest.fixture
def disk_full(monkeypatch):
    """``disk_full(after_bytes)``: from now on, files written through pulsecl.io fail
    with ENOSPC once ``after_bytes`` more bytes are written.  Returns the counters."""
    import pulsecl.io as io_mod

    real = os.fdopen

    def fill(after_bytes: int) -> dict:
        state = {"budget": after_bytes, "written": 0, "failures": 0}
        class _Os:  # os, except that the files pulsecl.io opens fill up
            def __getattr__(self, name):
                return getattr(os, name)

            @staticmethod
            def fdopen(*a, **k):
                return _FillingFile(real(*a, **k), state)

        monkeypatch.setattr(io_mod, "os", _Os())
        return state

    return fill


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


@pytest.fixture
def hold_lock():
    """``hold_lock(folder)``: another process takes :class:`pulsecl.io.FolderLock` on
    ``folder`` and keeps it until killed; returns its ``Popen`` (killed after the test
    if still alive).  ``proc.kill(); proc.wait()`` is a ``kill -9`` of the holder."""
    import subprocess
    import sys

    procs = []

    def hold(folder) -> subprocess.Popen:
        code = (
            "import sys, time\n"
            "from pulsecl.io import FolderLock\n"
            "FolderLock(sys.argv[1]).acquire()\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n"
        )
        proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "locked"
        return proc

    yield hold
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
