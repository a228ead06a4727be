"""Built-in pulsecl plugin 'views': the contrastive proxy task, multi-view windows and
motion augmentation.

Registers one component of each view stage (modules imported only when built):

* proxy task ``frequency`` (:mod:`pulsecl_views.frequency`): anchor, positive and
  negative branches by temporal resampling (Gideon & Stent, ICCV 2021), with a factor
  per sample, negatives of the anchor's length cut from a longer context, anti-aliasing
  and a frame-rate guard;
* view windows ``windows`` (:mod:`pulsecl_views.windows`): V random windows of W
  samples per branch, offsets independent per sample;
* augmentation ``motion`` (:mod:`pulsecl_views.augment`): synthetic periodic head motion
  in the heart-rate band.

The contracts are :class:`pulsecl.protocols.ProxyTask` (called as ``task(x, fs, model,
generator)``, returns the branches), :class:`~pulsecl.protocols.ViewWindows`
(``windows(branches, generator)``, adds ``*_views`` (B, V, W)) and
:class:`~pulsecl.protocols.Augmentation` (``augment(x, fs, generator)``, a video of the
same shape).  Each class also keeps its ``stage`` attribute (``"proxy"``, ``"views"``,
``"augment"``), which the deprecated ``view_generators`` hook reads.
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy


@hookimpl
def pulsecl_register_proxy_tasks(registry):
    """Register the ``frequency`` proxy task."""
    registry.add(
        "frequency",
        lazy("pulsecl_views.frequency:FrequencyViews"),
        description="anchor/positive/negative by anti-aliased temporal resampling, equal-length negatives, factor per sample, frame-rate guard",
    )


@hookimpl
def pulsecl_register_view_windows(registry):
    """Register the ``windows`` views."""
    registry.add(
        "windows",
        lazy("pulsecl_views.windows:WindowViews"),
        description="V random windows of W samples per branch, offsets independent per sample",
    )


@hookimpl
def pulsecl_register_augmentations(registry):
    """Register the ``motion`` augmentation."""
    registry.add(
        "motion",
        lazy("pulsecl_views.augment:MotionAugment"),
        description="the anchor clip with periodic sub-pixel head motion in the heart-rate band (for the invariance loss)",
    )
