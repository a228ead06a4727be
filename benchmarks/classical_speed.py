"""Time each classical rPPG method on one hour of 30 fps RGB trace.

    python benchmarks/classical_speed.py [--minutes 60] [--fs 30] [--repeat 3]

Prints, per method, the best of ``--repeat`` runs in seconds and scaled to seconds per
hour of video, plus the post-processing (``pulsecl.heart_rate``, default preset, and
``hr_over_time`` on 10-s windows every second) of that hour's pulse.  The trace is a
72-bpm pulse on a skin colour with intensity noise and drift; its content does not
change the work done, except ICA's iteration count.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import pulsecl
from pulsecl.signal.presets import get_preset

METHODS = ("green", "ica", "chrom", "pbv", "pos", "lgi", "omit")


def make_trace(n: int, fs: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    pulse = np.sin(2 * np.pi * 1.2 * t)
    intensity = 1 + 0.05 * np.sin(2 * np.pi * 0.01 * t) + 0.002 * rng.standard_normal(n)
    skin = np.array([0.7, 0.5, 0.4])
    direction = np.array([0.33, 0.77, 0.53])
    rgb = intensity[:, None] * skin * (1 - 0.004 * direction * pulse[:, None])
    return rgb + 3e-4 * rng.standard_normal((n, 3))


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--fs", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = int(round(args.minutes * 60 * args.fs))
    trace = make_trace(n, args.fs)
    per_hour = 60.0 / args.minutes
    print(f"trace: {n} frames ({args.minutes:g} min at {args.fs:g} fps), best of {args.repeat}")
    print(f"{'method':10s} {'seconds':>9s} {'s per hour':>11s}")
    pulse = None
    for name in METHODS:
        method = pulsecl.build("classical_methods", name)
        method(trace[:600], args.fs)  # warm-up: imports, caches
        secs = best_of(lambda: method(trace, args.fs), args.repeat)
        print(f"{name:10s} {secs:9.3f} {secs * per_hour:11.3f}")
        if name == "pos":
            pulse = method(trace, args.fs)
    preset = get_preset("default")
    secs = best_of(lambda: pulsecl.heart_rate(pulse, args.fs), args.repeat)
    print(f"{'heart_rate':10s} {secs:9.3f} {secs * per_hour:11.3f}   (default preset, whole trace)")
    secs = best_of(lambda: preset.hr_over_time(pulse, args.fs, 10.0, 1.0), args.repeat)
    print(f"{'hr/time':10s} {secs:9.3f} {secs * per_hour:11.3f}   (10-s windows every 1 s)")


if __name__ == "__main__":
    main()
