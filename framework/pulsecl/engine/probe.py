"""Collapse probe: does the model's output depend on its input?

A self-supervised rPPG model can satisfy its losses without looking at the skin (issue
12: trained on real patch videos, the small default returned the same waveform for two
real clips, uniform noise, a grey frame and a still frame, pairwise r = 1.000).  Its
loss and IPR look fine; what gives it away is that the output does not change with the
input.  The probe measures that on fixed clips:

* ``probe_cross_r``: mean |Pearson r| between the outputs for clips of *different*
  groups (subjects), over all pairs.  Real pulses of different people drift apart in
  phase within a clip; a collapsed model gives them one waveform.
* ``probe_noise_r``: mean over the real clips of |r| between the output for the clip and
  for a clip of uniform noise of the same shape.
* ``probe_grey_r``: the same against a grey (constant) clip.
* ``probe_rate_spread``: the standard deviation, bpm, of the heart rates of the outputs
  for the real clips (each by :func:`pulsecl.signal.api.heart_rate`), and
  ``probe_pos_spread`` the same for POS on the same clips (no label is read): a model
  that draws one frequency with the input's phase has a small spread (on semi-real video
  the default gave every held-out video 55-73 bpm; on real faces, 2026-12-05, the default
  trained from scratch gave 8 faces of 66-124 bpm 51-70 bpm, while the |r| columns read
  0.2-0.35).  ``probe_same_rate`` flags a spread under :data:`SPREAD_SHARE` of POS's when
  POS's spread is at least :data:`POS_SPREAD_MIN` bpm over at least 4 clips.
* ``probe_still_db``: the output for a *still face* (the middle frame of the first clip,
  repeated, with pixel noise) -- how far its spectral peak stands over what noise of that
  length reaches (:func:`pulsecl.signal.analysis.noise_floor_db`; dB, positive = over).  A
  still face has no pulse: a model whose output on it stands over the floor makes its own
  rhythm (the default trained from scratch on real faces put out a 61-bpm wave 29 dB over
  the spectrum's median on a still face; POS 3 dB, pulsecl-small 9 dB; docs/measurements.md,
  "Learning on real faces").

A constant output counts as r = 0 (it depends on nothing, but it also follows nothing:
IPR and the other losses see it).  A model is **collapsed** when ``probe_noise_r`` or
``probe_grey_r`` exceeds :data:`INPUT_R_LIMIT` (0.5, the issue's threshold),
``probe_cross_r`` exceeds :data:`CROSS_R_LIMIT`, its output on the still face stands over
the noise floor (``probe_still_db > 0``), or it gives every face about the same rate
(``probe_same_rate``).  The cross limit is higher because real
pulses of 66-85 bpm over an 8.5-s clip stay partly in phase: a model that tracks the
pulse gives a mean |r| of a few tenths between subjects, a collapsed one ~1.

The trainer runs the probe at the end of every epoch (model in eval mode) on up to
:data:`PROBE_VIDEOS` training videos of distinct groups, one clip each at the middle of
the video, and never picks a collapsed epoch as ``best.pt``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "CROSS_R_LIMIT", "INPUT_R_LIMIT", "POS_SPREAD_MIN", "PROBE_VIDEOS", "SPREAD_SHARE", "ProbeResult", "collapse_probe",
    "probe_clips", "still_clip",
]

#: Above this mean |r| with the noise or the grey clip's output, the model is collapsed.
INPUT_R_LIMIT = 0.5
#: Above this mean |r| between different subjects' outputs, the model is collapsed.
CROSS_R_LIMIT = 0.9
#: Training videos (of distinct groups) the trainer's probe uses.
PROBE_VIDEOS = 8
#: A model's heart rates spreading less than this share of POS's on the same clips ...
SPREAD_SHARE = 0.5
#: ... when POS's spread is at least this (bpm): every face gets about the same rate.
POS_SPREAD_MIN = 5.0


@dataclass
class ProbeResult:
    """What :func:`collapse_probe` measured; ``nan`` where it could not (one clip only)."""

    cross_r: float
    noise_r: float
    grey_r: float
    clips: int
    rate_spread: float = float("nan")
    pos_spread: float = float("nan")  # POS's heart rates on the same clips, bpm
    still_db: float = float("nan")  # the still face's output peak over the noise floor, dB

    @property
    def same_rate(self) -> bool:
        """Every face gets about the same rate: the spread is under :data:`SPREAD_SHARE`
        of POS's, on at least 4 clips whose POS rates spread :data:`POS_SPREAD_MIN` bpm."""
        return bool(self.clips >= 4 and self.pos_spread >= POS_SPREAD_MIN
                    and self.rate_spread < SPREAD_SHARE * self.pos_spread)

    @property
    def still_rhythm(self) -> bool:
        """The output for a still face stands over what noise reaches: a rhythm of its own."""
        return bool(self.still_db > 0)

    @property
    def collapsed(self) -> bool:
        return bool(
            self.noise_r > INPUT_R_LIMIT or self.grey_r > INPUT_R_LIMIT or self.cross_r > CROSS_R_LIMIT
            or self.still_rhythm or self.same_rate
        )

    def as_row(self) -> dict[str, float | bool]:
        """Columns for ``epochs.csv``."""
        return {
            "probe_cross_r": round(self.cross_r, 4),
            "probe_noise_r": round(self.noise_r, 4),
            "probe_grey_r": round(self.grey_r, 4),
            "probe_rate_spread": round(self.rate_spread, 2),
            "probe_pos_spread": round(self.pos_spread, 2),
            "probe_still_db": round(self.still_db, 2),
            "probe_same_rate": self.same_rate,
            "collapsed": self.collapsed,
        }

    def describe(self) -> str:
        return (
            f"|r| between subjects {self.cross_r:.2f} (limit {CROSS_R_LIMIT}), with a noise clip "
            f"{self.noise_r:.2f}, with a grey clip {self.grey_r:.2f} (limit {INPUT_R_LIMIT}); "
            f"its heart rates spread {self.rate_spread:.1f} bpm (POS's {self.pos_spread:.1f}); "
            f"its output for a still face {self.still_db:+.1f} dB from the noise floor"
        )


