"""Built-in pulsecl plugin 'bank' (being written: registers its negative_banks here)."""

from pulsecl import hookimpl


@hookimpl
def pulsecl_register_negative_banks(registry):
    """Register this plugin's negative_banks."""
