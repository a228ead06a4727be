"""Compare heart-rate post-processing pipelines; the figures behind the ``default`` preset.

    python benchmarks/hr_presets.py [--seeds 20]

Prints, per pipeline, the heart-rate error on

* pure sinusoids, 42-240 bpm every 0.5 bpm (up to 198 bpm for rppg-toolbox, whose band
  stops there), 10 s at 30 fps (worst and mean error);
* pulses that POS, CHROM and GREEN extract from synthetic skin-model RGB traces
  (tests/signal/skin_traces.py: pulse along a skin-tone-dependent colour direction,
  intensity and specular noise, slow illumination drift), HR drawn from 45-180 bpm,
  10-s and 20-s traces at 15 and 30 fps: MAE and the share of traces off by > 5 bpm;
* the same with a strong illumination drift (4x).

Nothing is asserted: the numbers are for reading (the tests assert the known answers).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "signal"))

import pulsecl  # noqa: E402
from pulsecl.signal.presets import Default, Gideon2021, RppgToolbox  # noqa: E402
from skin_traces import skin_trace  # noqa: E402

PIPELINES = {
    "default: detrend+band-pass(2)+Tukey(.25)": Default(),
    "detrend + band-pass(2) + Hann": Default(window="hann"),
    "detrend + band-pass(2) + boxcar": Default(window="boxcar"),
    "detrend + Hann (no band-pass)": Default(window="hann", bandpass_order=None),
    "Hann only": Default(window="hann", bandpass_order=None, detrend_hz=None),
    "gideon2021": Gideon2021(),
    "rppg-toolbox": RppgToolbox(),
}


def sinusoids() -> dict[str, tuple[float, float]]:
    fs, n = 30.0, 300
    t = np.arange(n) / fs
    out = {}
    for name, preset in PIPELINES.items():
        # each pipeline within its own band (rppg-toolbox stops at 3.3 Hz = 198 bpm)
        top = min(240.0, preset.band_hz[1] * 60.0)
        hrs = np.arange(42.0, top + 0.01, 0.5)
        errs = []
        for phase in (0.0, 1.0, 2.0):
            x = np.sin(2 * np.pi * hrs[:, None] / 60.0 * t[None, :] + phase)  # (H, T)
            errs.append(np.abs(preset.heart_rate(x, fs) - hrs))
        e = np.concatenate(errs)
        out[name] = (float(e.max()), float(e.mean()))
    return out


def method_pulses(seeds: int, drift: float) -> dict[str, dict[str, tuple[float, float]]]:
    rng = np.random.default_rng(123)
    methods = {m: pulsecl.build("classical_methods", m) for m in ("pos", "chrom", "green")}
    errs: dict[str, dict[str, list[float]]] = {m: {p: [] for p in PIPELINES} for m in methods}
    for seed in range(seeds):
        for fs in (15.0, 30.0):
            for duration in (10.0, 20.0):
                hr = float(rng.uniform(45, 180))
                tr = skin_trace(
                    hr, fs, duration, skin_tone=float(rng.uniform(0, 1)), intensity_noise=0.002,
                    specular_noise=0.003, drift=drift, seed=seed,
                )
                for m, method in methods.items():
                    pulse = method(tr.rgb, fs)
                    for p, preset in PIPELINES.items():
                        errs[m][p].append(abs(preset.heart_rate(pulse, fs) - hr))
    return {
        m: {p: (float(np.mean(e)), float(np.mean(np.asarray(e) > 5))) for p, e in by.items()}
        for m, by in errs.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="traces per (fs, length) cell")
    args = ap.parse_args()
    print("Pure sinusoids 42-240 bpm, 10 s at 30 fps: worst / mean |error| (bpm)")
    for name, (worst, mean) in sinusoids().items():
        print(f"  {name:40s} {worst:7.3f} {mean:7.3f}")
    for drift in (0.05, 0.2):
        res = method_pulses(args.seeds, drift)
        n = args.seeds * 4
        print(f"\nClassical-method pulses, {n} traces each, drift {drift}: MAE (bpm) / share > 5 bpm")
        header = "".join(f"{m:>16s}" for m in res)
        print(f"  {'':40s}{header}")
        for p in PIPELINES:
            cells = "".join(f"{res[m][p][0]:8.2f} /{res[m][p][1]:5.0%} " for m in res)
            print(f"  {p:40s}{cells}")


if __name__ == "__main__":
    main()