def _constant(x: np.ndarray) -> bool:
    """Constant up to float32 rounding."""
    return float(np.ptp(x)) <= 1e-6 * max(float(np.abs(x).max()), 1e-30)


def _abs_r(a: np.ndarray, b: np.ndarray) -> float:
    """|Pearson r| of two 1-D signals; 0 when either is constant."""
    if _constant(a) or _constant(b):
        return 0.0
    a, b = a - a.mean(), b - b.mean()
    return abs(float(a @ b)) / float(np.linalg.norm(a) * np.linalg.norm(b))


def probe_clips(videos: Sequence, frames: int, groups: Sequence[int] | None = None, limit: int = PROBE_VIDEOS):
    """Fixed clips for the probe: from up to ``limit`` videos of distinct groups (the
    first video of each group, in order), ``frames`` frames at the middle of each.

    Returns ``(clips, fs, groups)``: a list of uint8 arrays (T, H, W, 3), frame rates and
    group ids.  Videos shorter than ``frames`` are skipped.
    """
    clips, rates, kept = [], [], []
    seen: set[int] = set()
    for i, v in enumerate(videos):
        g = int(groups[i]) if groups is not None else i
        if g in seen or v.n_frames < frames:
            continue
        start = (v.n_frames - frames) // 2
        clips.append(np.asarray(v.frames[start : start + frames]))
        rates.append(float(v.fs))
        kept.append(g)
        seen.add(g)
        if len(clips) >= limit:
            break
    return clips, rates, kept


