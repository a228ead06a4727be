"""Semi-real video with ground truth: real skin-patch video as the noise, a real finger
pulse in it.  A benchmark: prints figures, asserts nothing.

    python benchmarks/semireal.py build DATA            # write the dataset (a few minutes)
    python benchmarks/semireal.py bench DATA --out RES  # every classical method on it

Why: the real dev patches (bias-eval-dev) carry no pulse that any method can find at the
reference rate (a permutation test of the references changes no method's MAE;
docs/measurements.md), so they cannot rank methods or settings.  Their noise is real,
though: single-frame jumps, drift, compression, skin tone.  Here each dev patch video is
cut into segments of up to 60 s, and into each segment goes a real pulse: a welltory-ppg
finger-camera pulse (a real waveform with its harmonics and beat-to-beat variability),
time-scaled to a target rate drawn from 50-170 bpm, as a darkening along the blood-volume
colour direction of dark skin, ``frame * (1 - a * (0.62, 1, 0.52) * p(t))`` with ``p``
zero-mean and unit-variance and ``a`` log-uniform in 0.25-4 % of the skin colour.  The
segments are written losslessly (FFV1, 64x64: the patches hold 25x25 to 60x30 real
pixels) with the injected pulse beside them, in the labelled-folder layout
(``DATA/<country>-<video>/<region>-<start>.avi`` and ``.csv``), so that the patches of one
subject share a folder, that is a subject.  Deterministic for a seed.

``bench`` runs ``pulsecl bench`` with every classical method on it (the whole patch as the
region of interest, band 40-250 bpm), per video and per subject.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
U_DARK = np.array([0.62, 1.0, 0.52])  # blood-volume colour direction of dark skin (RGB)


def _paths() -> tuple[Path, Path]:
    shared = ROOT.parent / "shared" / "realdata"
    return (Path(os.environ.get("PULSECL_REAL_DEV") or shared / "bias-eval-dev"),
            Path(os.environ.get("PULSECL_WELLTORY") or shared / "welltory-ppg"))


def _finger_pulses(welltory: Path) -> list[dict]:
    """Each welltory record as a blood-volume pulse on a uniform grid: the unclipped
    channel, inverted (more blood, less light), high-passed below half its rate, unit
    variance; with its beats (pulsecl.signal.hrv)."""
    import scipy.signal

    from pulsecl.signal.hrv import detect_beats, pick_channel, resample_uniform

    out = []
    for folder in sorted((welltory / "data").glob("subject_*")):
        table = np.loadtxt(folder / "PPG.csv", delimiter=",", skiprows=1)
        rr = np.loadtxt(folder / "RR.txt").ravel() / 1000.0
        grid, rgb, fs = resample_uniform(table[:, 0] / 1000.0, table[:, 1:4])
        x = -rgb[:, pick_channel(rgb, fs)]
        hr = 60.0 / rr.mean()
        x = scipy.signal.sosfiltfilt(scipy.signal.butter(2, 0.5 * hr / 60.0, "highpass", fs=fs, output="sos"), x)
        out.append({"id": folder.name, "t": grid - grid[0], "p": x / x.std(), "fs": fs, "beats": detect_beats(x, fs)})
    return out


def build(data: Path, seed: int = 13, hr_range=(50.0, 170.0), amp_range=(0.0025, 0.04), segment_s: float = 60.0,
          size: int = 64) -> int:
    import cv2
    import scipy.signal

    from pulsecl.data import open_dataset
    from pulsecl.video import open_source
    from pulsecl_datasets.bias_eval import SAME_RECORDING

    real, welltory = _paths()
    rng = np.random.default_rng(seed)
    pulses = _finger_pulses(welltory)
    written = 0
    for rec in open_dataset(real).records():
        if rec.id.rsplit("_", 1)[0] in SAME_RECORDING:  # the recording listed twice: once is enough
            continue
        frames, ts = zip(*open_source(rec.source))
        frames = np.concatenate(frames)
        ts = np.concatenate(ts)
        fs = (len(ts) - 1) / (ts[-1] - ts[0])
        seg = int(round(segment_s * fs))
        starts = [0] if len(ts) < seg else list(range(0, len(ts) - seg + 1, seg))
        subject = rec.subject.replace("/", "-")
        region = rec.meta.get("region") or Path(rec.source).stem
        for s0 in starts:
            w = pulses[int(rng.integers(len(pulses)))]
            target = float(rng.uniform(*hr_range))
            rate = 60.0 * (w["beats"].size - 1) / (w["beats"][-1] - w["beats"][0])
            k = target / rate  # the record's time runs k times faster in the segment
            n = min(seg, len(ts) - s0, int((w["t"][-1] / k) * fs) - 1)
            a = float(np.exp(rng.uniform(np.log(amp_range[0]), np.log(amp_range[1]))))
            cut = min(0.45 * fs / k, 0.45 * w["fs"])  # anti-alias in the record's time
            p = scipy.signal.sosfiltfilt(scipy.signal.butter(4, cut, "lowpass", fs=w["fs"], output="sos"), w["p"])
            t_rec = (ts[s0 : s0 + n] - ts[s0]) * k
            pp = np.interp(t_rec, w["t"], p)
            pp = (pp - pp.mean()) / pp.std()
            block = frames[s0 : s0 + n].astype(np.float32)
            block *= (1.0 - a * U_DARK[None, None, None, :] * pp[:, None, None, None]).astype(np.float32)
            folder = data / subject
            folder.mkdir(parents=True, exist_ok=True)
            stem = folder / f"{region}-{s0:05d}"
            writer = cv2.VideoWriter(str(stem.with_suffix(".avi")), cv2.VideoWriter_fourcc(*"FFV1"), float(fs), (size, size))
            for f in np.clip(block + 0.5, 0, 255).astype(np.uint8):
                writer.write(cv2.cvtColor(cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR))
            writer.release()
            t_out = ts[s0 : s0 + n] - ts[s0]
            with open(stem.with_suffix(".csv"), "w", encoding="utf-8") as fh:
                fh.write(f"# semi-real: {rec.id} frames {s0}-{s0 + n}, pulse of welltory {w['id']} x{k:.3f} "
                         f"(mean rate {target:.2f} bpm), amplitude {100 * a:.2f} %\ntime,ppg\n")
                fh.writelines(f"{t:.5f},{v:.6f}\n" for t, v in zip(t_out, pp))
            written += 1
    return written


def bench(data: Path, out: Path, jobs: int = 1) -> int:
    from pulsecl.bench import load_suite, run_suite

    methods = "".join(f'\n[methods.{m.upper()}]\nkind = "classical"\nmethod = "{m}"\n'
                      for m in ("pos", "chrom", "green", "ica", "lgi", "pbv", "omit"))
    out.mkdir(parents=True, exist_ok=True)
    suite = out / "semireal-suite.toml"
    suite.write_text(textwrap.dedent(f"""
        [suite]
        name = "semi-real"
        description = "Real skin-patch video (bias-eval-dev) with a real finger pulse in it at a known rate (50-170 bpm)."
        set = ["preprocess.roi=full", "data.exclude=[]"]
        [datasets.semireal]
        path = "{data.resolve()}"
        dataset = "labelled-folder"
        """) + methods, encoding="utf-8")
    result = run_suite(load_suite(suite), out, jobs=jobs, progress=False, log=print)
    print((out / "report" / "report.md").read_text(encoding="utf-8"))
    return 0 if not result.failed else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    b = sub.add_parser("build", help="write the semi-real dataset")
    b.add_argument("data")
    b.add_argument("--seed", type=int, default=13)
    b.add_argument("--amplitude", nargs=2, type=float, metavar=("LOW", "HIGH"), default=(0.25, 4.0),
                   help="range of the injected pulse's amplitude, %% of the skin colour (log-uniform; default 0.25 4)")
    r = sub.add_parser("bench", help="every classical method on it")
    r.add_argument("data")
    r.add_argument("--out", required=True)
    r.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    if args.what == "build":
        low, high = args.amplitude
        if not 0 < low <= high:
            print(f"semireal.py: error: --amplitude {low} {high}: give 0 < LOW <= HIGH", file=sys.stderr)
            return 2
        n = build(Path(args.data), seed=args.seed, amp_range=(low / 100.0, high / 100.0))
        print(f"wrote {n} semi-real videos to {args.data}")
        return 0
    return bench(Path(args.data), Path(args.out), args.jobs)


if __name__ == "__main__":
    sys.exit(main())
