"""Synthetic rPPG video with known ground truth.

::

    from pulsecl.synthetic import generate, render_clip, synthesize

    generate("synth", n=4, seed=0, duration=20, width=320, height=240)  # UBFC-rPPG layout
    clip = render_clip(seed=1, duration=5)   # frames (T, H, W, 3) uint8 + ppg, in memory

Modules: :mod:`~pulsecl.synthetic.physiology` (heart rate, beats, waveform,
respiration), :mod:`~pulsecl.synthetic.face` (the drawn face),
:mod:`~pulsecl.synthetic.rendering` (skin-reflection model, skin tones, background),
:mod:`~pulsecl.synthetic.nuisances` (motion, light, noise, compression),
:mod:`~pulsecl.synthetic.generator` (clips and datasets).

The names below load their modules on first use, so that importing
:mod:`pulsecl.synthetic.nuisances` (the CLI does, for ``pulsecl synth``'s flags) does
not import the renderer and scipy.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Nuisances", "SyntheticClip", "SyntheticSubject", "generate", "render_clip", "synthesize"]

_WHERE = {name: "pulsecl.synthetic.generator" for name in __all__}
_WHERE["Nuisances"] = "pulsecl.synthetic.nuisances"


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'pulsecl.synthetic' has no attribute '{name}'")
