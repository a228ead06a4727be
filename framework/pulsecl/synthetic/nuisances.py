"""Nuisances of a synthetic clip, each its own knob: motion, illumination, noise,
compression.

Every knob is 0 (off) by default except sensor noise and compression, which a real
camera always has.  ``glitch`` is the share of frames in which the picture jumps for one
frame: a skin patch is cut from a random place of the frame, a whole frame is shown
shifted by a random offset.  Real skin-patch video does this on about 5 % of its frames
(the bias-eval dev patches), tens of grey levels at a time, and it buries the pulse.  :class:`Nuisances` is what a user sets; :func:`motion_track` and
:func:`illumination` turn it into per-frame values, drawn from the clip's own random
generator so a seed gives the same clip every time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from pulsecl.errors import ConfigError

__all__ = ["Nuisances", "MotionTrack", "motion_track", "illumination"]


@dataclass
class Nuisances:
    """The nuisance knobs (CLI: ``pulsecl synth --<knob with dashes> VALUE``); each
    field's ``metadata["help"]`` says what it does."""

    translation: float = field(default=0.0, metadata={"help": "std of slow head translation, fraction of the face height"})
    rotation: float = field(default=0.0, metadata={"help": "std of slow in-plane head rotation, degrees"})
    scale: float = field(default=0.0, metadata={"help": "std of slow zoom (towards/away from the camera), fraction"})
    periodic_motion: float = field(default=0.0, metadata={"help": "amplitude of periodic nodding, fraction of the face height"})
    periodic_motion_hz: float = field(default=0.0, metadata={"help": "its frequency; 0 = drawn per clip in 0.7-3 Hz (inside the HR band)"})
    motion_hz: float = field(default=0.3, metadata={"help": "bandwidth of the slow (non-periodic) motion, Hz"})
    illumination_drift: float = field(default=0.0, metadata={"help": "std of slow brightness change, fraction"})
    flicker: float = field(default=0.0, metadata={"help": "amplitude of light flicker, fraction"})
    flicker_hz: float = field(default=100.0, metadata={"help": "flicker frequency (mains: 100 or 120 Hz; aliased by the frame rate)"})
    specular: float = field(default=0.05, metadata={"help": "strength of the specular highlights (fraction of white)"})
    noise: float = field(default=2.0, metadata={"help": "sensor noise std, in 0-255 intensity levels"})
    quality: int = field(default=90, metadata={"help": "compression: JPEG quality of the MJPG video, 1-100 (lower = more artefacts)"})
    glitch: float = field(default=0.0, metadata={"help": "share of frames in which the picture jumps for one frame (the region of interest leaves the skin), 0-1"})

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value):
                raise ConfigError(f"synthetic nuisance '{f.name}' = {value!r}: give a number")
            if value < 0:
                raise ConfigError(f"synthetic nuisance '{f.name}' = {value!r}: must be >= 0")
        if not 1 <= self.quality <= 100:
            raise ConfigError(f"synthetic nuisance 'quality' = {self.quality!r}: give a JPEG quality in 1-100")
        if self.translation > 0.5 or self.periodic_motion > 0.5:
            raise ConfigError(
                "synthetic nuisances 'translation' and 'periodic_motion' are fractions of the "
                f"face height; {max(self.translation, self.periodic_motion)} would move the face "
                "out of the frame (use <= 0.5)"
            )
        if self.scale >= 0.5:
            raise ConfigError(f"synthetic nuisance 'scale' = {self.scale}: use < 0.5")
        if self.glitch > 1:
            raise ConfigError(f"synthetic nuisance 'glitch' = {self.glitch}: give a share of frames in [0, 1]")

    def to_dict(self) -> dict[str, float]:
        return dict(asdict(self))


@dataclass
class MotionTrack:
    """Per-frame head pose: ``dx``, ``dy`` (T,) offsets in face heights, ``angle`` (T,)
    degrees, ``zoom`` (T,) scale factors; ``periodic_hz`` the nodding frequency used."""

    dx: np.ndarray
    dy: np.ndarray
    angle: np.ndarray
    zoom: np.ndarray
    periodic_hz: float


def _band_noise(rng: np.random.Generator, t: np.ndarray, bandwidth_hz: float) -> np.ndarray:
    """Zero-mean, unit-std smooth random signal on ``t`` with power below the bandwidth."""
    n = 12
    freqs = rng.uniform(0.02, 1.0, n) * bandwidth_hz
    phases = rng.uniform(0.0, 2 * np.pi, n)
    amps = rng.rayleigh(1.0, n) / np.sqrt(np.arange(1, n + 1))
    sig = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None])).sum(0)
    return sig / np.sqrt(0.5 * (amps**2).sum())


def motion_track(t: np.ndarray, nz: Nuisances, rng: np.random.Generator) -> MotionTrack:
    """Head pose at frame times ``t`` (T,) seconds.

    Slow motion: band-limited noise below ``motion_hz``.  Periodic motion: a vertical
    nod ``periodic_motion * sin(2 pi f t)``, f = ``periodic_motion_hz`` or, when 0, drawn
    in 0.7-3 Hz: inside the heart-rate band, the hard case for rPPG.
    """
    t = np.asarray(t, dtype=np.float64)
    hz = nz.periodic_motion_hz or float(rng.uniform(0.7, 3.0))
    phase = rng.uniform(0, 2 * np.pi)
    # Draw every random stream even when its knob is 0, so turning one knob on does not
    # change the others' draws (or the pulse) for the same seed.
    sx, sy, sa, sz = (_band_noise(rng, t, nz.motion_hz) for _ in range(4))
    nod = nz.periodic_motion * np.sin(2 * np.pi * hz * t + phase)
    return MotionTrack(
        dx=nz.translation * sx,
        dy=nz.translation * sy + nod,
        angle=nz.rotation * sa,
        zoom=np.exp(nz.scale * sz),
        periodic_hz=hz,
    )


def illumination(t: np.ndarray, nz: Nuisances, rng: np.random.Generator) -> np.ndarray:
    """Light intensity at frame times ``t`` (T,): ``1 + drift + flicker``, shape (T,).

    Drift is band-limited noise below 0.05 Hz; flicker a sinusoid at ``flicker_hz``
    sampled at the frame times, so mains flicker aliases exactly as it does in a camera.
    """
    t = np.asarray(t, dtype=np.float64)
    drift = _band_noise(rng, t, 0.05)
    phase = rng.uniform(0, 2 * np.pi)
    light = 1.0 + nz.illumination_drift * drift + nz.flicker * np.sin(2 * np.pi * nz.flicker_hz * t + phase)
    return np.clip(light, 0.2, 2.0)
