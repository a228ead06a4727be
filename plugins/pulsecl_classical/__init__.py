"""Built-in pulsecl plugin 'classical' (being written: registers its classical_methods here)."""

from pulsecl import hookimpl


@hookimpl
def pulsecl_register_classical_methods(registry):
    """Register this plugin's classical_methods."""
