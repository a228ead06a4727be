"""Rendering synthetic face video with the skin-reflection model.

Each pixel of skin follows the skin-reflection model of Wang et al., "Algorithmic
Principles of Remote PPG", IEEE TBME 2017:

    C(t) = I(t) * (u_d * d0 * (1 - a * u_p * p(t)) + u_s * s(t))

``d0 * u_d`` is the diffuse skin colour (the albedo map of the drawn face, shading
included), ``p(t)`` the blood-volume pulse, ``u_p`` its colour direction (relative
pulsatility per channel; the normalised blood-volume signature of de Haan & van Leest,
"Improved motion robustness of remote-PPG by using the blood volume pulse signature",
Physiol. Meas. 2014, for light skin, shifted towards red for dark skin, where melanin
absorbs more of the green and blue), ``a`` the pulse amplitude, ``s(t)`` the specular
reflection (the colour of the light, changing with head pose) and ``I(t)`` the light
intensity (drift, flicker).  Blood absorbs light: more blood, darker skin, hence the
minus sign.  The background is a static texture: it carries no pulse and only follows
``I(t)``.

Frames are uint8 RGB (H, W, 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pulsecl.synthetic.face import FaceLayers, draw_face
from pulsecl.synthetic.nuisances import MotionTrack, Nuisances

__all__ = [
    "SKIN_TONES",
    "Appearance",
    "Renderer",
    "make_background",
    "pulse_direction",
    "sample_appearance",
    "skin_colour",
]

#: Skin albedos (sRGB, 0-255) from light (tone 0) to dark (tone 1), roughly Fitzpatrick
#: types I to VI.
SKIN_TONES: tuple[tuple[int, int, int], ...] = (
    (236, 200, 178),
    (222, 178, 148),
    (198, 150, 115),
    (160, 110, 78),
    (120, 80, 55),
    (85, 57, 40),
)

# Relative pulsatility per channel (R, G, B), green = 1, for the lightest and darkest tone.
_PULSE_LIGHT = np.array([0.43, 1.0, 0.69])
_PULSE_DARK = np.array([0.62, 1.0, 0.52])


def skin_colour(tone: float) -> np.ndarray:
    """Skin albedo (3,) RGB in [0, 1] for ``tone`` in [0, 1] (0 light, 1 dark)."""
    tones = np.asarray(SKIN_TONES, dtype=np.float64) / 255.0
    pos = float(np.clip(tone, 0.0, 1.0)) * (len(tones) - 1)
    i = min(int(pos), len(tones) - 2)
    f = pos - i
    return (1 - f) * tones[i] + f * tones[i + 1]


def pulse_direction(tone: float) -> np.ndarray:
    """Relative pulse amplitude per channel (3,), green = 1, for ``tone`` in [0, 1]."""
    f = float(np.clip(tone, 0.0, 1.0))
    return (1 - f) * _PULSE_LIGHT + f * _PULSE_DARK


@dataclass
class Appearance:
    """How one synthetic subject looks (saved in params.json)."""

    skin_tone: float = 0.3  # 0 = lightest, 1 = darkest of SKIN_TONES
    hair_rgb: tuple[float, float, float] = (0.1, 0.07, 0.05)  # hair albedo, RGB in [0, 1]
    face_height: float = 0.5  # face oval height, fraction of the frame height
    centre_x: float = 0.5  # face centre, fraction of the frame width
    centre_y: float = 0.47  # face centre, fraction of the frame height
    pulse_amplitude: float = 0.01  # a: pulse std in the green channel, fraction of the skin colour

    def to_dict(self) -> dict[str, object]:
        return {
            "skin_tone": float(self.skin_tone),
            "skin_rgb": [round(float(c), 4) for c in skin_colour(self.skin_tone)],
            "pulse_direction": [round(float(c), 4) for c in pulse_direction(self.skin_tone)],
            "hair_rgb": [float(c) for c in self.hair_rgb],
            "face_height": float(self.face_height),
            "centre_x": float(self.centre_x),
            "centre_y": float(self.centre_y),
            "pulse_amplitude": float(self.pulse_amplitude),
        }


def sample_appearance(
    rng: np.random.Generator,
    skin_tone: float | None = None,
    pulse_amplitude: float = 0.01,
) -> Appearance:
    """Draw a subject's look: a skin tone uniform in [0, 1] unless given, dark hair,
    a face of 45-58 % of the frame height near the centre."""
    tone = float(rng.uniform(0.0, 1.0)) if skin_tone is None else float(skin_tone)
    hair = rng.uniform(0.03, 0.2) * np.array([1.0, rng.uniform(0.6, 0.8), rng.uniform(0.35, 0.6)])
    return Appearance(
        skin_tone=tone,
        hair_rgb=tuple(float(c) for c in hair),
        face_height=float(rng.uniform(0.45, 0.58)),
        centre_x=float(rng.uniform(0.42, 0.58)),
        centre_y=float(rng.uniform(0.44, 0.52)),
        pulse_amplitude=float(pulse_amplitude),
    )


def make_background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A static textured background (H, W, 3) float32 in [0.08, 0.92].

    Blurred noise (mostly grey, some colour) at two scales over a random base colour, plus a few soft-edged
    rectangles (furniture, a door frame): enough texture that the whole-frame mean is not
    a clean signal, and no pulse anywhere.
    """
    base = rng.uniform(0.3, 0.7, 3).astype(np.float32)
    scale = max(height, width)

    def texture(sigma: float, channels: int) -> np.ndarray:
        noise = rng.standard_normal((height, width, channels)).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), sigma).reshape(height, width, channels)
        return noise / max(float(noise.std()), 1e-6)

    coarse, fine = scale / 12, max(scale / 200, 0.7)
    img = (
        base
        + 0.10 * texture(coarse, 1)  # shading
        + 0.04 * texture(coarse, 3)  # colour variation
        + 0.05 * texture(fine, 1)  # grain
        + 0.015 * texture(fine, 3)
    )
    for _ in range(int(rng.integers(2, 6))):
        x0, x1 = np.sort(rng.integers(0, width, 2))
        y0, y1 = np.sort(rng.integers(0, height, 2))
        colour = rng.uniform(0.1, 0.9, 3).astype(np.float32)
        mask = np.zeros((height, width), np.float32)
        mask[y0 : y1 + 1, x0 : x1 + 1] = 1.0
        mask = cv2.GaussianBlur(mask, (0, 0), max(scale / 300, 0.6))[..., None]
        img = img * (1 - 0.8 * mask) + 0.8 * mask * colour
    return np.clip(img, 0.08, 0.92).astype(np.float32)


