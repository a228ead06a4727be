"""Built-in pulsecl plugin 'physnet': the PhysNet backbone of Gideon & Stent (ICCV 2021).

Registers backbone ``physnet`` (module :mod:`pulsecl_physnet.model`, imported only when
built, so loading the plugin does not import torch).
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy


@hookimpl
def pulsecl_register_backbones(registry):
    """Register the ``physnet`` backbone."""
    registry.add(
        "physnet",
        lazy("pulsecl_physnet.model:PhysNet"),
        description="3D-CNN PhysNet with a temporal-interpolation decoder (Gideon & Stent 2021); video -> pulse",
    )
