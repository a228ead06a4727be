"""Built-in pulsecl plugin 'facemesh': MediaPipe's face detector and 468-point Face Mesh.

Registers ``face_detectors`` entry ``facemesh``; built with
``pulsecl.build("face_detectors", "facemesh", min_score=0.5, ...)``.  Besides a box
(``detect``) it gives face landmarks and the skin region they outline, which
``preprocess.roi = "landmarks"`` follows frame by frame.  The models ship with the plugin
(Apache 2.0, ``models/``); the runtime, ``ai-edge-litert``, comes with
``pip install "pulsecl[landmarks]"`` and is imported only when the detector is built.
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy


def available() -> bool:
    """True when the LiteRT runtime the detector needs is installed."""
    import importlib.util

    return importlib.util.find_spec("ai_edge_litert") is not None


@hookimpl
def pulsecl_register_face_detectors(registry):
    """Register the Face Mesh detector."""
    registry.add(
        "facemesh",
        lazy("pulsecl_facemesh.mesh:FaceMesh"),
        description="MediaPipe BlazeFace + Face Mesh (468 points, skin region); needs pip install \"pulsecl[landmarks]\"",
    )
