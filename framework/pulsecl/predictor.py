"""Heart rate from any video, frame array, frame iterator or camera.

::

    import pulsecl

    result = pulsecl.predict("face.mp4")                      # POS on the face crops
    result = pulsecl.predict(frames, fs=30, method="chrom")   # (T, H, W, 3) uint8 RGB
    result = pulsecl.predict("face.mp4", checkpoint="run/best.pt")
    result = pulsecl.predict("face.mp4", model="pulsecl-small")        # a shipped model
    result.hr_bpm, result.window_hr_bpm, result.window_snr_db
    result.write("out/")                                      # CSVs, JSON, PNG

The route of a video::

    source (pulsecl.video.open_source, opened once; decoded in a reader thread)
      -> face crops (pulsecl.video.CropStream, chunk by chunk)
      -> a pulse extractor (pulsecl.extractors): a classical method on the skin RGB
         trace, or a trained model through the inference engine
      -> pulse on a uniform time grid at the measured frame rate
      -> pulsecl.signal.analysis.analyse: heart rate per window, tracked, SNR and IPR,
         the recording's heart rate
      -> pulsecl.signal.hrv.pulse_beats: beats, normal intervals, HRV through its gate
         (the analysis is not changed by it)
      -> pulsecl.prediction.Prediction

The live loop (:mod:`pulsecl.live`) uses the same :func:`setup` and :func:`finish`.
"""

from __future__ import annotations

import contextlib
import copy
import os
from dataclasses import dataclass
from typing import Any

from pulsecl.errors import ConfigError, SignalError
from pulsecl.extractors import ModelPulse, TracePulse, check_rate, uniform_grid
from pulsecl.prediction import Prediction

__all__ = ["HUMAN_BPM", "MAX_FACELESS", "Prediction", "Setup", "finish", "input_caps", "predict", "setup", "torch_threads"]

#: The heart rates a band may cover (bpm): a band outside is a ConfigError.
HUMAN_BPM = (30.0, 250.0)
#: More than this share of frames without a face (or grey, R = G = B) caps the confidence at "low".
MAX_FACELESS = 0.5


class InputStats:
    """What ``predict`` counts in the crops as they stream by: all frames, and frames
    whose every pixel is grey (R = G = B), which carry no colour for a pulse to show in."""

    def __init__(self) -> None:
        self.frames = 0
        self.grey = 0

    def feed(self, crops: Any) -> None:
        import numpy as np

        c = np.asarray(crops).reshape(len(crops), -1, 3)
        grey = np.all(c[..., 0] == c[..., 1], axis=1) & np.all(c[..., 1] == c[..., 2], axis=1)
        self.frames += len(c)
        self.grey += int(grey.sum())


@dataclass
class Setup:
    """Resolved settings for one prediction (shared by :func:`predict` and the live loop).

    ``label`` names what made the pulse (the method, or the model's name or path).
    """

    config: Any
    band_hz: tuple[float, float]
    extractor: Any
    method: str | None
    checkpoint: str | None
    model: Any = None  # pulsecl.models.PulseModel when a model makes the pulse


