"""Built-in pulsecl plugin 'samplers' (being written: registers its samplers here)."""

from pulsecl import hookimpl


@hookimpl
def pulsecl_register_samplers(registry):
    """Register this plugin's samplers."""
