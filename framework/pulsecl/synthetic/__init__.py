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
"""

from pulsecl.synthetic.generator import SyntheticClip, SyntheticSubject, generate, render_clip, synthesize
from pulsecl.synthetic.nuisances import Nuisances

__all__ = ["Nuisances", "SyntheticClip", "SyntheticSubject", "generate", "render_clip", "synthesize"]
