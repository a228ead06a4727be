"""Writing video files: MJPG in AVI, readable by OpenCV's FFmpeg backend everywhere.

OpenCV's own MJPEG encoder (``cv2.CAP_OPENCV_MJPEG``) is the one writer in
opencv-python that honours a JPEG quality, so compression can be set; it stores the
frame rate as an integer, so the AVI header is corrected afterwards to hold the exact
rate (``dwRate / dwScale`` = fps * 1000 / 1000, and the microseconds per frame).
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from pulsecl.errors import DataError

__all__ = ["write_video"]


def _set_avi_frame_rate(path: Path, fps: float) -> None:
    """Rewrite the frame rate in an AVI file's main and stream headers, in place, and
    flush the file to disk."""
    with open(path, "r+b") as fh:
        head = bytearray(fh.read(8192))
        avih = head.find(b"avih")
        strh = head.find(b"strh")
        if avih < 0 or strh < 0 or head[strh + 8 : strh + 12] != b"vids":
            raise DataError(f"{path}: the AVI writer produced no video header to set the frame rate in")
        fh.seek(avih + 8)  # dwMicroSecPerFrame
        fh.write(struct.pack("<I", int(round(1e6 / fps))))
        fh.seek(strh + 8 + 20)  # dwScale, dwRate
        fh.write(struct.pack("<II", 1000, int(round(fps * 1000))))
        fh.flush()
        os.fsync(fh.fileno())


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    fps: float,
    quality: int = 90,
) -> int:
    """Write RGB frames to an MJPG ``.avi`` at ``path`` atomically; return the count.

    ``frames``: an iterable of uint8 RGB arrays (H, W, 3) or chunks (n, H, W, 3), all the
    same size.  ``quality``: JPEG quality 1-100.  The file appears only once complete; an
    error or Ctrl-C leaves nothing behind.
    """
    path = Path(path)
    if path.suffix.lower() != ".avi":
        raise DataError(f"{path}: write_video writes MJPG in AVI; give a path ending in .avi")
    if not 0 < fps <= 1000:
        raise DataError(f"{path}: frame rate {fps} Hz is out of range (0, 1000]")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.avi", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes it private; a video is for sharing
    writer = None
    count = 0
    try:
        for block in frames:
            block = np.asarray(block)
            if block.ndim == 3:
                block = block[None]
            if block.ndim != 4 or block.shape[-1] != 3 or block.dtype != np.uint8:
                raise DataError(
                    f"{path}: frames must be uint8 RGB (H, W, 3) or (n, H, W, 3), got "
                    f"{block.dtype} {block.shape}"
                )
            if writer is None:
                size = (block.shape[2], block.shape[1])
                writer = cv2.VideoWriter(
                    str(tmp), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*"MJPG"), float(round(fps)) or 1.0, size
                )
                if not writer.isOpened():
                    raise DataError(f"{path}: OpenCV cannot open an MJPG writer here")
                writer.set(cv2.VIDEOWRITER_PROP_QUALITY, float(quality))
            elif (block.shape[2], block.shape[1]) != size:
                raise DataError(f"{path}: frame size changed from {size} to {(block.shape[2], block.shape[1])}")
            for frame in block:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            count += len(block)
        if writer is None:
            raise DataError(f"{path}: no frames to write")
        writer.release()
        writer = None
        _set_avi_frame_rate(tmp, fps)
        os.replace(tmp, path)
    finally:
        if writer is not None:
            writer.release()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return count
