"""Built-in pulsecl plugin 'haar': the OpenCV Haar cascade face detector.

Registers ``face_detectors`` entry ``haar``; built with
``pulsecl.build("face_detectors", "haar", scale_factor=1.1, ...)``.  OpenCV is imported
only when the detector is built.
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy


@hookimpl
def pulsecl_register_face_detectors(registry):
    """Register the Haar cascade detector."""
    registry.add(
        "haar",
        lazy("pulsecl_haar.detector:HaarFaceDetector"),
        description="OpenCV Haar cascade (Viola & Jones 2001), largest face; needs opencv-python 4.x",
    )
