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
  for the real clips (each by :func:`pulsecl.signal.api.heart_rate`).  A model that draws
  one frequency with the input's phase has a small spread (on semi-real video the
  default gave every held-out video 55-73 bpm, pseudo-labels of weight 1 gave 114-129,
  while the |r| columns read 0.2-0.35); a model that
  follows the pulses of different subjects spreads as their rates do.  It is logged,
  not a collapse criterion: subjects can share a heart rate, and no limit has been
  measured on labelled data yet.

A constant output counts as r = 0 (it depends on nothing, but it also follows nothing:
IPR and the other losses see it).  A model is **collapsed** when ``probe_noise_r`` or
``probe_grey_r`` exceeds :data:`INPUT_R_LIMIT` (0.5, the issue's threshold) or
``probe_cross_r`` exceeds :data:`CROSS_R_LIMIT`.  The cross limit is higher because real
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

__all__ = ["CROSS_R_LIMIT", "INPUT_R_LIMIT", "PROBE_VIDEOS", "ProbeResult", "collapse_probe", "probe_clips"]

#: Above this mean |r| with the noise or the grey clip's output, the model is collapsed.
INPUT_R_LIMIT = 0.5
#: Above this mean |r| between different subjects' outputs, the model is collapsed.
CROSS_R_LIMIT = 0.9
#: Training videos (of distinct groups) the trainer's probe uses.
PROBE_VIDEOS = 8


@dataclass
class ProbeResult:
    """What :func:`collapse_probe` measured; ``nan`` where it could not (one clip only)."""

    cross_r: float
    noise_r: float
    grey_r: float
    clips: int
    rate_spread: float = float("nan")

    @property
    def collapsed(self) -> bool:
        return bool(
            self.noise_r > INPUT_R_LIMIT or self.grey_r > INPUT_R_LIMIT or self.cross_r > CROSS_R_LIMIT
        )

    def as_row(self) -> dict[str, float | bool]:
        """Columns for ``epochs.csv``."""
        return {
            "probe_cross_r": round(self.cross_r, 4),
            "probe_noise_r": round(self.noise_r, 4),
            "probe_grey_r": round(self.grey_r, 4),
            "probe_rate_spread": round(self.rate_spread, 2),
            "collapsed": self.collapsed,
        }

    def describe(self) -> str:
        return (
            f"|r| between subjects {self.cross_r:.2f} (limit {CROSS_R_LIMIT}), with a noise clip "
            f"{self.noise_r:.2f}, with a grey clip {self.grey_r:.2f} (limit {INPUT_R_LIMIT}); "
            f"its heart rates spread {self.rate_spread:.1f} bpm"
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

    def run(x: torch.Tensor) -> np.ndarray:
        return model(x.to(device))[0].detach().float().cpu().numpy().astype(np.float64)

    outs = [run(torch.from_numpy(np.array(clip)).permute(3, 0, 1, 2)[None].float().div(255)) for clip in clips]
    y_noise, y_grey = run(noise), run(grey)
    pairs = [_abs_r(outs[i], outs[j]) for i in range(len(outs)) for j in range(i + 1, len(outs))]
    return ProbeResult(
        cross_r=float(np.mean(pairs)) if pairs else float("nan"),
        noise_r=float(np.mean([_abs_r(y, y_noise) for y in outs])),
        grey_r=float(np.mean([_abs_r(y, y_grey) for y in outs])),
        clips=len(outs),
        rate_spread=_spread(outs, fs, band_bpm),
    )


def _spread(outs: list[np.ndarray], fs: Sequence[float] | None, band_bpm: Sequence[float]) -> float:
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
