"""Where a benchmark result came from: versions, plugins, source commit, machine.

:func:`provenance` gives the block every cell record carries::

    {"pulsecl": "0.1.0", "python": "3.11.7", "torch": "2.13.0", "numpy": "...",
     "plugins": [{"name": "classical", "distribution": "pulsecl", "version": "0.1.0"}, ...],
     "header": [...],                 # the plugin manager's report header for the config
     "git": {"commit": "...", "dirty": false} | None,
     "device": {"type": "cpu", "name": "...", "cpus": 2, "threads": 2},
     "platform": "Linux-...", "hostname": "..."}
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["device_info", "git_info", "provenance"]


@functools.lru_cache(maxsize=None)
def git_info(path: str | None = None) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the git checkout holding ``path`` (default: pulsecl's
    own source), or None when it is not in one or git is missing."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_info(device: Any = "cpu") -> dict[str, Any]:
    """The compute device of a cell: type, name, CPU count and torch threads."""
    kind = str(getattr(device, "type", device) or "cpu")
    info: dict[str, Any] = {"type": kind, "cpus": os.cpu_count()}
    try:
        import torch

        info["threads"] = torch.get_num_threads()
        if kind == "cuda" and torch.cuda.is_available():
            index = getattr(device, "index", None) or 0
            info["name"] = torch.cuda.get_device_name(index)
            return info
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    info["name"] = _cpu_name()
    return info


def provenance(config: Any = None, device: Any = "cpu") -> dict[str, Any]:
    """The provenance block of a record (see the module docstring)."""
    import numpy

    from pulsecl._version import __version__
    from pulsecl.plugins import get_plugin_manager

    pm = get_plugin_manager()
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:  # pragma: no cover
        torch_version = None
    return {
        "pulsecl": __version__,
        "python": platform.python_version(),
        "torch": torch_version,
        "numpy": numpy.__version__,
        "plugins": [
            {"name": i.name, "distribution": i.distribution, "version": i.version}
            for i in sorted(pm.info.values(), key=lambda i: i.name)
        ],
        "header": pm.report_header(config),
        "git": git_info(),
        "device": device_info(device),
        "platform": platform.platform(),
        "hostname": platform.node(),
    }