def collapse_probe(
    model: Callable[[torch.Tensor], torch.Tensor],
    clips: Sequence[np.ndarray],
    device: torch.device | str = "cpu",
    seed: int = 0,
    fs: Sequence[float] | None = None,
    band_bpm: Sequence[float] = (40.0, 250.0),
) -> ProbeResult:
    """Run ``model`` (video (N, 3, T, H, W) in [0, 1] -> (N, T); call it in eval mode and
    under ``torch.no_grad``) on ``clips`` (uint8 (T, H, W, 3), all one shape), a uniform
    noise clip and a grey clip of that shape, and measure how much its output depends on
    its input (module docstring).  The clips run one at a time, so that nothing depends
    on what else is in a batch.  With the clips' frame rates ``fs``, the spread of the
    outputs' heart rates within ``band_bpm`` is measured too."""
    if not clips:
        return ProbeResult(float("nan"), float("nan"), float("nan"), 0)
    t, h, w, c = np.asarray(clips[0]).shape
    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(1, c, t, h, w, generator=g)
    grey = torch.full((1, c, t, h, w), 0.5)

    def tensor(clip: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(clip)).permute(3, 0, 1, 2)[None].float().div(255)

    def run(x: torch.Tensor) -> np.ndarray:
        return model(x.to(device))[0].detach().float().cpu().numpy().astype(np.float64)

    outs = [run(tensor(clip)) for clip in clips]
    y_noise, y_grey = run(noise), run(grey)
    y_still = run(tensor(still_clip(clips[0], seed)))
    pairs = [_abs_r(outs[i], outs[j]) for i in range(len(outs)) for j in range(i + 1, len(outs))]
    return ProbeResult(
        cross_r=float(np.mean(pairs)) if pairs else float("nan"),
        noise_r=float(np.mean([_abs_r(y, y_noise) for y in outs])),
        grey_r=float(np.mean([_abs_r(y, y_grey) for y in outs])),
        clips=len(outs),
        rate_spread=_spread(outs, fs, band_bpm),
        pos_spread=_pos_spread(clips, fs, band_bpm),
        still_db=_over_floor(y_still, fs[0] if fs else None, band_bpm),
    )


def still_clip(clip: np.ndarray, seed: int = 0, noise: float = 2.0) -> np.ndarray:
    """The middle frame of ``clip`` (T, H, W, 3) repeated T times, with Gaussian pixel noise
    of ``noise`` grey levels: a face that does not pulse, move or change light."""
    frames = np.asarray(clip)
    frame = frames[len(frames) // 2].astype(np.float32)
    rng = np.random.default_rng(seed)
    still = frame[None] + rng.normal(0.0, noise, (len(frames), *frame.shape)).astype(np.float32)
    return np.clip(still + 0.5, 0, 255).astype(np.uint8)


def _over_floor(y: np.ndarray, fs: float | None, band_bpm: Sequence[float]) -> float:
    """How far (dB) the output's peak stands over what noise of its length reaches in
    :func:`pulsecl.signal.analysis.analyse` (nan without a frame rate or for a constant
    or too-short output)."""
    from pulsecl.errors import SignalError
    from pulsecl.signal.analysis import analyse

    if fs is None or _constant(y):
        return float("nan")
    try:
        c = analyse(y, float(fs), (band_bpm[0] / 60.0, band_bpm[1] / 60.0), harmonics=False).confidence
    except SignalError:
        return float("nan")
    return float(c.peak_db - c.floor_db)


def _pos_spread(clips: Sequence[np.ndarray], fs: Sequence[float] | None, band_bpm: Sequence[float]) -> float:
    """Standard deviation of POS's heart rates on the clips (their skin traces; no label)."""
    from pulsecl.signal.api import rgb_to_pulse
    from pulsecl.video.pipeline import rgb_trace

    if fs is None or len(clips) < 2:
        return float("nan")
    pulses = []
    for clip, f in zip(clips, fs):
        try:
            pulses.append(rgb_to_pulse(rgb_trace(np.asarray(clip)), float(f), "pos"))
        except Exception:  # noqa: BLE001 - a clip POS cannot read is left out
            pulses.append(np.zeros(len(clip)))
    return _spread(pulses, fs, band_bpm)


def _spread(outs: Sequence[np.ndarray], fs: Sequence[float] | None, band_bpm: Sequence[float]) -> float:
    """Standard deviation of the outputs' heart rates (:func:`pulsecl.signal.api.heart_rate`,
    the route every heart rate takes), over the outputs that have one."""
    from pulsecl.errors import SignalError
    from pulsecl.signal.api import heart_rate

    if fs is None or len(outs) < 2:
        return float("nan")
    rates = []
    for y, f in zip(outs, fs):
        if _constant(y):
            continue
        try:
            rates.append(float(heart_rate(y, float(f), band_bpm=tuple(band_bpm))))
        except SignalError:  # too short for the band
            continue
    return float(np.std(rates)) if len(rates) >= 2 else float("nan")