def setup(
    method: str | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    *,
    model: str | None = None,
    config: Any = None,
    roi: str | None = None,
    band_bpm: Any = None,
    window_s: float | None = None,
    stride_s: float | None = None,
    preset: str | None = None,
    device: Any = None,
    method_options: dict[str, Any] | None = None,
    resample: bool = True,
) -> Setup:
    """Check the settings and build the pulse extractor (nothing is read yet)."""
    from pulsecl.config import Config
    from pulsecl.signal.common import band_hz
    from pulsecl.signal.presets import get_preset
    from pulsecl.video.pipeline import check_settings, model_settings, trace_settings

    given = [name for name, v in (("a classical method", method), ("a checkpoint", checkpoint), ("a model", model))
             if v is not None]
    if len(given) > 1:
        raise ConfigError(f"give one of a classical method, a checkpoint or a shipped model, not {' and '.join(given)}")
    loaded = None
    source = checkpoint if checkpoint is not None else model
    if source is not None:
        from pulsecl.engine.device import choose_device
        from pulsecl.models import load_model

        dev = choose_device(device or "auto") if not hasattr(device, "type") else device
        # --checkpoint takes a path only and --model a shipped name only (pulsecl.models.resolve)
        loaded = load_model(source, dev, kind="checkpoint" if checkpoint is not None else "model")
        base = config if config is not None else loaded.config
    else:
        base = config if config is not None else Config()
    cfg = copy.deepcopy(base)
    if roi is not None:
        cfg.preprocess.roi = roi
    if band_bpm is not None:
        cfg.signal.band_bpm = band_bpm
    if window_s is not None:
        cfg.signal.window_s = float(window_s)
    if stride_s is not None:
        cfg.signal.stride_s = float(stride_s)
    if preset is not None:
        cfg.signal.preset = preset
    check_settings(cfg.preprocess)
    band = band_hz(cfg.signal.band_bpm, what="band")
    if band[0] * 60.0 < HUMAN_BPM[0] - 1e-9 or band[1] * 60.0 > HUMAN_BPM[1] + 1e-9:
        raise ConfigError(
            f"band {band[0] * 60:g}-{band[1] * 60:g} bpm reaches outside {HUMAN_BPM[0]:g}-{HUMAN_BPM[1]:g} bpm, "
            "where a human heart rate lies; give a band inside it (--band LOW HIGH)"
        )
    cfg.signal.band_bpm = [band[0] * 60.0, band[1] * 60.0]
    if not (cfg.signal.window_s > 0 and cfg.signal.stride_s > 0):
        raise ConfigError(
            f"window {cfg.signal.window_s!r} s and stride {cfg.signal.stride_s!r} s: give positive seconds"
        )
    get_preset(cfg.signal.preset)  # an unknown preset fails now, not after the video
    if loaded is not None:
        cfg.preprocess = model_settings(cfg.preprocess)
        extractor: Any = ModelPulse(loaded, overlap=cfg.eval.overlap, resample=resample)
        return Setup(cfg, band, extractor, None, loaded.label, loaded)
    name = method or "pos"
    cfg.preprocess = trace_settings(cfg.preprocess)
    trace = TracePulse(name, method_options, band_bpm=cfg.signal.band_bpm, despike=cfg.signal.despike,
                       region=cfg.preprocess.roi == "landmarks")
    return Setup(cfg, band, trace, name, None)


def input_caps(stream: Any, stats: InputStats | None, roi: str) -> list[str]:
    """Reasons why the video cannot carry a pulse, whatever its spectrum says: most frames
    grey (R = G = B), or most frames without a face."""
    reasons = []
    if stats is not None and stats.frames and stats.grey > MAX_FACELESS * stats.frames:
        reasons.append(f"the video has no colour (R = G = B in {stats.grey} of {stats.frames} frames), "
                       "so no pulse can show in it")
    total = max(int(stream.frames_read or 0), int(stream.n_frames))
    without = int(stream.frames_without_face)
    if roi != "full" and total and without > MAX_FACELESS * total:
        reasons.append(f"a face was found in only {total - without} of {total} frames")
    return reasons


