"""Evaluation: a trained model (or a classical method) on every video of a dataset.

Each preprocessed video goes through the same pulse extractors as ``pulsecl predict``
(:mod:`pulsecl.extractors`: the model through the inference engine, at the frame rate
it was trained at; a classical method on the skin RGB trace), onto the uniform time
grid of its frame timestamps, and through the same heart-rate analysis
(:func:`pulsecl.signal.analysis.analyse`): a video gives the heart rate here that
``predict`` gives for it.  The reference heart rate is the same analysis of the
reference pulse (or the dataset's mean rate when it has no pulse).  Metrics over videos
come from the ``metrics`` table (:func:`pulsecl.engine.metrics.summarize_hr`); a
per-video and a per-window CSV are written beside a JSON summary.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pulsecl.config import Config
from pulsecl.engine.clips import Video
from pulsecl.errors import DataError, SignalError

__all__ = [
    "EvalResult",
    "VideoResult",
    "classical_config",
    "classical_pulse",
    "evaluate_checkpoint",
    "evaluate_videos",
    "model_pulse",
    "print_metrics",
    "score_pulse",
    "video_pulse",
    "write_results",
]


@dataclass
class VideoResult:
    video: str
    subject: str
    frames: int
    fs: float
    hr_pred: float
    hr_ref: float | None
    snr_db: float | None
    macc: float | None
    windows: list[tuple[float, float, float | None]] = field(default_factory=list)  # (t, pred, ref)
    pulse: np.ndarray | None = None
    confidence: Any = None  # pulsecl.signal.analysis.Confidence of hr_pred


@dataclass
class EvalResult:
    method: str
    videos: list[VideoResult]
    metrics: dict[str, Any]


def _band(config: Config) -> tuple[float, float]:
    from pulsecl.signal.common import band_hz

    return band_hz(config.signal.band_bpm, what="signal.band_bpm")


def video_pulse(extractor: Any, video: Video, chunk_frames: int = 300) -> tuple[np.ndarray, float]:
    """``(pulse on the video's uniform time grid (T,), its rate fs)`` from a fresh
    :mod:`pulsecl.extractors` extractor fed the video's crops chunk by chunk."""
    from pulsecl.extractors import uniform_grid

    extractor.adapt(video.fs)
    ts = np.asarray(video.timestamps, dtype=np.float64)
    for s in range(0, video.n_frames, chunk_frames):
        extractor.feed(np.asarray(video.frames[s : s + chunk_frames]), ts[s : s + chunk_frames])
    extractor.finish()
    grid, fs = uniform_grid(ts)
    return extractor.pulse(grid, fs), fs


def model_pulse(model: Any, video: Video, config: Config | None = None) -> np.ndarray:
    """Pulse (T,) of a whole video from a :class:`pulsecl.models.PulseModel`, as
    ``predict`` makes it (windows of the model's length, ``eval.overlap`` of
    ``config`` or of the model's own config)."""
    from pulsecl.extractors import ModelPulse

    overlap = (config or model.config).eval.overlap
    return video_pulse(ModelPulse(model, overlap=overlap), video)[0]


def classical_config(config: Config) -> Config:
    """A copy of ``config`` whose crops are those a classical method's trace reads
    (:func:`pulsecl.video.pipeline.trace_settings`: ``trace_size``, and ``roi = "auto"``
    as ``landmarks`` where the landmarker runs); load the videos with it, as ``predict``
    and ``bench`` do, for :func:`classical_pulse` to give their heart rate."""
    import copy

    from pulsecl.video.pipeline import trace_settings

    out = copy.deepcopy(config)
    out.preprocess = trace_settings(config.preprocess)
    return out


def classical_pulse(method: str, video: Video, options: dict | None = None, config: Config | None = None) -> np.ndarray:
    """Pulse (T,) of a whole video from a classical method on its skin RGB trace, as
    ``predict`` makes it (the band and the trace's despiking of ``config``, default the
    defaults).  The video's crops are those of
    :func:`pulsecl.video.pipeline.trace_settings` (``roi = "landmarks"``: each crop
    carries its skin region)."""
    from pulsecl.config import Config as _Config
    from pulsecl.extractors import TracePulse

    cfg = config or _Config()
    sig = cfg.signal
    region = cfg.preprocess.roi == "landmarks"
    return video_pulse(TracePulse(method, options, band_bpm=sig.band_bpm, despike=sig.despike, region=region), video)[0]


def _resampled_reference(video: Video) -> np.ndarray | None:
    """The reference pulse on the video's uniform time grid."""
    if video.ppg is None:
        return None
    from pulsecl.extractors import resample_to_grid, uniform_grid

    ts = np.asarray(video.timestamps, dtype=np.float64)
    grid, _ = uniform_grid(ts)
    return resample_to_grid(np.asarray(video.ppg, dtype=np.float64), ts, grid)


def score_pulse(pulse: np.ndarray, video: Video, config: Config) -> VideoResult:
    """Heart rate, per-window heart rate, SNR and MACC of one video's pulse (on the
    video's uniform time grid), by :func:`pulsecl.signal.analysis.analyse`."""
    from pulsecl.extractors import uniform_grid
    from pulsecl.signal.analysis import analyse, analyse_with
    from pulsecl.signal.quality import macc as quality_macc
    from pulsecl.signal.quality import snr

    band = _band(config)
    sig = config.signal
    _, fs = uniform_grid(np.asarray(video.timestamps, dtype=np.float64))
    try:
        a = analyse_with(pulse, fs, sig)
        if not np.isfinite(a.hr_bpm):
            raise SignalError(a.confidence.reason)
        ref = _resampled_reference(video)
        ref_a = analyse(ref, fs, band, sig.window_s, sig.stride_s, sig.preset) if ref is not None else None
    except SignalError as exc:
        raise SignalError(f"video '{video.id}': {exc}") from None
    hr_ref = ref_a.hr_bpm if ref_a is not None else video.hr
    ref_w = ref_a.window_hr_bpm if ref_a is not None else [None] * len(a.window_times_s)
    windows = [(float(t), float(p), None if r is None else float(r))
               for t, p, r in zip(a.window_times_s, a.window_hr_bpm, ref_w)]
    snr_db = float(snr(pulse, fs, hr_ref, band)) if hr_ref is not None else None
    macc = float(quality_macc(pulse, ref, fs)) if ref is not None else None
    return VideoResult(video.id, video.subject, video.n_frames, fs, a.hr_bpm, hr_ref, snr_db, macc, windows, pulse,
                       a.confidence)


def evaluate_videos(videos: list[Video], config: Config, method: str, pulse_fn: Callable[[Video], np.ndarray]) -> EvalResult:
    """Score ``pulse_fn(video) -> pulse`` on every video; HR metrics over videos."""
    from pulsecl.engine.metrics import summarize_hr

    results = [score_pulse(pulse_fn(v), v, config) for v in videos]
    labelled = [r for r in results if r.hr_ref is not None]
    metrics: dict[str, Any] = {"videos": len(results), "labelled": len(labelled)}
    undefined: dict[str, str] = {}
    if labelled:
        metrics.update(summarize_hr(np.array([r.hr_pred for r in labelled]), np.array([r.hr_ref for r in labelled]),
                                    reasons=undefined))
    snrs = [r.snr_db for r in labelled if r.snr_db is not None]
    maccs = [r.macc for r in labelled if r.macc is not None]
    levels = [r.confidence.level for r in results if r.confidence is not None]
    if levels:
        metrics["high_confidence"] = float(np.mean([lv == "high" for lv in levels]))  # share of videos
        confident = [r for r in labelled if r.confidence is not None and r.confidence.level == "high"]
        if confident:
            metrics["mae_high_confidence"] = float(np.mean([abs(r.hr_pred - r.hr_ref) for r in confident]))
    if snrs:
        metrics["snr_db"] = float(np.mean(snrs))
    if maccs:
        metrics["macc"] = float(np.mean(maccs))
    if undefined:  # why a metric is null in summary.json (a Pearson r of 2 videos, say)
        metrics["undefined"] = undefined
    return EvalResult(method, results, metrics)


VIDEO_FIELDS = ["video", "subject", "frames", "fs", "hr_pred", "hr_ref", "abs_error", "snr_db", "macc", "confidence"]


def write_results(result: EvalResult, out_dir: str | Path) -> dict[str, Path]:
    """Per-video CSV, per-window CSV and a JSON summary, written atomically."""
    from pulsecl.io import atomic_write, write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"videos": out / "videos.csv", "windows": out / "windows.csv", "summary": out / "summary.json"}
    with atomic_write(paths["videos"], "w") as fh:
        w = csv.writer(fh)
        w.writerow(VIDEO_FIELDS)
        for r in result.videos:
            err = abs(r.hr_pred - r.hr_ref) if r.hr_ref is not None else None
            w.writerow([r.video, r.subject, r.frames, f"{r.fs:.4f}", f"{r.hr_pred:.3f}",
                        _fmt(r.hr_ref), _fmt(err), _fmt(r.snr_db), _fmt(r.macc),
                        r.confidence.level if r.confidence is not None else ""])
    with atomic_write(paths["windows"], "w") as fh:
        w = csv.writer(fh)
        w.writerow(["video", "t_s", "hr_pred", "hr_ref"])
        for r in result.videos:
            for t, p, ref in r.windows:
                w.writerow([r.video, f"{t:.3f}", f"{p:.3f}", _fmt(ref)])
    write_json(paths["summary"], {"method": result.method, "metrics": result.metrics})
    return paths


