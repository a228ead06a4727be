"""HRV from finger-camera RGB traces against a chest strap's RR intervals.  A benchmark:
prints figures, asserts nothing.

    python benchmarks/hrv_welltory.py [--data DIR]

welltory-ppg (CC0): 21 records of 13 people, a phone camera's mean R, G, B with an index
finger on it at frame times in ms (``PPG.csv``) and a Polar H10's RR intervals over the
same time (``RR.txt``).  For each record: heart rate, SDNN and RMSSD (ms) from the trace,

* ``before``: what pulsecl gave before its HRV pipeline existed: the red channel taken
  as uniformly sampled at the median frame rate, ``pulsecl.signal.processing.bandpass``
  and ``detect_peaks`` with their defaults, every interval kept;
* ``after``: :func:`pulsecl.signal.hrv.trace_hrv` (frame times -> uniform grid, the
  unclipped channel, beats by the upstroke with an HR-adaptive refractory distance,
  normal-to-normal intervals);

against the RR-derived values over the whole record.  ``--data`` defaults to
``PULSECL_WELLTORY`` or ``../shared/realdata/welltory-ppg`` beside the repository.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load(folder: Path) -> dict:
    table = np.loadtxt(folder / "PPG.csv", delimiter=",", skiprows=1)
    rr = np.loadtxt(folder / "RR.txt").ravel() / 1000.0
    return {"id": folder.name, "t": table[:, 0] / 1000.0, "rgb": table[:, 1:4], "rr": rr}


def reference(rr: np.ndarray) -> tuple[float, float, float]:
    return 60.0 / rr.mean(), 1000.0 * rr.std(ddof=1), 1000.0 * float(np.sqrt(np.mean(np.diff(rr) ** 2)))


def before(rec: dict) -> tuple[float, float, float]:
    from pulsecl.signal.processing import bandpass, detect_peaks, hrv, inter_beat_intervals

    t = rec["t"]
    fs = 1.0 / float(np.median(np.diff(t)[np.diff(t) > 0]))
    x = -rec["rgb"][:, 0]
    h = hrv(inter_beat_intervals(detect_peaks(bandpass(x, fs), fs)))
    return h.mean_hr_bpm, h.sdnn_ms, h.rmssd_ms


def after(rec: dict) -> tuple[float, float, float, int, int]:
    from pulsecl.signal.hrv import trace_hrv

    res = trace_hrv(rec["t"], rec["rgb"])
    return res.hrv.mean_hr_bpm, res.hrv.sdnn_ms, res.hrv.rmssd_ms, res.channel, res.rejected


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("PULSECL_WELLTORY") or ROOT.parent / "shared" / "realdata" / "welltory-ppg"
    ap.add_argument("--data", default=str(default), help="the welltory-ppg folder (holding data/subject_NN)")
    args = ap.parse_args()
    folders = sorted((Path(args.data) / "data").glob("subject_*"))
    if not folders:
        print(f"no records under {Path(args.data) / 'data'}", file=sys.stderr)
        return 2
    rows = []
    print(f"{'record':<11} {'ref HR':>6} {'SDNN':>5} {'RMSSD':>5} | {'before HR':>9} {'SDNN':>6} {'RMSSD':>6} | "
          f"{'after HR':>8} {'SDNN':>5} {'RMSSD':>5} ch rej")
    for folder in folders:
        rec = load(folder)
        ref = reference(rec["rr"])
        b = before(rec)
        a = after(rec)
        rows.append((ref, b, a[:3]))
        print(f"{rec['id']:<11} {ref[0]:6.1f} {ref[1]:5.0f} {ref[2]:5.0f} | {b[0]:9.1f} {b[1]:6.0f} {b[2]:6.0f} | "
              f"{a[0]:8.1f} {a[1]:5.0f} {a[2]:5.0f} {'RGB'[a[3]]:>2} {a[4]:3d}")
    ref = np.array([r[0] for r in rows])
    for label, k in (("before", 1), ("after", 2)):
        est = np.array([r[k] for r in rows])
        err = est - ref
        print(f"{label:<7} MAE: HR {np.abs(err[:, 0]).mean():6.2f} bpm, SDNN {np.abs(err[:, 1]).mean():7.1f} ms "
              f"(bias {err[:, 1].mean():+7.1f}), RMSSD {np.abs(err[:, 2]).mean():7.1f} ms (bias {err[:, 2].mean():+7.1f}); "
              f"r SDNN {np.corrcoef(est[:, 1], ref[:, 1])[0, 1]:+.2f}, RMSSD {np.corrcoef(est[:, 2], ref[:, 2])[0, 1]:+.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