class Renderer:
    """Renders the frames of one subject: a face drawn once, moved and lit per frame.

    ``Renderer(width, height, appearance, nuisances, rng)``; then
    ``frame(ppg, pose_index, motion, light)`` returns one uint8 RGB frame (H, W, 3).
    """

    _NOISE_BANK = 6  # independent noise fields, each read at a random offset per frame
    _NOISE_PAD = 16

    def __init__(
        self,
        width: int,
        height: int,
        appearance: Appearance,
        nuisances: Nuisances,
        rng: np.random.Generator,
    ):
        self.width, self.height = int(width), int(height)
        self.appearance = appearance
        self.nuisances = nuisances
        self.rng = rng
        face_px = max(appearance.face_height * self.height, 24.0)
        self.face: FaceLayers = draw_face(
            int(round(face_px)), tuple(skin_colour(appearance.skin_tone)), appearance.hair_rgb, rng
        )
        self.pulse_dir = (appearance.pulse_amplitude * pulse_direction(appearance.skin_tone)).astype(np.float32)
        self.background = make_background(self.height, self.width, rng)
        self._aux = np.dstack([self.face.alpha, self.face.skin, self.face.specular])
        p = self._NOISE_PAD
        self._noise = (
            rng.standard_normal((self._NOISE_BANK, self.height + p, self.width + p, 3)).astype(np.float32)
            * np.float32(nuisances.noise)
            if nuisances.noise > 0
            else None
        )
        self._buf = np.empty((self.height, self.width, 3), np.float32)

    def _matrix(self, dx: float, dy: float, angle_deg: float, zoom: float) -> np.ndarray:
        """Affine map (2, 3) from template pixels to frame pixels."""
        a = self.appearance
        fx = a.centre_x * self.width + dx * self.face.face_height
        fy = a.centre_y * self.height + dy * self.face.face_height
        th = np.deg2rad(angle_deg)
        c, s = zoom * np.cos(th), zoom * np.sin(th)
        cx, cy = self.face.centre
        return np.array([[c, s, fx - c * cx - s * cy], [-s, c, fy + s * cx - c * cy]], np.float64)

    def frame(self, ppg: float, motion: MotionTrack, index: int, light: float) -> np.ndarray:
        """Frame ``index``: pulse value ``ppg`` (unit-std BVP), pose from ``motion``,
        light intensity ``light``.  Returns uint8 RGB (H, W, 3)."""
        m = self._matrix(motion.dx[index], motion.dy[index], motion.angle[index], motion.zoom[index])
        th, tw = self.face.alpha.shape
        corners = np.array([[0, 0, 1], [tw, 0, 1], [0, th, 1], [tw, th, 1]], np.float64) @ m.T
        x0 = int(np.clip(np.floor(corners[:, 0].min()), 0, self.width))
        x1 = int(np.clip(np.ceil(corners[:, 0].max()) + 1, 0, self.width))
        y0 = int(np.clip(np.floor(corners[:, 1].min()), 0, self.height))
        y1 = int(np.clip(np.ceil(corners[:, 1].max()) + 1, 0, self.height))
        buf = self._buf
        np.copyto(buf, self.background)
        if x1 > x0 and y1 > y0:
            m_roi = m.copy()
            m_roi[:, 2] -= (x0, y0)
            size = (x1 - x0, y1 - y0)
            albedo = cv2.warpAffine(self.face.albedo, m_roi, size, flags=cv2.INTER_LINEAR)
            aux = cv2.warpAffine(self._aux, m_roi, size, flags=cv2.INTER_LINEAR)
            alpha, skin, spec = aux[..., 0:1], aux[..., 1:2], aux[..., 2:3]
            # Specular strength follows the head pose: tilting or nodding moves the
            # highlights relative to the light.
            spec_gain = self.nuisances.specular * (
                1.0 + 0.05 * motion.angle[index] + 2.0 * motion.dy[index] + 2.0 * (motion.zoom[index] - 1.0)
            )
            face = albedo * (1.0 - skin * (self.pulse_dir * np.float32(ppg))) + spec * np.float32(max(spec_gain, 0.0))
            roi = buf[y0:y1, x0:x1]
            roi += alpha * (face - roi)
        out = np.multiply(buf, np.float32(255.0 * light), out=buf)
        if self._noise is not None:
            k = int(self.rng.integers(self._NOISE_BANK))
            oy, ox = (int(v) for v in self.rng.integers(0, self._NOISE_PAD, 2))
            out += self._noise[k, oy : oy + self.height, ox : ox + self.width]
        return np.clip(out, 0.0, 255.0, out=out).astype(np.uint8)
