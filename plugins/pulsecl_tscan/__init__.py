"""Built-in pulsecl plugin 'tscan': TS-CAN, a temporal-shift 2-D CNN with attention
(Liu et al., NeurIPS 2020; EfficientPhys's self-attention as an option).

Registers backbone ``tscan`` (module :mod:`pulsecl_tscan.model`, imported only when
built, so loading the plugin does not import torch).
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy


@hookimpl
def pulsecl_register_backbones(registry):
    """Register the ``tscan`` backbone."""
    registry.add(
        "tscan",
        lazy("pulsecl_tscan.model:TSCAN"),
        description="TS-CAN: 2-D CNN with temporal shifts and attention masks (Liu et al. 2020), any clip length; video -> pulse",
    )