def _fmt(v) -> str:
    return "" if v is None else f"{v:.3f}"


def evaluate_checkpoint(checkpoint, data, overrides=(), split: str = "all", progress: bool = False) -> EvalResult:
    """Load a checkpoint (or a shipped model, by name), preprocess ``data`` as it was
    trained, and evaluate."""
    import copy

    from pulsecl.config import apply_override, validate
    from pulsecl.engine.clips import load_videos
    from pulsecl.models import load_model

    model = load_model(checkpoint)
    config = copy.deepcopy(model.config)
    config.data.root = str(data)
    config.data.cache = ""
    for o in overrides:
        apply_override(config, o)
    validate(config)
    videos = load_videos(config, data, split=split, labels=True, progress=progress)
    if not videos:
        raise DataError(f"'{data}' has no videos to evaluate in split '{split}'")
    return evaluate_videos(videos, config, f"checkpoint:{Path(model.label).name}", lambda v: model_pulse(model, v, config))


def print_metrics(result: EvalResult) -> None:
    """A short table: per video, then the summary."""
    print(f"{'video':<24} {'HR pred':>8} {'HR ref':>8} {'|err|':>7} {'SNR dB':>7}  confidence")
    for r in result.videos:
        ref = f"{r.hr_ref:8.2f}" if r.hr_ref is not None else f"{'-':>8}"
        err = f"{abs(r.hr_pred - r.hr_ref):7.2f}" if r.hr_ref is not None else f"{'-':>7}"
        snr = f"{r.snr_db:7.2f}" if r.snr_db is not None else f"{'-':>7}"
        level = r.confidence.level if r.confidence is not None else "-"
        print(f"{r.video:<24} {r.hr_pred:8.2f} {ref} {err} {snr}  {level}")
    m = result.metrics
    parts = [f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items() if not isinstance(v, dict)]
    print("summary: " + ", ".join(parts))
