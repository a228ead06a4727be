"""Live heart rate from a camera (or any frame source), updated every second.

::

    from pulsecl.live import live

    result = live(0)                      # camera 0, POS, prints a line every second
    result = live(source, duration=30)    # any FrameSource; stops after 30 s

Frames stream through the face tracker chunk by chunk; every ``update_s`` seconds of
stream time the last ``window_s`` seconds give a reading (heart rate, SNR, IPR) that is
printed on one terminal line.  Ctrl-C (KeyboardInterrupt), the end of the source or
``duration`` stops the loop cleanly: the camera is released and the whole recording is
analysed like a file (:func:`pulsecl.predictor.predict`), then written where asked.
The loop takes a source object, so a test can hand it a fake camera.

Live readings carry no beats or HRV: a live window of 10 s holds 7-20 beats, fewer than
the 20 normal intervals HRV needs (:data:`pulsecl.signal.hrv.HRV_MIN_INTERVALS`), and an
HRV figure that changes every second over overlapping windows would mean nothing.  The
recording written when the loop stops has them, through the same gate as ``predict``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pulsecl.errors import PulseclError, SignalError

__all__ = ["LiveReading", "live", "format_reading"]


@dataclass
class LiveReading:
    """One live update: stream time (s), heart rate (bpm), SNR (dB), IPR, frames so far,
    and the reading's confidence level (:func:`pulsecl.signal.analysis.confidence`); no
    HRV (see the module's docstring)."""

    t_s: float
    hr_bpm: float
    snr_db: float
    ipr: float
    frames: int
    window_s: float
    confidence: str = "medium"

    def to_dict(self) -> dict[str, Any]:
        return {"t_s": round(self.t_s, 3), "hr_bpm": round(self.hr_bpm, 2), "snr_db": round(self.snr_db, 2),
                "ipr": round(self.ipr, 4), "window_s": round(self.window_s, 2), "confidence": self.confidence}


def format_reading(r: LiveReading) -> str:
    """The terminal line of a reading."""
    return (f"{r.t_s:7.1f} s  HR {r.hr_bpm:6.1f} bpm ({r.confidence} confidence)  SNR {r.snr_db:5.1f} dB  "
            f"IPR {r.ipr:4.2f}  [{r.window_s:.0f}-s window]")


def _reading(s: Any, now: float, window_s: float) -> LiveReading | None:
    """A reading over the last ``window_s`` seconds, or None while there is too little:
    :func:`pulsecl.signal.analysis.analyse` on one window, the route predict takes."""
    from pulsecl.extractors import check_rate
    from pulsecl.signal.analysis import analyse, min_samples

    ex = s.extractor
    ts = ex.timestamps
    if ts.size < 8:
        return None
    fs = (ts.size - 1) / max(float(ts[-1] - ts[0]), 1e-9)
    n = min(ts.size, int(round(window_s * fs)))
    pulse, grid = ex.recent_pulse(n, fs)
    span = float(grid[-1] - grid[0]) if grid.size > 1 else 0.0
    band = s.band_hz
    if span <= 0:
        return None
    rate = (grid.size - 1) / span
    if grid.size < min_samples(rate, band):  # fewer than two periods of the slowest rate: wait
        return None
    check_rate(rate, band, "the camera")
    whole = grid.size / rate  # one window over the live window
    a = analyse(pulse, rate, band, window_s=whole, stride_s=whole, preset=s.config.signal.preset,
                harmonics=s.config.signal.harmonic_rule)
    return LiveReading(
        t_s=now, hr_bpm=a.hr_bpm, snr_db=float(a.window_snr_db[0]), ipr=float(a.window_ipr[0]),
        frames=int(ts.size), window_s=span, confidence=a.confidence.level,
    )


def _open_camera(index: int, fs: float | None) -> Any:
    """A :class:`~pulsecl.video.CameraSource`, with OpenCV's own log lines about a
    missing camera silenced (the DataError says it in one line)."""
    import cv2

    from pulsecl.video.streams import CameraSource

    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    previous = logging.getLogLevel() if logging is not None else None
    if logging is not None:
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        return CameraSource(index, chunk_frames=5, fs=fs)
    finally:
        if logging is not None:
            logging.setLogLevel(previous)


def live(
    source: Any = 0,
    fs: float | None = None,
    method: str | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    *,
    model: str | None = None,
    update_s: float = 1.0,
    duration: float | None = None,
    out: str | os.PathLike[str] | None = None,
    json_path: str | os.PathLike[str] | None = None,
    on_reading: Callable[[LiveReading], None] | None = None,
    stream_out: Any = None,
    **options: Any,
) -> Any:
    """Live heart rate from ``source`` (camera index, or any source ``predict`` takes).

    Args:
        source: a camera index (int), or a :class:`~pulsecl.video.FrameSource` (e.g. a
            fake camera in tests), a path, an array or an iterator.
        fs, method, checkpoint, model: as :func:`pulsecl.predictor.predict`.
        update_s: seconds of stream time between readings.
        duration: stop after this many seconds of stream time (None: until Ctrl-C or the
            end of the source).
        out, json_path: where to write the recording's results when it stops (as
            :meth:`pulsecl.prediction.Prediction.write`).
        on_reading: called with each :class:`LiveReading` (default: print one line,
            rewritten in place on a terminal).
        stream_out: text stream for the lines (default ``sys.stdout``).
        options: ``roi``, ``band_bpm``, ``window_s``, ``stride_s``, ``preset``,
            ``config``, ``device``, ``method_options`` as for ``predict``; ``window_s``
            is also the live window.

    Returns:
        The :class:`~pulsecl.prediction.Prediction` of the whole recording (its beats and
        gated HRV included), with the live readings under ``extra["live"]``, and
        ``extra["stopped_by"]`` (``"interrupt"``, ``"duration"`` or ``"end"``).
    """
    from pulsecl.extractors import ModelPulse, check_rate
    from pulsecl.predictor import finish, setup
    from pulsecl.video import open_source
    from pulsecl.video.pipeline import CropStream

    if not update_s > 0:
        raise SignalError(f"update every {update_s!r} s: give a positive number of seconds")
    s = setup(method, checkpoint, model=model, **options)
    window_s = float(s.config.signal.window_s)
    if isinstance(source, (int, np.integer)) or (isinstance(source, str) and source.isdigit() and not os.path.exists(source)):
        src: Any = _open_camera(int(source), fs)
    else:
        src = open_source(source, fs=fs, chunk_frames=min(s.config.preprocess.chunk_frames, 30))
    label = src.path or src.name
    check_rate(src.fs, s.band_hz, f"'{label}'")
    if isinstance(s.extractor, ModelPulse):  # keep a live window of crops for the readings
        s.extractor.keep_s = window_s
    s.extractor.adapt(src.fs)
    stream_out = stream_out or sys.stdout
    tty = bool(getattr(stream_out, "isatty", lambda: False)())
    readings: list[LiveReading] = []

    def show(r: LiveReading) -> None:
        line = format_reading(r)
        if tty:
            stream_out.write("\r" + line + "\x1b[K")
        else:
            stream_out.write(line + "\n")
        stream_out.flush()

    report = on_reading or show
    if on_reading is None:
        stream_out.write(f"{label} at {src.fs:.3g} fps: heart rate every {update_s:g} s over the last "
                         f"{window_s:g} s; Ctrl-C stops\n")
    stream = CropStream(src, s.config.preprocess)
    chunks = iter(stream)
    next_update = update_s
    stopped_by = "end"
    try:
        for crops, ts in chunks:
            s.extractor.feed(crops, ts)
            now = float(ts[-1])
            if duration is not None and now >= duration:
                stopped_by = "duration"
                break
            if now >= next_update:
                reading = _reading(s, now, window_s)
                if reading is not None:
                    readings.append(reading)
                    report(reading)
                elif on_reading is None:
                    stream_out.write(f"{now:7.1f} s  collecting ... ({window_s:.0f}-s window)" + ("\r" if tty else "\n"))
                    stream_out.flush()
                next_update = now + update_s
    except KeyboardInterrupt:
        stopped_by = "interrupt"
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # releases the camera (the source's own finally)
        if tty:
            stream_out.write("\n")
    try:
        result = finish(s, stream, label)
    except PulseclError as exc:
        raise type(exc)(f"stopped after {s.extractor.n_frames} frames with a face; nothing written: {exc}") from None
    result.extra["live"] = [r.to_dict() for r in readings]
    result.extra["stopped_by"] = stopped_by
    if out is not None or json_path is not None:
        result.write(out, json_path)
    return result
