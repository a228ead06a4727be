"""Synthetic rPPG datasets with known ground truth, in the UBFC-rPPG DATASET_2 layout.

``generate(out, n, seed)`` writes::

    out/subject1/vid.avi            MJPG video (the compression knob sets its quality)
    out/subject1/ground_truth.txt   3 rows: PPG, HR (bpm), timestamps (s), one column per frame
    out/subject1/params.json        everything drawn for the clip: physiology, look, nuisances
    ...

so the ``ubfc-rppg`` dataset plugin reads it like the real dataset.  Subject ``k`` of a
seed is the same clip whatever ``n`` is, and each part of a clip (physiology, look,
motion, light, sensor noise) draws from its own random stream, so turning one nuisance
knob on leaves the pulse and the face as they were.

:func:`synthesize` gives one subject without writing anything; its ``frames()`` streams
chunks and ``render()`` returns them all (for tests and short clips).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pulsecl.errors import ConfigError, DataError
from pulsecl.synthetic.nuisances import Nuisances, illumination, motion_track
from pulsecl.synthetic.physiology import Physiology, sample_params, simulate
from pulsecl.synthetic.rendering import Renderer, sample_appearance

__all__ = ["SyntheticSubject", "generate", "render_clip", "synthesize", "GENERATOR"]

GENERATOR = "pulsecl.synthetic"  # written into params.json: marks synthetic data


def _check_clip_args(duration: float, fps: float, width: int, height: int, hr_range: tuple[float, float]) -> None:
    if not (isinstance(duration, (int, float)) and np.isfinite(duration) and duration > 0):
        raise ConfigError(f"synthetic duration = {duration!r} s: give a positive number of seconds")
    if not (isinstance(fps, (int, float)) and 1.0 <= fps <= 240.0):
        raise ConfigError(f"synthetic fps = {fps!r}: give a frame rate in 1-240 Hz (8-60 is the realistic range)")
    if int(width) < 64 or int(height) < 48:
        raise ConfigError(f"synthetic frame size {width}x{height}: use at least 64x48 pixels")
    lo, hi = hr_range
    if not 20.0 <= lo <= hi <= 250.0:
        raise ConfigError(f"synthetic hr_range = {list(hr_range)} bpm: give [low, high] within 20-250 bpm")
    if round(duration * fps) < 2:
        raise ConfigError(f"synthetic clip of {duration} s at {fps} fps has fewer than 2 frames")


@dataclass
class SyntheticSubject:
    """One synthetic clip: its timeline, physiology, pose, light and renderer.

    ``timestamps`` (T,) s; ``physiology.ppg`` (T,) the pulse rendered into each frame;
    ``params`` everything needed to describe the clip (JSON-ready).
    """

    timestamps: np.ndarray
    fps: float
    physiology: Physiology
    params: dict[str, Any]
    _renderer: Renderer
    _motion: Any
    _light: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.timestamps.size)

    def frames(self, chunk: int = 64) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Chunks ``(frames (n, H, W, 3) uint8 RGB, timestamps (n,) s)``, rendered on the fly."""
        ppg = self.physiology.ppg
        for start in range(0, self.n_frames, chunk):
            stop = min(start + chunk, self.n_frames)
            block = np.stack(
                [self._renderer.frame(float(ppg[i]), self._motion, i, float(self._light[i])) for i in range(start, stop)]
            )
            yield block, self.timestamps[start:stop]

    def render(self) -> np.ndarray:
        """All frames at once, (T, H, W, 3) uint8 RGB (mind the memory for long clips)."""
        return np.concatenate([f for f, _ in self.frames()], axis=0)


def synthesize(
    index: int = 0,
    seed: int = 0,
    duration: float = 10.0,
    fps: float = 30.0,
    width: int = 640,
    height: int = 480,
    hr_range: tuple[float, float] = (40.0, 180.0),
    skin_tone: float | None = None,
    pulse_amplitude: float = 0.01,
    **nuisances: Any,
) -> SyntheticSubject:
    """Draw subject ``index`` of dataset ``seed`` without rendering or writing anything.

    ``hr_range`` bounds the mean heart rate (bpm); ``skin_tone`` in [0, 1] (None: drawn);
    ``pulse_amplitude`` the pulse std in green as a fraction of the skin colour;
    ``nuisances``: the knobs of :class:`~pulsecl.synthetic.nuisances.Nuisances`.
    """
    _check_clip_args(duration, fps, width, height, hr_range)
    known = Nuisances.__dataclass_fields__
    for key in nuisances:
        if key not in known:
            from pulsecl.errors import did_you_mean

            raise ConfigError(
                f"unknown synthetic nuisance '{key}'{did_you_mean(key, list(known))} "
                f"(knobs: {', '.join(known)})"
            )
    nz = Nuisances(**nuisances)
    if skin_tone is not None and not 0.0 <= float(skin_tone) <= 1.0:
        raise ConfigError(f"synthetic skin_tone = {skin_tone!r}: give a number in [0, 1] (0 light, 1 dark)")
    if not 0.0 <= pulse_amplitude <= 0.2:
        raise ConfigError(f"synthetic pulse_amplitude = {pulse_amplitude!r}: give a fraction in [0, 0.2]")
    streams = np.random.SeedSequence([int(seed), int(index)]).spawn(5)
    rng_phys, rng_look, rng_motion, rng_light, rng_render = (np.random.default_rng(s) for s in streams)

    n = int(round(duration * fps))
    t = np.arange(n, dtype=np.float64) / float(fps)
    phys_params = sample_params(rng_phys, hr_range)
    physiology = simulate(t, phys_params, rng_phys)
    look = sample_appearance(rng_look, skin_tone, pulse_amplitude)
    motion = motion_track(t, nz, rng_motion)
    light = illumination(t, nz, rng_light)
    renderer = Renderer(width, height, look, nz, rng_render)
    from pulsecl._version import __version__

    params = {
        "generator": GENERATOR,
        "version": __version__,
        "seed": int(seed),
        "index": int(index),
        "duration_s": float(n / fps),
        "fps": float(fps),
        "width": int(width),
        "height": int(height),
        "n_frames": n,
        "hr_mean_bpm": float(np.mean(physiology.hr_bpm)),
        "hr_range_bpm": [float(v) for v in hr_range],
        "physiology": phys_params.to_dict(),
        "appearance": look.to_dict(),
        "nuisances": nz.to_dict(),
        "periodic_motion_hz_used": float(motion.periodic_hz),
    }
    return SyntheticSubject(t, float(fps), physiology, params, renderer, motion, light)