def finish(s: Setup, stream: Any, source_label: str, stats: InputStats | None = None) -> Prediction:
    """Pulse on a uniform grid, the analysis, the beats and gated HRV
    (:func:`pulsecl.signal.hrv.pulse_beats`, after the confidence is final), and the
    :class:`Prediction`; the confidence is capped at "low" by :func:`input_caps`."""
    from pulsecl.signal.analysis import analyse_with
    from pulsecl.signal.hrv import pulse_beats

    ex = s.extractor
    ex.finish()
    ts = ex.timestamps
    band = s.band_hz
    if ts.size < 2:
        raise SignalError(f"'{source_label}': {ts.size} frame(s); a heart rate needs seconds of video")
    grid, fs = uniform_grid(ts)
    check_rate(fs, band, f"'{source_label}'")
    pulse = ex.pulse(grid, fs)
    sig = s.config.signal
    a = analyse_with(pulse, fs, sig)
    conf = a.confidence
    caps = input_caps(stream, stats, s.config.preprocess.roi)
    if caps:
        conf = conf.capped("; ".join(caps))
    beats = pulse_beats(pulse, fs, a.hr_bpm, conf)
    return Prediction(
        hr_bpm=a.hr_bpm,
        fs=fs,
        pulse=pulse,
        times_s=grid - grid[0],
        window_times_s=a.window_times_s,
        window_hr_bpm=a.window_hr_bpm,
        window_peak_bpm=a.window_peak_bpm,
        window_snr_db=a.window_snr_db,
        window_ipr=a.window_ipr,
        spectrum_bpm=a.spectrum_bpm,
        spectrum=a.spectrum,
        confidence=conf,
        window_low=a.window_low,
        beats=beats,
        frames_read=int(stream.n_frames),
        frames_without_face=int(stream.frames_without_face),
        source=source_label,
        method=s.method,
        checkpoint=s.checkpoint,
        band_bpm=(band[0] * 60.0, band[1] * 60.0),
        roi=s.config.preprocess.roi,
        window_s=float(sig.window_s),
        stride_s=float(sig.stride_s),
        frames_expected=stream.frames_expected,
        truncated=bool(stream.truncated),
        warnings=list(stream.warnings),
    )


