"""Built-in pulsecl plugin 'metrics' (being written: registers its metrics here)."""

from pulsecl import hookimpl


@hookimpl
def pulsecl_register_metrics(registry):
    """Register this plugin's metrics."""
