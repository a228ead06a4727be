"""Built-in pulsecl plugin 'losses' (being written: registers its losses here)."""

from pulsecl import hookimpl


@hookimpl
def pulsecl_register_losses(registry):
    """Register this plugin's losses."""