def predict(
    source: Any,
    fs: float | None = None,
    method: str | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    *,
    model: str | None = None,
    roi: str | None = None,
    band_bpm: Any = None,
    window_s: float | None = None,
    stride_s: float | None = None,
    preset: str | None = None,
    config: Any = None,
    device: Any = None,
    method_options: dict[str, Any] | None = None,
    progress: bool = False,
    prefetch: bool = True,
    resample: bool = True,
    threads: int | None = None,
    crop_process: bool = False,
) -> Prediction:
    """Heart rate of the face in ``source``.

    Args:
        source: a video file, a folder of frames, an array (T, H, W, 3) uint8 RGB, an
            iterator of frames (H, W, 3) or chunks (n, H, W, 3), or a
            :class:`~pulsecl.video.FrameSource`.  (For a live camera see
            :func:`pulsecl.live.live`.)
        fs: frame rate in Hz, for arrays and iterators (overrides a file's rate).
        method: classical method (``pos`` when no method, checkpoint or model is given).
        checkpoint: a pulsecl checkpoint (file or run folder): its sampler and backbone
            run over overlapping windows of crops made as in training.
        model: a model shipped with pulsecl, by name (``pulsecl models`` lists them).
        roi: ``face`` (detect and track the face) or ``full`` (video already cropped to
            skin).
        band_bpm: plausible heart-rate band ``(low, high)`` in bpm (default 40-250).
        window_s, stride_s: sliding windows for heart rate over time (default 10 s, 1 s).
        preset: post-processing preset (:mod:`pulsecl.signal.presets`).
        config: a :class:`pulsecl.config.Config` to start from (default: defaults, or
            the checkpoint's own config); the arguments above override it.
        device: torch device for a checkpoint (default: auto).
        method_options: options of the classical method.
        prefetch: decode the next chunk of frames in a background thread.
        resample: for a model, bring the crops to the frame rate it was trained at (its
            ``fs``) when the video's differs by more than 5 %, by linear interpolation in
            time; the pulse comes back at the video's rate.
        threads: for a model on the CPU, torch's threads during this call (torch's own
            setting is restored afterwards).
        crop_process: for a model and a video file or image folder, decode and crop the
            video in a child process that starts before the model loads, so that the
            video is read while torch is imported (:mod:`pulsecl.video.worker`; ``pulsecl
            predict`` does this).  The crops are the same; plugins registered at run time
            in this process are not seen by the child, hence off by default.  Crops are
            made here as usual when the model's preprocessing settings cannot be read
            without torch or turn out to differ.

    Returns:
        A :class:`~pulsecl.prediction.Prediction`.

    Raises:
        DataError: missing or unreadable video, no face, no frames.
        SignalError: a frame rate too low for the band, too short a video.
        CheckpointError: a missing, altered or mismatched checkpoint, an unknown model.
        ConfigError: bad settings.
    """
    from pulsecl.signal.processing import preload_scipy
    from pulsecl.video import PrefetchSource, open_source
    from pulsecl.video.pipeline import CropStream

    weights = checkpoint if checkpoint is not None else model
    with contextlib.ExitStack() as stack:
        early = None
        if crop_process and weights is not None and prefetch and _is_file_source(source):
            early = _start_crops(source, fs, weights, config, roi, progress, "checkpoint" if checkpoint is not None else "model")
            if early is not None:
                stack.callback(early.close)  # also when setup() fails: no child is left behind
        s = setup(method, checkpoint, model=model, config=config, roi=roi, band_bpm=band_bpm, window_s=window_s,
                  stride_s=stride_s, preset=preset, device=device, method_options=method_options, resample=resample)
        stack.enter_context(torch_threads(threads if s.model is not None else None))
        if early is not None and early.settings != s.config.preprocess:
            early.close()  # the model's settings differ from what was read without torch
            early = None
        stream: Any
        if early is not None:
            src_fs, label, stream = early.fs, early.path or early.name, early
        else:
            src = open_source(source, fs=fs, chunk_frames=s.config.preprocess.chunk_frames)
            src_fs, label = src.fs, src.path or src.name
            stream = CropStream(PrefetchSource(src) if prefetch else src, s.config.preprocess, progress=progress)
        check_rate(src_fs, s.band_hz, f"'{label}'")
        s.extractor.adapt(src_fs)
        preload_scipy()  # its import overlaps decoding; the analysis at the end needs it
        stats = InputStats()
        for crops, ts in stream:
            stats.feed(crops)
            s.extractor.feed(crops, ts)
        return finish(s, stream, label, stats)


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """torch's CPU threads set to ``threads`` inside the block, restored after it (torch's
    setting is process-wide); nothing at all for None (torch is not imported then)."""
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _is_file_source(source: Any) -> bool:
    """A video file or image folder that exists (what a crop process can open)."""
    from pathlib import Path

    return isinstance(source, (str, os.PathLike)) and Path(source).exists()


def _start_crops(source: Any, fs: float | None, weights: Any, config: Any, roi: str | None, progress: bool,
                 kind: str | None = None):
    """A :class:`~pulsecl.video.worker.CropProcess` with the preprocessing settings
    :func:`setup` will give the model (``config``, else the checkpoint's own, read without
    torch; ``roi``), started now; None when they cannot be read that way."""
    from pulsecl.config import Config, merge
    from pulsecl.engine.checkpoint import peek_config
    from pulsecl.errors import PulseclError
    from pulsecl.video.pipeline import model_settings
    from pulsecl.video.worker import CropProcess

    try:
        if config is not None:
            settings = copy.deepcopy(config.preprocess)
        else:
            from pulsecl.models import resolve

            raw = peek_config(resolve(weights, kind)[0])
            if raw is None:
                return None
            settings = merge(Config(), {k: v for k, v in raw.items() if isinstance(v, dict)}, "checkpoint", saved=True).preprocess
        if roi is not None:
            settings.roi = roi  # settings that cannot work fail in setup(), which stops the child
        settings = model_settings(settings)
    except PulseclError:  # setup() says what is wrong, as it does without a crop process
        return None
    return CropProcess(source, settings, fs=fs, progress=progress)
