"""Built-in pulsecl plugin 'physnet' (being written: registers its backbones here)."""

from pulsecl import hookimpl


@hookimpl
def pulsecl_register_backbones(registry):
    """Register this plugin's backbones."""
