"""Built-in pulsecl plugin 'views' (being written: registers its view_generators here)."""

from pulsecl import hookimpl


@hookimpl
def pulsecl_register_view_generators(registry):
    """Register this plugin's view_generators."""
