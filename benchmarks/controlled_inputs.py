"""What does a method follow?  Controlled inputs made from one frozen real face frame.

    python benchmarks/controlled_inputs.py
    python benchmarks/controlled_inputs.py --checkpoint runs/x/best.pt --subject subject3

One frame of a ``ubfc-dev`` subject (frame 300, resized to 320x240) is repeated for 20 s at
30 fps with sensor noise (sd 1 grey level), and one thing at a time is driven at 90 or 60
bpm: a skin-colour pulse (the frame darkened along (0.33, 0.77, 0.53), 0.2 % or 0.5 %), a
brightness flicker (0.5 %), a sub-pixel horizontal sway (0.3 px).  For each method
(POS, ``pulsecl-small``, each ``--checkpoint``) ``pulsecl.predict`` reads the clip, and the
table gives the output's power at the driven rate (within 3 bpm) over the median of the
40-250-bpm band, and the output's own peak (bpm).  A method that follows the pulse has a
large ratio for the pulse rows; one that makes a rhythm of its own has a large ratio and a
fixed peak on the still face.  A benchmark: prints figures, asserts nothing; the frame is
read from the data folder and never written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import scipy.signal as ss

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ubfc_dev as U  # noqa: E402

FS = 30.0
SECONDS = 20.0
SKIN = np.array([0.33, 0.77, 0.53], np.float32)  # how blood volume darkens light skin, RGB
TESTS = [("still face", "none", 0.0, 1.5), ("pulse 0.2 %", "pulse", 0.002, 1.5), ("pulse 0.5 %", "pulse", 0.005, 1.5),
         ("flicker 0.5 %", "flicker", 0.005, 1.5), ("sway 0.3 px", "motion", 0.3, 1.5),
         ("pulse 0.5 %", "pulse", 0.005, 1.0), ("flicker 0.5 %", "flicker", 0.005, 1.0),
         ("sway 0.3 px", "motion", 0.3, 1.0)]


def frame(video: Path, index: int = 300, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, img = cap.read()
    cap.release()
    if not ok:
        raise SystemExit(f"controlled_inputs: cannot read frame {index} of '{video}'")
    return cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), size, interpolation=cv2.INTER_AREA).astype(np.float32)


def clip(base: np.ndarray, kind: str, amp: float, f_hz: float, rng: np.random.Generator) -> np.ndarray:
    """(T, H, W, 3) uint8: ``base`` repeated, with ``kind`` driven at ``f_hz``, plus noise."""
    t = np.arange(int(SECONDS * FS)) / FS
    wave = np.sin(2 * np.pi * f_hz * t).astype(np.float32)
    x = np.repeat(base[None], t.size, axis=0)
    if kind == "pulse":
        x = x * (1 - amp * SKIN[None, None, None, :] * wave[:, None, None, None])
    elif kind == "flicker":
        x = x * (1 + amp * wave[:, None, None, None])
    elif kind == "motion":
        h, w = base.shape[:2]
        for k in range(t.size):
            m = np.float32([[1, 0, amp * wave[k]], [0, 1, 0]])
            x[k] = cv2.warpAffine(base, m, (w, h), borderMode=cv2.BORDER_REFLECT)
    x = x + rng.normal(0.0, 1.0, x.shape).astype(np.float32)
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def gain(pulse: np.ndarray, f_hz: float) -> tuple[float, float]:
    f, p = ss.welch(ss.detrend(pulse), FS, nperseg=int(10 * FS), nfft=int(80 * FS))
    band = (f >= 40 / 60) & (f <= 250 / 60)
    near = np.abs(f - f_hz) <= 3 / 60
    return float(p[near].max() / np.median(p[band])), float(f[band][np.argmax(p[band])] * 60)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subject", default="subject3")
    ap.add_argument("--checkpoint", action="append", default=[], help="a checkpoint to probe (repeatable)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import pulsecl

    methods = {"POS": {"method": "pos"}, "pulsecl-small": {"model": "pulsecl-small"}}
    for path in args.checkpoint:
        p = Path(path)
        label = f"{p.parent.name}/{p.stem}" if p.suffix == ".pt" else p.name
        methods[label if label not in methods else path] = {"checkpoint": path}
    base = frame(U.video_of(U.data_root(), args.subject))
    rng = np.random.default_rng(args.seed)
    print(f"{args.subject}, frame 300 frozen: power at the driven rate over the band's median (the output's own peak, bpm)")
    print(f"{'input':24s}" + "".join(f"{name:>22s}" for name in methods))
    for label, kind, amp, f_hz in TESTS:
        x = clip(base, kind, amp, f_hz, rng)
        cells = []
        for kw in methods.values():
            r = pulsecl.predict(x, fs=FS, progress=False, **kw)
            g, peak = gain(np.asarray(r.pulse, float), f_hz)
            cells.append(f"{g:10.1f} ({peak:5.1f})")
        rate = "" if kind == "none" else f" @ {f_hz * 60:.0f}"
        print(f"{label + rate:24s}" + "".join(f"{c:>22s}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
