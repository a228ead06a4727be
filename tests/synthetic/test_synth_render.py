"""Rendering: detectable faces, skin tones, a pulse only on skin, each nuisance knob."""

from __future__ import annotations

import numpy as np
import pytest

import pulsecl
from pulsecl.errors import ConfigError
from pulsecl.synthetic import render_clip
from pulsecl.synthetic.rendering import pulse_direction, skin_colour
from pulsecl.video.pipeline import skin_mask


def _corr(a, b):
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def _peak_hz(x, fs, lo=0.05, hi=None):
    x = x - x.mean()
    n = 8 * len(x)
    f = np.fft.rfftfreq(n, 1 / fs)
    p = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    band = (f >= lo) & (f <= (hi or fs / 2))
    return float(f[band][np.argmax(p[band])])


@pytest.mark.parametrize("tone", [0.0, 0.5, 1.0])
def test_haar_finds_the_synthetic_face_in_still_clips(tone):
    clip = render_clip(seed=11, duration=5.0, fps=12.0, width=320, height=240, skin_tone=tone)
    detector = pulsecl.build("face_detectors", "haar")
    look = clip.params["appearance"]
    cx, cy = look["centre_x"] * 320, look["centre_y"] * 240
    face_px = look["face_height"] * 240
    hits = 0
    for frame in clip.frames:
        box = detector.detect(frame)
        if box is None:
            continue
        x, y, w, h = box
        # The box is on the drawn face, not on the background.
        if abs(x + w / 2 - cx) < 0.25 * face_px and abs(y + h / 2 - cy) < 0.3 * face_px:
            hits += 1
    assert hits / len(clip.frames) >= 0.95


def test_skin_tones_run_from_light_to_dark():
    lum = [skin_colour(t) @ np.array([0.299, 0.587, 0.114]) for t in np.linspace(0, 1, 6)]
    assert all(a > b for a, b in zip(lum, lum[1:]))
    assert lum[0] > 0.75 and lum[-1] < 0.3
    # Pulse colour direction: green strongest, shifting towards red for dark skin.
    light, dark = pulse_direction(0.0), pulse_direction(1.0)
    assert np.argmax(light) == 1 and np.argmax(dark) == 1
    assert dark[0] > light[0]
    # Rendered skin pixels pass the YCrCb skin test for every tone.
    for tone in (0.0, 1.0):
        clip = render_clip(seed=1, duration=0.2, fps=10, skin_tone=tone)
        look = clip.params["appearance"]
        cx, cy = int(look["centre_x"] * 160), int(look["centre_y"] * 120)
        cheek = clip.frames[:, cy + 2 : cy + 8, cx + 6 : cx + 12]
        assert skin_mask(cheek).mean() > 0.9


def test_pulse_is_on_the_skin_and_not_on_the_background():
    clip = render_clip(seed=3, duration=8.0, fps=30.0, width=160, height=120, skin_tone=0.3, noise=1.0)
    look = clip.params["appearance"]
    cx, cy = int(look["centre_x"] * 160), int(look["centre_y"] * 120)
    skin = clip.frames[:, cy - 4 : cy + 12, cx - 12 : cx + 12].astype(float)
    corner = clip.frames[:, 2:20, 2:20].astype(float)
    g_skin = skin[..., 1].mean(axis=(1, 2))
    g_corner = corner[..., 1].mean(axis=(1, 2))
    # Blood absorbs light: more blood volume, darker skin.
    assert _corr(-g_skin, clip.ppg) > 0.9
    assert abs(_corr(g_corner, clip.ppg)) < 0.3
    # The background is textured, not flat.
    assert clip.frames[0, :20, :40].std() > 5.0


