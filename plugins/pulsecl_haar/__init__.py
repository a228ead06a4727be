"""Built-in pulsecl plugin 'haar' (being written: registers its face_detectors here)."""

from pulsecl import hookimpl


@hookimpl
def pulsecl_register_face_detectors(registry):
    """Register this plugin's face_detectors."""
