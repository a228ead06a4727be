"""Evaluation: a trained checkpoint (or a classical method) on every video of a dataset.

Whole-video inference on overlapping windows with Hamming overlap-add (the negative
branch is never run), heart rate per video and per window, the metrics of
:mod:`pulsecl_metrics`, and a per-video CSV.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pulsecl.config import Config
from pulsecl.engine.clips import Video
from pulsecl.engine.inference import infer_signal
from pulsecl.errors import DataError

__all__ = ["VideoResult", "EvalResult", "evaluate_videos", "predict_video_hr", "write_results"]


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


@dataclass
class EvalResult:
    method: str
    videos: list[VideoResult]
    metrics: dict[str, Any]


def _band(config: Config) -> tuple[float, float]:
    lo, hi = config.signal.band_bpm
    return lo / 60.0, hi / 60.0


def hr_of(pulse: np.ndarray, fs: float, config: Config) -> float:
    """Heart rate (bpm) of a pulse with the config's preset.  The band is passed only
    when the config changes it, so a preset with a band of its own (rppg-toolbox) keeps
    it by default."""
    from pulsecl.signal.api import heart_rate

    if list(config.signal.band_bpm) == [40.0, 250.0]:
        return float(heart_rate(pulse, fs, preset=config.signal.preset))
    return float(heart_rate(pulse, fs, preset=config.signal.preset, band_bpm=tuple(config.signal.band_bpm)))


def hr_windows(pulse: np.ndarray, fs: float, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """(window times s, HR bpm) on sliding windows, with the preset's processing."""
    from pulsecl.signal.presets import get_preset

    band = None if list(config.signal.band_bpm) == [40.0, 250.0] else _band(config)
    kw = {} if band is None else {"band_hz": band}
    return get_preset(config.signal.preset).hr_over_time(pulse, fs, config.signal.window_s, config.signal.stride_s, **kw)


def model_pulse(backbone, video: Video, config: Config, clip_frames: int, device=None, sampler=None) -> np.ndarray:
    """Pulse signal (T,) of a whole video from a backbone (and sampler)."""
    import torch

    window = clip_frames
    if config.eval.window_s:
        window = int(round(config.eval.window_s * video.fs))

    def run(x):
        x = x.to(device) if device is not None else x
        if sampler is not None:
            x = sampler(x)
        return backbone(x)

    with torch.no_grad():
        return infer_signal(run, video.frames, window, overlap=config.eval.overlap, device=device)


def classical_pulse(method: str, video: Video, options: dict | None = None) -> np.ndarray:
    """Pulse signal (T,) of a whole video from a classical method on its skin RGB trace."""
    import pulsecl
    from pulsecl.video import rgb_trace

    trace = rgb_trace(video.frames)
    return pulsecl.rgb_to_pulse(trace, video.fs, method=method, **(options or {}))


def _reference_hr(video: Video, config: Config) -> float | None:
    if video.ppg is not None:
        return hr_of(video.ppg, video.fs, config)
    return video.hr


def predict_video_hr(backbone, video: Video, config: Config, clip_frames: int, device=None) -> tuple[float, float]:
    """(predicted, reference) mean heart rate of one labelled video, bpm."""
    pulse = model_pulse(backbone, video, config, clip_frames, device)
    est = hr_of(pulse, video.fs, config)
    ref = _reference_hr(video, config)
    if ref is None:
        raise DataError(f"video '{video.id}' has no reference pulse; validation needs labels")
    return est, ref


