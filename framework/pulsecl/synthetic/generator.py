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

__all__ = ["GENERATOR", "PATCHES", "PRESETS", "SyntheticSubject", "generate", "render_clip", "synthesize"]

GENERATOR = "pulsecl.synthetic"  # written into params.json: marks synthetic data

#: Skin patches cut out of the rendered face (``patch=`` of :func:`synthesize`), as in
#: the bias-eval videos: ``(dx, dy, width, height)``, the centre's offset from the face
#: centre in face heights and the size in real pixels; upscaled to ``patch_size``.
PATCHES: dict[str, tuple[float, float, int, int]] = {
    "forehead": (0.0, -0.22, 60, 30),
    "leftcheek": (-0.17, 0.17, 25, 25),
    "rightcheek": (0.17, 0.17, 25, 25),
}

#: Named settings of :func:`synthesize` / :func:`generate` (``pulsecl synth --preset``).
#: ``realistic``: calibrated on the real bias-eval dev patches (15 fps skin patches of
#: 25x25 to 60x30 real pixels): their pulse SNR at the reference heart rate is -6.5 dB
#: median (IQR -7.5 to -5.9), and these clips' is -6.0 (IQR -6.7 to -5.3; a
#: Kolmogorov-Smirnov test cannot tell the two apart, p = 0.42, 12 patches); no setting
#: of the other knobs without glitches came within 5 dB of it.  On such clips every
#: classical method is at chance, as on the real patches (docs/measurements.md).
PRESETS: dict[str, dict[str, Any]] = {
    "realistic": {
        "fps": 15.0, "pulse_amplitude": 0.003, "noise": 6.0, "translation": 0.02, "rotation": 2.0,
        "glitch": 0.08, "quality": 60, "width": 266, "height": 200, "patch": "leftcheek", "hr_range": (50.0, 110.0),
    },
}