def test_same_seed_same_clip_and_knobs_are_independent():
    a = render_clip(seed=5, duration=1.0, fps=15)
    b = render_clip(seed=5, duration=1.0, fps=15)
    c = render_clip(seed=6, duration=1.0, fps=15)
    assert np.array_equal(a.frames, b.frames) and a.params == b.params
    assert not np.array_equal(a.frames, c.frames)
    flick = render_clip(seed=5, duration=1.0, fps=15, flicker=0.05)
    assert np.array_equal(a.ppg, flick.ppg)  # turning a knob on leaves the pulse as it was
    assert a.params["appearance"] == flick.params["appearance"]
    assert not np.array_equal(a.frames, flick.frames)


def _face_centroid(frames):
    mask = skin_mask(frames)
    ys, xs = np.mgrid[0 : frames.shape[1], 0 : frames.shape[2]]
    n = mask.sum(axis=(1, 2))
    return (mask * xs).sum(axis=(1, 2)) / n, (mask * ys).sum(axis=(1, 2)) / n


def test_motion_knobs_move_the_face():
    still = render_clip(seed=8, duration=4.0, fps=20, width=160, height=120, skin_tone=0.2)
    moving = render_clip(seed=8, duration=4.0, fps=20, width=160, height=120, skin_tone=0.2, translation=0.1)
    sx, sy = _face_centroid(still.frames)
    mx, my = _face_centroid(moving.frames)
    assert np.ptp(sx) < 1.0 and np.ptp(sy) < 1.0
    assert max(np.ptp(mx), np.ptp(my)) > 3.0
    nod = render_clip(
        seed=8, duration=6.0, fps=20, width=160, height=120, skin_tone=0.2, periodic_motion=0.05, periodic_motion_hz=1.3
    )
    _, ny = _face_centroid(nod.frames)
    assert abs(_peak_hz(ny, 20.0, 0.5, 5.0) - 1.3) < 0.1  # nodding inside the heart-rate band
    assert nod.params["periodic_motion_hz_used"] == 1.3
    drawn = render_clip(seed=8, duration=1.0, fps=20, periodic_motion=0.05)
    assert 0.7 <= drawn.params["periodic_motion_hz_used"] <= 3.0


def test_illumination_and_noise_knobs():
    fps = 30.0
    base = render_clip(seed=9, duration=4.0, fps=fps, noise=0.0)
    flicker = render_clip(seed=9, duration=4.0, fps=fps, noise=0.0, flicker=0.05, flicker_hz=100.0)
    mean = flicker.frames.reshape(len(flicker.frames), -1).mean(axis=1)
    # 100 Hz light sampled at 30 fps aliases to 10 Hz, as in a real camera.
    assert abs(_peak_hz(mean, fps, 1.0) - 10.0) < 0.2
    drift = render_clip(seed=9, duration=4.0, fps=fps, noise=0.0, illumination_drift=0.1)
    m_base = base.frames.reshape(len(base.frames), -1).mean(axis=1)
    m_drift = drift.frames.reshape(len(drift.frames), -1).mean(axis=1)
    assert np.ptp(m_drift) > 5 * np.ptp(m_base)
    noisy = render_clip(seed=9, duration=0.5, fps=fps, noise=6.0)
    d_clean = np.diff(base.frames[:10, :20, :20].astype(float), axis=0).std()
    d_noisy = np.diff(noisy.frames[:10, :20, :20].astype(float), axis=0).std()
    assert d_clean < 1.0 < 6.0 < d_noisy


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"fps": 0.5}, "fps"),
        ({"duration": -1.0}, "duration"),
        ({"width": 32}, "frame size"),
        ({"hr_range": (10.0, 100.0)}, "hr_range"),
        ({"skin_tone": 2.0}, "skin_tone"),
        ({"quality": 0}, "quality"),
        ({"noise": -1.0}, "noise"),
        ({"wobble": 1.0}, "unknown synthetic nuisance 'wobble'"),
        ({"translation": 0.9}, "out of the frame"),
    ],
)
def test_bad_generator_options_are_config_errors(options, match):
    with pytest.raises(ConfigError, match=match):
        render_clip(**options)
