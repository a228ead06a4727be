"""An example third-party pulsecl plugin.

Registers one backbone (``green-mean``) and one loss (``smoothness``).  Installed with
``pip install .`` it is found through its entry point in group ``pulsecl``.
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy


@hookimpl
def pulsecl_register_backbones(registry):
    registry.add(
        "green-mean",
        lazy("pulsecl_example.models:GreenMean"),
        description="spatial mean of the green channel through a learnt temporal filter",
    )


@hookimpl
def pulsecl_register_losses(registry):
    registry.add(
        "smoothness",
        lazy("pulsecl_example.models:Smoothness"),
        description="mean squared first difference of the signal",
    )
