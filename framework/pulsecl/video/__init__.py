"""The video pipeline: frame sources, face tracking, crops, the preprocessing cache.

::

    from pulsecl.video import open_source, iter_crops, preprocess, rgb_trace

    clip = preprocess("subject1/vid.avi", cache_dir="cache")   # Clip, memory-mapped
    trace = rgb_trace(clip.frames)                             # (T, 3) over skin

Imports OpenCV and numpy; ``import pulsecl`` does not import this package.
"""

from pulsecl.video.pipeline import Clip, CropStream, iter_crops, preprocess, rgb_trace, skin_mask
from pulsecl.video.sources import FrameSource, ImageFolderSource, VideoFileSource, open_source
from pulsecl.video.streams import ArraySource, CameraSource, FrameIteratorSource, PrefetchSource

__all__ = [
    "ArraySource",
    "CameraSource",
    "Clip",
    "CropStream",
    "FrameIteratorSource",
    "FrameSource",
    "ImageFolderSource",
    "PrefetchSource",
    "VideoFileSource",
    "iter_crops",
    "open_source",
    "preprocess",
    "rgb_trace",
    "skin_mask",
]
