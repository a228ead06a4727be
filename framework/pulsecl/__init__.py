"""pulsecl: heart rate from face video, learnt from unlabelled video.

A plugin-extensible contrastive learning framework for remote photoplethysmography
(rPPG), after Gideon & Stent, "The Way to my Heart is through Contrastive Learning:
Remote Photoplethysmography from Unlabelled Video", ICCV 2021.

Top-level API::

    pulsecl.components("backbones")            # names registered for a kind
    pulsecl.build("backbones", "physnet", channels=32)
    pulsecl.rgb_to_pulse(trace, fs, method="pos")
    pulsecl.heart_rate(pulse, fs)

Importing pulsecl is cheap: torch and the plugins load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from pulsecl._version import __version__
from pulsecl.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    PluginError,
    PulseclError,
    SignalError,
    UnknownComponentError,
)
from pulsecl.hookspec import hookimpl

__all__ = [
    "__version__",
    "build",
    "components",
    "hookimpl",
    "heart_rate",
    "rgb_to_pulse",
    "predict",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "PluginError",
    "PulseclError",
    "SignalError",
    "UnknownComponentError",
]


def build(kind: str, name: str, **options: Any) -> Any:
    """Build component ``name`` from the table of ``kind`` with keyword ``options``.

    ``kind`` is a table name (``"backbones"``, ``"losses"``, ...; the singular works too).
    An unknown name raises :class:`UnknownComponentError` listing what exists; an unknown
    option raises :class:`ConfigError` listing the options the component takes.
    """
    from pulsecl.plugins import get_plugin_manager

    return get_plugin_manager().build(kind, name, **options)


def components(kind: str) -> list[str]:
    """Sorted names of the components registered for ``kind``."""
    from pulsecl.plugins import get_plugin_manager

    return get_plugin_manager().components(kind)


# Functions whose modules import numpy/scipy/torch: loaded on first access.
_LAZY = {
    "rgb_to_pulse": "pulsecl.signal.api",
    "heart_rate": "pulsecl.signal.api",
    "predict": "pulsecl.predictor",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pulsecl' has no attribute '{name}'")
