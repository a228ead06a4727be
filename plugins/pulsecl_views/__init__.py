"""Built-in pulsecl plugin 'views': the contrastive proxy task, multi-view windows and
motion augmentation.

Registers three view generators (modules imported only when built):

* ``frequency`` (stage ``"proxy"``, :mod:`pulsecl_views.frequency`): anchor, positive
  and negative branches by temporal resampling (Gideon & Stent, ICCV 2021), with a
  factor per sample, negatives as long as the anchor (cut from a longer context, so the
  clip length cannot tell them apart), anti-aliasing and a frame-rate guard.
* ``windows`` (stage ``"views"``, :mod:`pulsecl_views.windows`): V random windows of W
  samples per branch, offsets independent per sample.
* ``motion`` (stage ``"augment"``, :mod:`pulsecl_views.augment`): a copy of each anchor
  clip with synthetic periodic head motion, for the ``invariance`` loss.

A view generator declares its ``stage``: a ``"proxy"`` generator is called as
``gen(x, fs, model, generator)`` (plus ``context=``, a clip of ``gen.context_frames(T)``
frames, when ``gen.uses_context``) and returns the branches; a ``"views"`` generator is
called as ``gen(branches, generator)`` and adds ``*_views`` (B, V, W) to them; an
``"augment"`` generator is called as ``gen(x, fs, generator)`` and returns a video of the
same shape, whose signal reaches the losses as ``"augmented"`` (B, T) (or, with the
trainer's ``views.augment_on = "negatives"``, which the proxy's negatives are cut from).
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy


@hookimpl
def pulsecl_register_view_generators(registry):
    """Register the ``frequency`` proxy and the ``windows`` views."""
    registry.add(
        "frequency",
        lazy("pulsecl_views.frequency:FrequencyViews"),
        description="anchor/positive/negative by anti-aliased temporal resampling, equal-length negatives, factor per sample, frame-rate guard",
    )
    registry.add(
        "windows",
        lazy("pulsecl_views.windows:WindowViews"),
        description="V random windows of W samples per branch, offsets independent per sample",
    )
    registry.add(
        "motion",
        lazy("pulsecl_views.augment:MotionAugment"),
        description="the anchor clip with periodic sub-pixel head motion in the heart-rate band (for the invariance loss)",
    )
