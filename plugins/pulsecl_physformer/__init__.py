"""Built-in pulsecl plugin 'physformer': PhysFormer-lite, a small temporal-difference
transformer after Yu et al. (CVPR 2022) that runs well on a CPU.

Registers backbone ``physformer_lite`` (module :mod:`pulsecl_physformer.model`,
imported only when built, so loading the plugin does not import torch).
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy


@hookimpl
def pulsecl_register_backbones(registry):
    """Register the ``physformer_lite`` backbone."""
    registry.add(
        "physformer_lite",
        lazy("pulsecl_physformer.model:PhysFormerLite"),
        description="PhysFormer-lite: 3D-CNN stem + temporal-difference transformer over time tokens (after Yu et al. 2022), any clip length; video -> pulse",
    )
