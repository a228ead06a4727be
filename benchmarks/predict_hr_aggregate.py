"""How `pulsecl predict` turns window spectra into a mean heart rate and HR over time.

    python benchmarks/predict_hr_aggregate.py [--trials 40]

Pulses: POS on synthetic skin-model RGB traces (tests/signal/skin_traces.py), 60 s at
30 fps, heart rate drawn from 50-150 bpm.  Into k of them (k = 0 .. 4) go bursts of
4 s of strong motion: an in-band oscillation at a random rate (at least 15 bpm from
the heart rate), along a random colour direction, 3-8x the pulse's amplitude.  Then
``pulsecl.signal.analysis.analyse`` on 10-s windows every 1 s, and

* the mean heart rate as (a) the peak of the Welch average of the windows' spectra,
  each normalised to unit in-band power, (b) the median of the per-window rates,
  (c) the spectral peak of the whole signal (the preset's ``heart_rate``), (d) the
  median of the tracked rates of (e) below (what ``predict`` reports);
* heart rate over time as (a) each window's own peak, (b) a running median over
  5 windows, (c) the peak of the average normalised spectrum of 5 neighbouring windows,
  (d) each window's peak under a Gaussian prior (20 bpm) around the Welch mean,
  (e) that prior plus a Viterbi track limited to 5 bpm/s (``pulsecl.signal.analysis.track_hr``,
  what ``predict`` reports), on pulses at a constant rate and on pulses whose rate
  ramps by 30 bpm over the minute (so that a prior that pins the mean shows its bias).

Prints MAE (bpm) and the share of errors over 5 bpm.  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "signal"))

import pulsecl  # noqa: E402
from pulsecl.signal.analysis import TRACK_PRIOR_BPM, normalised_spectra, peak_bpm, track_hr  # noqa: E402
from pulsecl.signal.common import window_starts  # noqa: E402
from pulsecl.signal.presets import get_preset  # noqa: E402
from skin_traces import skin_trace  # noqa: E402

FS = 30.0
BAND = (40 / 60, 250 / 60)


def ramp_pulse(rgb: np.ndarray, hr0: float, hr1: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Replace the constant-rate pulse of a skin trace by one whose rate ramps from
    ``hr0`` to ``hr1`` bpm: returns (rgb, hr per sample)."""
    n = len(rgb)
    hr_t = np.linspace(hr0, hr1, n)
    phase = 2 * np.pi * np.cumsum(hr_t / 60.0) / FS + rng.uniform(0, 6.3)
    wave = np.sin(phase) + 0.3 * np.sin(2 * phase + 0.8)
    wave /= np.abs(wave).max()
    direction = np.array([0.33, 0.77, 0.53])
    return rgb * (1.0 - 0.004 * direction[None, :] * wave[:, None]), hr_t


def corrupted_trace(seed: int, bursts: int, ramp: float = 0.0):
    rng = np.random.default_rng(seed)
    hr = float(rng.uniform(50, 150))
    tr = skin_trace(hr, FS, 60.0, seed=seed, skin_tone=float(rng.uniform(0, 1)), pulse_amp=0.0 if ramp else 0.004)
    rgb = tr.rgb.copy()
    n = len(rgb)
    t = np.arange(n) / FS
    hr_t = np.full(n, hr)
    if ramp:
        rgb, hr_t = ramp_pulse(rgb, hr - ramp / 2, hr + ramp / 2, rng)
    length = int(4 * FS)
    starts = rng.choice(np.arange(0, n - length, length), size=bursts, replace=False) if bursts else []
    amp_pulse = 0.004 * rgb.mean(axis=0)
    for s in starts:
        f = hr / 60.0
        while abs(f * 60 - hr) < 15:
            f = rng.uniform(45, 200) / 60.0
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        burst = rng.uniform(3, 8) * np.sin(2 * np.pi * f * t[s : s + length] + rng.uniform(0, 6.3))
        taper = np.hanning(length)
        rgb[s : s + length] += (burst * taper)[:, None] * direction[None, :] * amp_pulse[None, :] * 3
    return rgb, hr_t


def over_time_variants(pulse, fs, band, window_s=10.0, stride_s=1.0, k=5):
    """HR over time by each variant, the window starts and length, and the mean HRs."""
    p = get_preset(None)
    processed = p.process(pulse, fs, band_hz=band)
    win = int(round(window_s * fs))
    starts = window_starts(processed.size, win, int(round(stride_s * fs)))
    segs = np.lib.stride_tricks.sliding_window_view(processed, win)[starts]
    _, raw = p.hr_over_time(pulse, fs, window_s, stride_s, band_hz=band)
    half = k // 2
    med = np.array([np.median(raw[max(0, i - half) : i + half + 1]) for i in range(len(raw))])
    freqs, psd = normalised_spectra(segs, fs, band)
    smooth = np.array([peak_bpm(freqs, psd[max(0, i - half) : i + half + 1].mean(axis=0)) for i in range(len(raw))])
    means = {
        "welch": peak_bpm(freqs, psd.mean(axis=0)),  # each window normalised: a loud one weighs no more
        "median": float(np.median(raw)),
        "whole": float(get_preset(None).heart_rate(pulse, fs, band_hz=band)),
    }
    centre = means["welch"] / 60.0
    prior = np.exp(-0.5 * ((freqs - centre) * 60.0 / TRACK_PRIOR_BPM) ** 2)
    out = {
        "own peak": raw,
        "run. median 5": med,
        "spec. avg 5": smooth,
        "prior": np.array([peak_bpm(freqs, row * prior) for row in psd]),
        "prior+track": track_hr(freqs, psd, centre, stride_s),
    }
    means["tracked median"] = float(np.median(out["prior+track"]))
    return out, starts, win, means


MEANS = ("welch", "median", "whole", "tracked median")


def fmt(e) -> str:
    e = np.asarray(e)
    return f"{e.mean():5.2f}/{100 * np.mean(e > 5):3.0f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=40)
    args = ap.parse_args()
    print(f"{args.trials} trials per row; 60 s at 30 fps, POS; MAE bpm / share of errors > 5 bpm")
    names = ["own peak", "run. median 5", "spec. avg 5", "prior", "prior+track"]
    print(f"{'ramp':>4} {'bursts':>6} | " + " ".join(f"{h:>11}" for h in MEANS) + " | "
          + " ".join(f"{n:>13}" for n in names))
    for ramp in (0.0, 30.0):
        for bursts in range(5):
            errs: dict[str, list] = {}
            terrs: dict[str, list] = {}
            for trial in range(args.trials):
                rgb, hr_t = corrupted_trace(1000 * bursts + trial, bursts, ramp)
                pulse = pulsecl.rgb_to_pulse(rgb, FS, method="pos")
                series, starts, win, means = over_time_variants(pulse, FS, BAND)
                for how, value in means.items():
                    errs.setdefault(how, []).append(abs(value - hr_t.mean()))
                truth = np.array([hr_t[s : s + win].mean() for s in starts])
                for name, values in series.items():
                    terrs.setdefault(name, []).extend(np.abs(values - truth))
            print(f"{ramp:4.0f} {bursts:>6} | " + " ".join(f"{fmt(errs[h]):>11}" for h in MEANS)
                  + " | " + " ".join(f"{fmt(terrs[n]):>13}" for n in names))


if __name__ == "__main__":
    main()
