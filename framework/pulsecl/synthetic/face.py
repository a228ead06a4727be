"""A drawn face: layers rendered once per subject, warped into every frame.

The face is a shaded ellipsoid with hair, brows, eyes, nose and mouth, drawn
analytically (anti-aliased edges) on a template of ``size`` pixels in height.  It is
simple, but it has what a Viola-Jones detector (Viola & Jones, CVPR 2001) keys on: dark
eye bands above brighter cheeks, a bright nose bridge between the eyes, and a dark mouth,
so OpenCV's frontal-face Haar cascade finds it (tests/synthetic checks the rate).

Layers, each (h, w) float32 on the template grid:

* ``albedo`` (h, w, 3): skin colour times Lambertian shading, features painted over it,
  linear RGB in [0, 1].
* ``alpha``: coverage of the head and neck (1 inside, 0 outside, soft edge).
* ``skin``: where blood pulses (skin, not hair, eyes, brows, lips), in [0, 1].
* ``specular``: where the skin shines (forehead, nose, cheekbones), in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FaceLayers", "draw_face"]


@dataclass
class FaceLayers:
    """The template layers of one face (see the module docstring); ``centre`` is the
    (x, y) pixel of the face centre on the template, ``face_height`` the height of the
    face oval in pixels."""

    albedo: np.ndarray
    alpha: np.ndarray
    skin: np.ndarray
    specular: np.ndarray
    centre: tuple[float, float]
    face_height: float


def _soft(signed: np.ndarray, px: float) -> np.ndarray:
    """Anti-aliased inside-ness from a signed distance (negative inside), ``px`` wide."""
    return np.clip(0.5 - signed / px, 0.0, 1.0)


def _ellipse(x, y, cx, cy, ax, ay, px):
    """Soft mask of the ellipse centred (cx, cy) with semi-axes (ax, ay)."""
    r = np.sqrt(((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2)
    return _soft((r - 1.0) * min(ax, ay), px)


def _blob(x, y, cx, cy, sx, sy):
    """Gaussian blob (peak 1)."""
    return np.exp(-0.5 * (((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2))


def draw_face(
    size: int,
    skin_rgb: tuple[float, float, float],
    hair_rgb: tuple[float, float, float],
    rng: np.random.Generator,
) -> FaceLayers:
    """Draw a face whose oval is ``size`` pixels high.

    ``skin_rgb`` and ``hair_rgb`` are linear RGB albedos in [0, 1]; ``rng`` varies the
    proportions a little (eye spacing, mouth width, face width) and the skin texture.
    Returns :class:`FaceLayers` on a template of 1.7 x ``size`` by 1.15 x ``size``.
    """
    hh = size / 2.0  # face half-height: the unit of the drawing
    h = int(np.ceil(size * 1.7))
    w = int(np.ceil(size * 1.15))
    cx, cy = w / 2.0, hh * 1.3
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    x = (xx + 0.5 - cx) / hh  # face coordinates: face oval spans y in [-1, 1]
    y = (yy + 0.5 - cy) / hh
    px = 1.5 / hh  # edge softness: 1.5 pixels

    j = lambda s: 1.0 + s * rng.uniform(-1.0, 1.0)  # noqa: E731 - proportions jitter
    face_w = 0.74 * j(0.05)
    eye_dx, eye_y = 0.34 * j(0.06), -0.14 * j(0.1)
    mouth_w, mouth_y = 0.27 * j(0.12), 0.5 * j(0.04)

    # Head oval, neck and the Lambertian shading of an ellipsoid lit from the front.
    face = _ellipse(x, y, 0.0, 0.0, face_w, 1.0, px)
    neck = _soft(np.maximum(np.abs(x) - 0.42, 0.55 - y), px) * (y < 1.6)
    r2 = np.clip((x / face_w) ** 2 + (y / 1.0) ** 2, 0.0, 1.0)
    nz = np.sqrt(1.0 - r2)
    shade = 0.35 + 0.65 * nz ** 0.6
    shade = np.where(face > 0, shade, 0.55 + 0.2 * np.clip(1.0 - np.abs(x) / 0.45, 0, 1))
    alpha = np.maximum(face, neck)

    # Hair: a cap over the top of the head and down the sides.
    hairline = -0.52 + 0.1 * np.abs(x) ** 2 * 4
    hair_cap = _ellipse(x, y, 0.0, -0.12, face_w * 1.12, 1.08, px) * _soft(y - hairline, px)
    hair_side = _ellipse(x, y, 0.0, -0.05, face_w * 1.1, 1.02, px) * _soft(
        face_w * 0.93 - np.abs(x), px
    ) * (1.0 - face) * (y < 0.3)
    hair = np.clip(np.maximum(hair_cap, hair_side), 0.0, 1.0)
    alpha = np.maximum(alpha, hair)

    skin_rgb_a = np.asarray(skin_rgb, np.float32)
    texture = 1.0 + 0.025 * _smooth_noise(rng, h, w, sigma=max(size / 60.0, 0.8))
    albedo = skin_rgb_a * (shade * texture)[..., None]

    # Eye sockets: the dark band under the brows that the detector keys on.
    socket = np.zeros_like(x)
    brows = np.zeros_like(x)
    eyes_white = np.zeros_like(x)
    iris = np.zeros_like(x)
    for side in (-1.0, 1.0):
        ex = side * eye_dx
        socket += _blob(x, y, ex, eye_y - 0.03, 0.2, 0.1)
        arc_y = eye_y - 0.19 - 0.05 * (1.0 - ((x - ex) / 0.18) ** 2)
        brows = np.maximum(brows, _soft(np.abs(y - arc_y) - 0.035, px) * _soft(np.abs(x - ex) - 0.18, px))
        eyes_white = np.maximum(eyes_white, _ellipse(x, y, ex, eye_y, 0.12, 0.05, px))
        iris = np.maximum(iris, _ellipse(x, y, ex, eye_y, 0.055, 0.055, px) * _ellipse(x, y, ex, eye_y, 0.12, 0.05, px))
    socket = np.clip(socket, 0.0, 1.0)
    albedo *= (1.0 - 0.6 * socket)[..., None]

    # Nose: a bright bridge, shaded sides, dark nostrils.
    bridge = _blob(x, y, 0.0, 0.0, 0.05, 0.22)
    nose_side = _blob(x, y, -0.09, 0.12, 0.035, 0.12) + _blob(x, y, 0.09, 0.12, 0.035, 0.12)
    nostrils = _ellipse(x, y, -0.06, 0.27, 0.04, 0.022, px) + _ellipse(x, y, 0.06, 0.27, 0.04, 0.022, px)
    under_nose = _blob(x, y, 0.0, 0.31, 0.12, 0.025)
    albedo *= (1.0 + 0.18 * bridge - 0.3 * nose_side - 0.35 * under_nose)[..., None]

    # Mouth: lips and the dark line between them.
    lips = _ellipse(x, y, 0.0, mouth_y, mouth_w, 0.065, px)
    mouth_line = _soft(np.abs(y - mouth_y) - 0.012, px) * _soft(np.abs(x) - mouth_w * 0.95, px)
    lip_rgb = skin_rgb_a * np.array([0.85, 0.5, 0.52], np.float32)
    albedo = _paint(albedo, lips, lip_rgb * shade[..., None])
    albedo = _paint(albedo, mouth_line, np.array([0.05, 0.02, 0.02], np.float32))
    albedo *= (1.0 - 0.25 * _blob(x, y, 0.0, mouth_y + 0.14, 0.16, 0.04))[..., None]  # chin shadow

    # Eyes and brows over the skin, then hair.
    albedo = _paint(albedo, eyes_white, 0.45 * np.array([0.78, 0.76, 0.74], np.float32) + 0.3 * skin_rgb_a)
    albedo = _paint(albedo, iris, np.array([0.06, 0.04, 0.03], np.float32))
    brow_rgb = np.minimum(np.asarray(hair_rgb, np.float32), skin_rgb_a * 0.35)
    albedo = _paint(albedo, brows, brow_rgb)
    hair_tex = 1.0 + 0.15 * _smooth_noise(rng, h, w, sigma=max(size / 80.0, 0.6))
    albedo = _paint(albedo, hair, np.asarray(hair_rgb, np.float32) * hair_tex[..., None])

    skin = np.clip(alpha - hair - brows - eyes_white - lips - 0.6 * nostrils, 0.0, 1.0)
    specular = (
        _blob(x, y, 0.0, -0.45, 0.22, 0.08)
        + 0.8 * _blob(x, y, 0.0, 0.12, 0.04, 0.1)
        + 0.4 * _blob(x, y, -0.36, 0.12, 0.08, 0.05)
        + 0.4 * _blob(x, y, 0.36, 0.12, 0.08, 0.05)
    ) * skin
    return FaceLayers(
        albedo=np.clip(albedo, 0.0, 1.0).astype(np.float32),
        alpha=alpha.astype(np.float32),
        skin=skin.astype(np.float32),
        specular=np.clip(specular, 0.0, 1.0).astype(np.float32),
        centre=(cx, cy),
        face_height=float(size),
    )


def _paint(img: np.ndarray, mask: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Blend ``colour`` (3,) or (h, w, 3) over ``img`` where ``mask`` (h, w) is 1."""
    m = mask[..., None]
    return img * (1.0 - m) + colour * m


def _smooth_noise(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
    """Unit-variance Gaussian noise blurred with a Gaussian of ``sigma`` pixels."""
    import cv2

    noise = rng.standard_normal((h, w)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), sigma)
    return noise / max(float(noise.std()), 1e-6)
