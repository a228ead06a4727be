"""Built-in pulsecl plugin 'datasets' (being written: registers its datasets here)."""

from pulsecl import hookimpl


@hookimpl
def pulsecl_register_datasets(registry):
    """Register this plugin's datasets."""