@dataclass
class SyntheticClip:
    """A rendered clip in memory: ``frames`` (T, H, W, 3) uint8 RGB, ``timestamps`` (T,)
    s, ``fs`` Hz, ``ppg`` (T,) the pulse in each frame, ``hr_bpm`` (T,) instantaneous
    heart rate, ``params`` as in params.json."""

    frames: np.ndarray
    timestamps: np.ndarray
    fs: float
    ppg: np.ndarray
    hr_bpm: np.ndarray
    params: dict[str, Any]


def render_clip(seed: int = 0, duration: float = 5.0, fps: float = 30.0, width: int = 160, height: int = 120, index: int = 0, **options: Any) -> SyntheticClip:
    """Render one clip in memory (no files): :func:`synthesize` then ``render()``.

    Defaults are small (160x120, 5 s) for tests; ``options`` are :func:`synthesize`'s.
    """
    subject = synthesize(index=index, seed=seed, duration=duration, fps=fps, width=width, height=height, **options)
    return SyntheticClip(
        frames=subject.render(),
        timestamps=subject.timestamps,
        fs=subject.fps,
        ppg=subject.physiology.ppg,
        hr_bpm=subject.physiology.hr_bpm,
        params=subject.params,
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ground_truth_text(subject: SyntheticSubject) -> str:
    """The UBFC-rPPG DATASET_2 ``ground_truth.txt``: PPG, HR and time rows."""
    rows = (subject.physiology.ppg, subject.physiology.hr_bpm, subject.timestamps)
    return "\n".join(" ".join(f"{v:.7e}" for v in row) for row in rows) + "\n"


def generate(
    out_dir: str | os.PathLike[str],
    n: int,
    seed: int = 0,
    duration: float = 10.0,
    fps: float = 30.0,
    width: int = 640,
    height: int = 480,
    hr_range: tuple[float, float] = (40.0, 180.0),
    skin_tone: float | None = None,
    pulse_amplitude: float = 0.01,
    overwrite: bool = False,
    progress: bool = False,
    **nuisances: Any,
) -> list[Path]:
    """Write ``n`` synthetic subjects to ``out_dir`` in the UBFC-rPPG DATASET_2 layout.

    Returns the subject folders.  Each folder is assembled in a temporary folder and
    renamed into place when complete, so an error or Ctrl-C never leaves a half-written
    subject.  Existing subject folders are an error unless ``overwrite``.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"synthetic n = {n!r}: give the number of subjects, at least 1")
    # Check every argument before writing anything.
    first = synthesize(0, seed, duration, fps, width, height, hr_range, skin_tone, pulse_amplitude, **nuisances)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder; give a folder for the synthetic dataset")
    targets = [out / f"subject{i + 1}" for i in range(n)]
    taken = [p for p in targets if p.exists()]
    if taken and not overwrite:
        raise DataError(
            f"{taken[0]}: already exists ({len(taken)} of the {n} subject folders do); "
            "use another folder or overwrite (pulsecl synth --overwrite)"
        )
    out.mkdir(parents=True, exist_ok=True)
    from pulsecl.io import write_json, write_text
    from pulsecl.video.writer import write_video

    bar = None
    if progress:
        from pulsecl.progress import bar as progress_bar

        bar = progress_bar(total=n * first.n_frames, unit="frame", desc=f"synth {out}")
    try:
        for i, target in enumerate(targets):
            subject = first if i == 0 else synthesize(
                i, seed, duration, fps, width, height, hr_range, skin_tone, pulse_amplitude, **nuisances
            )
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=out))
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private
            try:

                def frames(subject: SyntheticSubject = subject) -> Iterator[np.ndarray]:
                    for block, _ in subject.frames():
                        yield block
                        if bar is not None:
                            bar.update(len(block))

                write_video(tmp / "vid.avi", frames(), subject.fps, quality=int(subject.params["nuisances"]["quality"]))
                write_text(tmp / "ground_truth.txt", ground_truth_text(subject))
                write_json(tmp / "params.json", subject.params)
                if target.exists():
                    shutil.rmtree(target)
                os.replace(tmp, target)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if bar is not None:
            bar.close()
    return targets