def score_pulse(pulse: np.ndarray, video: Video, config: Config) -> VideoResult:
    """Heart rate, per-window heart rate, SNR and MACC of one video's pulse."""
    from pulsecl.signal.quality import macc as quality_macc
    from pulsecl.signal.quality import snr

    band = _band(config)
    hr_pred = hr_of(pulse, video.fs, config)
    hr_ref = _reference_hr(video, config)
    windows: list[tuple[float, float, float | None]] = []
    duration = video.n_frames / video.fs
    if duration >= config.signal.window_s:
        t, pred = hr_windows(pulse, video.fs, config)
        ref_w = [None] * len(t)
        if video.ppg is not None:
            _, ref_arr = hr_windows(video.ppg, video.fs, config)
            ref_w = [float(r) for r in ref_arr]
        windows = [(float(a), float(b), c) for a, b, c in zip(t, pred, ref_w)]
    snr_db = float(snr(pulse, video.fs, hr_ref, band)) if hr_ref is not None else None
    macc = None
    if video.ppg is not None:
        macc = float(quality_macc(pulse, video.ppg, video.fs))
    return VideoResult(video.id, video.subject, video.n_frames, video.fs, hr_pred, hr_ref, snr_db, macc, windows, pulse)


def evaluate_videos(videos: list[Video], config: Config, method: str, pulse_fn) -> EvalResult:
    """Score ``pulse_fn(video) -> pulse`` on every video; HR metrics over videos."""
    from pulsecl_metrics import summarize

    results = [score_pulse(pulse_fn(v), v, config) for v in videos]
    labelled = [r for r in results if r.hr_ref is not None]
    metrics: dict[str, Any] = {"videos": len(results), "labelled": len(labelled)}
    if labelled:
        metrics.update(summarize(np.array([r.hr_pred for r in labelled]), np.array([r.hr_ref for r in labelled])))
    snrs = [r.snr_db for r in labelled if r.snr_db is not None]
    maccs = [r.macc for r in labelled if r.macc is not None]
    if snrs:
        metrics["snr_db"] = float(np.mean(snrs))
    if maccs:
        metrics["macc"] = float(np.mean(maccs))
    return EvalResult(method, results, metrics)


VIDEO_FIELDS = ["video", "subject", "frames", "fs", "hr_pred", "hr_ref", "abs_error", "snr_db", "macc"]


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
                        _fmt(r.hr_ref), _fmt(err), _fmt(r.snr_db), _fmt(r.macc)])
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
    """Load a checkpoint, preprocess ``data`` as it was trained, and evaluate."""
    from pulsecl.config import Config, apply_override, merge
    from pulsecl.engine.checkpoint import build_from_checkpoint, load_checkpoint
    from pulsecl.engine.clips import load_videos

    ck = load_checkpoint(checkpoint)
    config = merge(Config(), _plain_config(ck.get("config", {})), f"checkpoint {checkpoint}")
    config.data.root = str(data)
    config.data.cache = ""
    for o in overrides:
        apply_override(config, o)
    backbone, sampler = build_from_checkpoint(ck, checkpoint)
    videos = load_videos(config, data, split=split, labels=True, progress=progress)
    clip = int(ck.get("clip_frames") or config.data.clip_frames)
    return evaluate_videos(
        videos, config, f"checkpoint:{Path(str(checkpoint)).name}",
        lambda v: model_pulse(backbone, v, config, clip, sampler=sampler),
    )


def _plain_config(d: dict) -> dict:
    """The checkpoint's config dict, minus run-specific data keys."""
    d = {k: dict(v) for k, v in d.items() if isinstance(v, dict)}
    return d


def print_metrics(result: EvalResult) -> None:
    """A short table: per video, then the summary."""
    print(f"{'video':<24} {'HR pred':>8} {'HR ref':>8} {'|err|':>7} {'SNR dB':>7}")
    for r in result.videos:
        ref = f"{r.hr_ref:8.2f}" if r.hr_ref is not None else f"{'-':>8}"
        err = f"{abs(r.hr_pred - r.hr_ref):7.2f}" if r.hr_ref is not None else f"{'-':>7}"
        snr = f"{r.snr_db:7.2f}" if r.snr_db is not None else f"{'-':>7}"
        print(f"{r.video:<24} {r.hr_pred:8.2f} {ref} {err} {snr}")
    m = result.metrics
    parts = [f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items() if not isinstance(v, dict)]
    print("summary: " + ", ".join(parts))