def apply_preset(preset: str | None, given: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """``given`` settings over preset ``preset``'s over ``defaults``: an argument the
    caller gave explicitly (not None, not its default) wins over the preset."""
    if preset is None:
        return {**defaults, **{k: v for k, v in given.items() if v is not None}}
    if preset not in PRESETS:
        from pulsecl.errors import did_you_mean

        raise ConfigError(f"unknown synthetic preset '{preset}'{did_you_mean(preset, PRESETS)} (presets: {', '.join(PRESETS)})")
    out = {**defaults, **PRESETS[preset]}
    out.update({k: v for k, v in given.items() if v is not None and v != defaults.get(k)})
    return out


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
    _glitches: np.ndarray | None = None  # (T, 3): jumped?, x, y (pixels) per frame
    _patch: tuple[int, int, int, int] | None = None  # x, y, w, h of the skin patch
    _patch_size: int = 200

    @property
    def n_frames(self) -> int:
        return int(self.timestamps.size)

    def frames(self, chunk: int = 64) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Chunks ``(frames (n, H, W, 3) uint8 RGB, timestamps (n,) s)``, rendered on the fly."""
        ppg = self.physiology.ppg
        for start in range(0, self.n_frames, chunk):
            stop = min(start + chunk, self.n_frames)
            block = np.stack(
                [self._view(self._renderer.frame(float(ppg[i]), self._motion, i, float(self._light[i])), i)
                 for i in range(start, stop)]
            )
            yield block, self.timestamps[start:stop]

    def _view(self, frame: np.ndarray, i: int) -> np.ndarray:
        """What the camera shows of a rendered frame: the whole frame or the skin patch,
        jumped elsewhere on a glitch frame."""
        import cv2

        jumped = self._glitches is not None and self._glitches[i, 0] > 0
        if self._patch is None:
            if jumped:
                frame = np.roll(frame, (int(self._glitches[i, 2]), int(self._glitches[i, 1])), axis=(0, 1))
            return frame
        x, y, w, h = self._patch
        if jumped:
            x, y = int(self._glitches[i, 1]) % max(frame.shape[1] - w, 1), int(self._glitches[i, 2]) % max(frame.shape[0] - h, 1)
        size = self._patch_size
        return cv2.resize(np.ascontiguousarray(frame[y : y + h, x : x + w]), (size, size), interpolation=cv2.INTER_LINEAR)

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
    patch: str | None = None,
    patch_size: int = 200,
    **nuisances: Any,
) -> SyntheticSubject:
    """Draw subject ``index`` of dataset ``seed`` without rendering or writing anything.

    ``hr_range`` bounds the mean heart rate (bpm); ``skin_tone`` in [0, 1] (None: drawn);
    ``pulse_amplitude`` the pulse std in green as a fraction of the skin colour;
    ``patch``: show only a skin patch of the face (:data:`PATCHES`: ``forehead``,
    ``leftcheek``, ``rightcheek``; its real pixels upscaled to ``patch_size`` square), as
    the bias-eval videos do; ``nuisances``: the knobs of
    :class:`~pulsecl.synthetic.nuisances.Nuisances`.
    """
    _check_clip_args(duration, fps, width, height, hr_range)
    if patch is not None and patch not in PATCHES:
        raise ConfigError(f"synthetic patch = {patch!r}: use one of {', '.join(PATCHES)}, or none for the whole frame")
    if not (isinstance(patch_size, int) and 8 <= patch_size <= 1024):
        raise ConfigError(f"synthetic patch_size = {patch_size!r}: give a size in pixels, 8-1024")
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
    # Each part draws from its own stream (the first five are those of pulsecl 0.1, so
    # its clips stay the same); the glitches come last.
    streams = np.random.SeedSequence([int(seed), int(index)]).spawn(6)
    rng_phys, rng_look, rng_motion, rng_light, rng_render, rng_glitch = (np.random.default_rng(s) for s in streams)

    n = int(round(duration * fps))
    t = np.arange(n, dtype=np.float64) / float(fps)
    phys_params = sample_params(rng_phys, hr_range)
    physiology = simulate(t, phys_params, rng_phys)
    look = sample_appearance(rng_look, skin_tone, pulse_amplitude)
    motion = motion_track(t, nz, rng_motion)
    light = illumination(t, nz, rng_light)
    renderer = Renderer(width, height, look, nz, rng_render)
    glitches = None
    if nz.glitch > 0:
        glitches = np.stack([rng_glitch.random(n) < nz.glitch, rng_glitch.integers(0, width, n),
                             rng_glitch.integers(0, height, n)], axis=1).astype(np.int64)
    box = None
    if patch is not None:
        dx, dy, w, h = PATCHES[patch]
        fh = look.face_height * height
        cx, cy = look.centre_x * width + dx * fh, look.centre_y * height + dy * fh
        box = (int(np.clip(round(cx - w / 2), 0, width - w)), int(np.clip(round(cy - h / 2), 0, height - h)), w, h)
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
        "patch": None if box is None else {"region": patch, "box_xywh": list(box), "size": int(patch_size)},
        "glitch_frames": 0 if glitches is None else int(glitches[:, 0].sum()),
    }
    return SyntheticSubject(t, float(fps), physiology, params, renderer, motion, light, glitches, box, int(patch_size))


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
    preset: str | None = None,
    **nuisances: Any,
) -> list[Path]:
    """Write ``n`` synthetic subjects to ``out_dir`` in the UBFC-rPPG DATASET_2 layout.

    ``preset`` (:data:`PRESETS`, e.g. ``"realistic"``) sets the clip's settings; an
    argument given explicitly, with another value than its default, wins over it.
    Returns the subject folders.  Each folder is assembled in a temporary folder and
    renamed into place when complete, so an error or Ctrl-C never leaves a half-written
    subject.  Existing subject folders are an error unless ``overwrite``.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"synthetic n = {n!r}: give the number of subjects, at least 1")
    defaults = {"fps": 30.0, "width": 640, "height": 480, "hr_range": (40.0, 180.0), "pulse_amplitude": 0.01}
    given = {"fps": fps, "width": width, "height": height, "hr_range": tuple(hr_range), "pulse_amplitude": pulse_amplitude}
    knob_defaults = Nuisances().to_dict()
    settings = apply_preset(preset, {**given, **nuisances}, {**defaults, **knob_defaults, "patch": None})
    for key, value in knob_defaults.items():  # the knobs nobody set stay off the call
        if key not in nuisances and settings.get(key) == value and key not in PRESETS.get(preset or "", {}):
            settings.pop(key)
    fps, width, height = settings.pop("fps"), settings.pop("width"), settings.pop("height")
    hr_range, pulse_amplitude = tuple(settings.pop("hr_range")), settings.pop("pulse_amplitude")
    nuisances = settings
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
