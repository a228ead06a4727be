"""Beats and HRV from face video against a finger reference (ubfc-dev), beside a
contact-PPG upper bound (welltory-ppg) and the trivial baseline.  A benchmark: prints
figures, asserts nothing.

    python benchmarks/ubfc_hrv.py --out results/ubfc
    python benchmarks/ubfc_hrv.py --out results/ubfc --model pulsecl-small --checkpoint runs/x/best.pt

The face pulse of each method is made the way ``predict`` makes it and stored in
``OUT/pulses/<label>/<subject>.npz`` (``benchmarks/ubfc_dev.py``'s functions and layout:
an OUT shared with ``ubfc_dev.py`` reuses its pulses); its beats and gated HRV are
:func:`pulsecl.signal.hrv.pulse_beats` with the recording's heart rate and confidence from
:func:`pulsecl.signal.analysis.analyse_with`, which is what ``predict`` reports.

Per subject and method:

* **lag**: the finger PPG and the face pulse (both band-passed in the beats' band) are
  aligned by the largest positive cross-correlation within +-0.5 s (refined by a parabola);
  ``lag`` > 0 means the finger's pulse comes after the face's.  The face's beats are moved
  by it before matching;
* **matched**: share of the finger's beats with a face beat within 100 ms (one to one);
* **interval error**: mean |face interval - finger interval| (ms) over pairs of
  consecutive finger beats matched to consecutive face beats;
* **SDNN, RMSSD error** (ms): the face's normal intervals (the 20 % rule) against the
  finger's, whole clip, whether or not the gate would report them; and what ``predict``
  reports: the figure, or the gate's reason (``low``: confidence, ``share``: too few
  normal intervals, ``few``: fewer intervals than HRV needs);
* **windows**: the same errors over the 30-s windows (every 15 s) that ``predict``
  reports, against the finger's beats in the same window.

The finger reference: ``ground_truth.txt``'s PPG, one sample per frame, on the frames'
timeline (what the video's container says, as the face pulse; the beats of both are then
on one clock), beats by the same :func:`~pulsecl.signal.hrv.pulse_beats` (no gate).  The
files' own time row (the capture times, irregular: re-encoding kept the frames but not
their timing) gives the finger's HRV on the capture clock, shown beside it.

Baselines: **trivial** (every interval equal to the finger's median interval: SDNN 0,
RMSSD 0; a metronome at that interval from the first finger beat for the matched share);
the **peers**: ``reference_and_peers.csv`` has heart rates only, no beats or HRV.
**Contact upper bound**: each welltory-ppg record (a finger on a phone camera) through
the same ``pulse_beats`` (frame times to a uniform grid, the unclipped channel inverted,
:mod:`pulsecl.signal.hrv`) against the Polar H10's RR intervals (their beat times aligned
to the camera's by the offset that matches most beats within 50 ms).

**The gate** (:data:`pulsecl.signal.hrv.HRV_MIN_NORMAL_SHARE`): for each share of normal
intervals on a grid, how many recordings and windows pass it (with the confidence and
interval-count gates) and how many of those are usable (SDNN and RMSSD both within
:data:`USABLE_MS` of the reference), on the subjects and records it was chosen on (ubfc-dev
folds 0-1: subjects 3, 9, 10, 12; the odd welltory records; noise pulses of seeds 0-19)
and on the others.  The rule: the share that maximises the usable figures reported less
the unusable ones (noise counts as unusable) on the training items.

Data: ``PULSECL_UBFC_DEV`` or ``../shared/realdata/ubfc-dev``; ``PULSECL_WELLTORY`` or
``../shared/realdata/welltory-ppg`` (``--welltory``).  OUT holds pulses derived from the
videos: keep it outside the repository.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hrv_welltory  # noqa: E402
import ubfc_dev  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE_S = 0.1  # a face beat within this of a finger beat matches it
MAX_LAG_S = 0.5
USABLE_MS = 20.0  # an HRV figure is usable when SDNN and RMSSD are both within this of the reference
SHARES = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.875, 0.9, 0.925, 0.95, 0.975)
NOISE_PULSES = 40  # seeds 0-19 choose, 20-39 check


# ----------------------------------------------------------------------------------------
# Alignment and matching
# ----------------------------------------------------------------------------------------


def lag_s(face: np.ndarray, finger: np.ndarray, fs: float, band: tuple[float, float],
          max_s: float = MAX_LAG_S) -> tuple[float, float]:
    """``(lag s, correlation)``: the finger's delay behind the face at the largest positive
    normalised cross-correlation within ``max_s``, refined by a parabola."""
    from pulsecl.signal.hrv import _bandpassed

    n = min(face.size, finger.size)
    a = _bandpassed(face[:n] - face[:n].mean(), fs, band)
    b = _bandpassed(finger[:n] - finger[:n].mean(), fs, band)
    a, b = a / a.std(), b / b.std()
    k_max = int(max_s * fs)
    lags = np.arange(-k_max, k_max + 1)
    cc = np.array([np.mean(a[max(0, -k) : n - max(0, k)] * b[max(0, k) : n - max(0, -k)]) for k in lags])
    k = int(np.argmax(cc))
    off = 0.0
    if 0 < k < cc.size - 1:
        y0, y1, y2 = cc[k - 1 : k + 2]
        den = y0 - 2 * y1 + y2
        off = 0.5 * (y0 - y2) / den if den != 0 else 0.0
    return float((lags[k] + off) / fs), float(cc[k])


def match(ref: np.ndarray, found: np.ndarray, tol: float = TOLERANCE_S) -> np.ndarray:
    """(R,) index into ``found`` of the beat matched to each reference beat (-1: none),
    one to one: the nearest within ``tol``, the closer reference beat keeping it."""
    idx = np.full(ref.size, -1, dtype=np.int64)
    if found.size == 0 or ref.size == 0:
        return idx
    j = np.clip(np.searchsorted(found, ref), 1, max(found.size - 1, 1))
    if found.size == 1:
        cand = np.zeros(ref.size, dtype=np.int64)
    else:
        cand = np.where(np.abs(found[j - 1] - ref) <= np.abs(found[j] - ref), j - 1, j)
    ok = np.abs(found[cand] - ref) <= tol
    idx[ok] = cand[ok]
    used, counts = np.unique(idx[idx >= 0], return_counts=True)
    for v in used[counts > 1]:
        ks = np.flatnonzero(idx == v)
        best = ks[np.argmin(np.abs(found[v] - ref[ks]))]
        idx[ks[ks != best]] = -1
    return idx


def beat_errors(ref: np.ndarray, found: np.ndarray) -> tuple[float, float, int]:
    """``(matched share, interval MAE ms, pairs)`` of ``found`` beats against ``ref``."""
    idx = match(ref, found)
    both = (idx[1:] >= 0) & (idx[:-1] >= 0) & (np.diff(idx) == 1)
    err = np.abs(np.diff(found)[idx[:-1][both]] - np.diff(ref)[both]) * 1000.0 if both.any() else np.zeros(0)
    return float(np.mean(idx >= 0)) if ref.size else float("nan"), float(err.mean()) if err.size else float("nan"), int(err.size)


def hrv_of(times: np.ndarray, lo: float = -math.inf, hi: float = math.inf):
    """Ungated HRV (20 % rule) of the intervals whose two beats lie in [lo, hi), and the
    share of them that are normal; None when there are too few."""
    from pulsecl.errors import SignalError
    from pulsecl.signal.hrv import hrv_of_intervals, normal_intervals

    t = times[(times >= lo) & (times < hi)]
    ibi = np.diff(t)
    if ibi.size < 3:
        return None, float("nan")
    keep = normal_intervals(ibi)
    try:
        return hrv_of_intervals(ibi, keep), float(keep.mean())
    except SignalError:
        return None, float(keep.mean())


def gate_code(reason: str | None) -> str:
    if reason is None:
        return "reported"
    if "confidence" in reason:
        return "low"
    if "are normal" in reason:
        return "share"
    return "few"


# ----------------------------------------------------------------------------------------
# One face pulse against its finger
# ----------------------------------------------------------------------------------------


def finger_of(root: Path, subject: str) -> dict:
    """The subject's finger PPG: frame timeline (as the face pulse) and capture clock."""
    from pulsecl.signal.hrv import pulse_beats, resample_uniform

    _, rates, ppg, fs = ubfc_dev.reference(root, subject)
    hr = float(np.median(rates))
    beats = pulse_beats(ppg, fs, hr, None)
    rows = np.loadtxt(root / subject / "ground_truth.txt")
    t = rows[2] - rows[2][0]
    _, x, rate = resample_uniform(t, rows[0])
    capture = pulse_beats(x, rate, hr, None)
    return {"ppg": ppg, "fs": fs, "hr": hr, "beats": beats.times_s, "band": beats.band_hz,
            "hrv": hrv_of(beats.times_s)[0], "capture_hrv": hrv_of(capture.times_s + t[0])[0],
            "share": beats.normal_share, "capture_t": t}


def score_face(pulse: np.ndarray, fs: float, finger: dict, signal) -> dict:
    """What ``predict`` reports for this pulse and how it compares with the finger."""
    from pulsecl.signal.analysis import analyse_with
    from pulsecl.signal.hrv import pulse_beats

    a = analyse_with(pulse, fs, signal)
    b = pulse_beats(pulse, fs, a.hr_bpm, a.confidence)
    lag, corr = lag_s(pulse, finger["ppg"], fs, finger["band"])
    face = b.times_s + lag  # onto the finger's clock
    matched, ibi_err, pairs = beat_errors(finger["beats"], face)
    h, share = hrv_of(b.times_s)
    ref = finger["hrv"]
    # the same beats on the capture clock (each beat's frame position -> that frame's time)
    t_cap = finger["capture_t"]
    hc, _ = hrv_of(np.interp(face * fs, np.arange(t_cap.size), t_cap))
    cref = finger["capture_hrv"]
    out = {
        "hr": a.hr_bpm, "confidence": a.confidence.level, "lag_ms": 1000.0 * lag, "corr": corr,
        "beats": b.count, "ref_beats": int(finger["beats"].size), "matched": matched, "ibi_err_ms": ibi_err,
        "pairs": pairs, "normal_share": b.normal_share,
        "sdnn_err": h.sdnn_ms - ref.sdnn_ms if h else float("nan"),
        "rmssd_err": h.rmssd_ms - ref.rmssd_ms if h else float("nan"),
        "pnn50_err": h.pnn50_pct - ref.pnn50_pct if h else float("nan"),
        "capture_sdnn_err": hc.sdnn_ms - cref.sdnn_ms if hc else float("nan"),
        "capture_rmssd_err": hc.rmssd_ms - cref.rmssd_ms if hc else float("nan"),
        "gate": gate_code(b.reason), "reason": b.reason,
        "reported": None if b.hrv is None else {"sdnn_ms": b.hrv.sdnn_ms, "rmssd_ms": b.hrv.rmssd_ms,
                                                "pnn50_pct": b.hrv.pnn50_pct},
        "windows": [],
    }
    for w in b.windows:
        fh, fshare = hrv_of(face, w.start_s + lag, w.end_s + lag)
        rh, _ = hrv_of(finger["beats"], w.start_s + lag, w.end_s + lag)
        out["windows"].append({
            "start_s": w.start_s, "gate": gate_code(w.reason), "normal_share": w.normal_share,
            "intervals": w.intervals,
            "sdnn_err": fh.sdnn_ms - rh.sdnn_ms if fh and rh else float("nan"),
            "rmssd_err": fh.rmssd_ms - rh.rmssd_ms if fh and rh else float("nan"),
        })
    return out


def trivial(finger: dict) -> dict:
    """Every interval the finger's median: SDNN 0, RMSSD 0, pNN50 0; a metronome for beats."""
    t = finger["beats"]
    med = float(np.median(np.diff(t)))
    metronome = t[0] + med * np.arange(int((t[-1] - t[0]) / med) + 1)
    matched, ibi_err, _ = beat_errors(t, metronome)
    ref, cref = finger["hrv"], finger["capture_hrv"]
    return {"matched": matched, "ibi_err_ms": float(np.mean(np.abs(np.diff(t) - med)) * 1000.0),
            "sdnn_err": -ref.sdnn_ms, "rmssd_err": -ref.rmssd_ms, "pnn50_err": -ref.pnn50_pct,
            "capture_sdnn_err": -cref.sdnn_ms, "capture_rmssd_err": -cref.rmssd_ms}


# ----------------------------------------------------------------------------------------
# Contact upper bound: welltory
# ----------------------------------------------------------------------------------------


def welltory(folder: Path) -> list[dict]:
    from pulsecl.signal.hrv import pick_channel, pulse_beats, resample_uniform

    rows = []
    for rec_dir in sorted((folder / "data").glob("subject_*")):
        rec = hrv_welltory.load(rec_dir)
        _, rgb, fs = resample_uniform(rec["t"], rec["rgb"])
        x = -rgb[:, pick_channel(rgb, fs)]
        b = pulse_beats(x, fs, None, None)
        rr = rec["rr"]
        strap = np.concatenate([[0.0], np.cumsum(rr)])
        # the strap's clock against the camera's: the offset matching most beats within 50 ms
        offsets = np.arange(-10.0, 10.0, 0.005)
        hits = [int(np.sum(match(strap + o, b.times_s, 0.05) >= 0)) for o in offsets]
        off = float(offsets[int(np.argmax(hits))])
        ref_t = strap + off
        inside = (ref_t >= b.times_s[0] - 0.5) & (ref_t <= b.times_s[-1] + 0.5)
        matched, ibi_err, _ = beat_errors(ref_t[inside], b.times_s)
        _, sdnn, rmssd = hrv_welltory.reference(rr)
        pnn50 = 100.0 * float(np.mean(np.abs(np.diff(rr)) > 0.05))
        h, _ = hrv_of(b.times_s)
        rows.append({"id": rec["id"], "matched": matched, "ibi_err_ms": ibi_err, "normal_share": b.normal_share,
                     "ref_sdnn": sdnn, "ref_rmssd": rmssd,
                     "sdnn_err": h.sdnn_ms - sdnn if h else float("nan"),
                     "rmssd_err": h.rmssd_ms - rmssd if h else float("nan"),
                     "pnn50_err": h.pnn50_pct - pnn50 if h else float("nan"),
                     "intervals": int(b.normal.sum()), "gate": gate_code(b.reason)})
    return rows


# ----------------------------------------------------------------------------------------
# The gate's share of normal intervals
# ----------------------------------------------------------------------------------------


def noise_items(signal, count: int = NOISE_PULSES) -> list[dict]:
    """White and pink noise pulses of 30-90 s at 30 fps: their confidence, intervals and
    normal share (the gate must refuse every one)."""
    from pulsecl.signal.analysis import analyse_with
    from pulsecl.signal.hrv import pulse_beats

    out = []
    for seed in range(count):
        rng = np.random.default_rng(1000 + seed)
        n = int(rng.uniform(30.0, 90.0) * 30.0)
        x = rng.standard_normal(n)
        if seed % 2:  # pink: 1/f power
            spec = np.fft.rfft(x)
            spec[1:] /= np.sqrt(np.arange(1, spec.size))
            x = np.fft.irfft(spec, n)
        a = analyse_with(x, 30.0, signal)
        b = pulse_beats(x, 30.0, a.hr_bpm, a.confidence)
        out.append({"seed": seed, "train": seed < count // 2, "confidence": a.confidence.level,
                    "normal_share": b.normal_share, "normal": int(b.normal.sum()), "intervals": int(b.ibi_s.size)})
    return out


def gate_table(items: list[dict], shares=SHARES) -> list[dict]:
    """For each share: items passing (not low confidence, enough normal intervals, share
    at or over it) and the usable ones among them, per part (train / held out) and kind."""
    from pulsecl.signal.hrv import HRV_MIN_INTERVALS

    rows = []
    for k in shares:
        row = {"share": k}
        for part in ("train", "test"):
            for kind in ("face", "face window", "welltory", "noise"):
                sel = [i for i in items if i["train"] == (part == "train") and i["kind"] == kind]
                passing = [i for i in sel if i["confidence"] != "low" and i["normal"] >= HRV_MIN_INTERVALS
                           and i["normal_share"] >= k]
                usable = [i for i in passing if i.get("usable")]
                row[f"{part}:{kind}"] = (len(sel), len(passing), len(usable))
        rows.append(row)
    return rows


def net(row: dict, part: str) -> int:
    """Usable figures reported less unusable ones (noise pulses all unusable)."""
    kinds = ("face", "face window", "welltory", "noise")
    usable = sum(row[f"{part}:{k}"][2] for k in kinds)
    return usable - (sum(row[f"{part}:{k}"][1] for k in kinds) - usable)


def chosen_share(rows: list[dict]) -> float:
    """The share that maximises :func:`net` on the training items (of tied shares, the
    one that reports more: the smallest)."""
    best = max(net(row, "train") for row in rows)
    return float(min(row["share"] for row in rows if net(row, "train") == best))


# ----------------------------------------------------------------------------------------


def fmt(v, digits=0, pct=False) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    return f"{100 * v:.0f} %" if pct else f"{v:.{digits}f}"


def signed(v) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:+.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="result folder (outside the repository; pulses are stored and reused)")
    ap.add_argument("--methods", default=",".join(ubfc_dev.CLASSICAL), help="classical methods, comma-separated")
    ap.add_argument("--model", action="append", default=[], help="a shipped model to add, by name (repeatable)")
    ap.add_argument("--checkpoint", action="append", default=[], help="a checkpoint to add (repeatable)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (as ubfc_dev.py)")
    ap.add_argument("--subjects", default="", help="comma-separated subset (default: all)")
    welltory_default = os.environ.get("PULSECL_WELLTORY") or str(ROOT.parent / "shared" / "realdata" / "welltory-ppg")
    ap.add_argument("--welltory", default=welltory_default, help="the welltory-ppg folder ('' to leave the upper bound out)")
    ap.add_argument("--fresh", action="store_true", help="recompute the pulses even when stored")
    args = ap.parse_args(argv)

    from pulsecl.bench.records import finite
    from pulsecl.config import load_config
    from pulsecl.io import write_json, write_text
    from pulsecl.signal.hrv import HRV_MIN_INTERVALS, HRV_MIN_NORMAL_SHARE, HRV_WINDOW_S, HRV_WINDOW_STEP_S

    started = time.time()
    root = ubfc_dev.data_root()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = ubfc_dev.subjects(root)
    if args.subjects:
        names = [n for n in names if n in args.subjects.split(",")]
    config = load_config(None, args.set)
    methods = [ubfc_dev.Method(m, method=m) for m in args.methods.split(",") if m]
    methods += [ubfc_dev.Method(m, model=m) for m in args.model]
    for c in args.checkpoint:
        label = Path(c).parent.name if Path(c).name in ("best.pt", "last.pt") else Path(c).stem
        methods.append(ubfc_dev.Method(label, checkpoint=c))
    for s in names:
        todo = [m for m in methods if args.fresh or not ubfc_dev._store(out, m, s).is_file()]
        if todo:
            t = time.time()
            ubfc_dev.compute_pulses(ubfc_dev.video_of(root, s), todo, config, out, s)
            print(f"  {s}: pulses of {', '.join(m.label for m in todo)} in {time.time() - t:.1f} s", flush=True)

    train_subjects = set(sum(ubfc_dev.folds(ubfc_dev.subjects(root))[:2], []))
    fingers = {s: finger_of(root, s) for s in names}
    results = {m.label: {s: score_face(*ubfc_dev.load_pulse(out, m, s)[:2], fingers[s], config.signal) for s in names}
               for m in methods}
    base = {s: trivial(fingers[s]) for s in names}
    well = welltory(Path(args.welltory)) if args.welltory and (Path(args.welltory) / "data").is_dir() else []
    noise = noise_items(config.signal)

    def usable(sdnn_err, rmssd_err) -> bool:
        return bool(abs(sdnn_err) <= USABLE_MS and abs(rmssd_err) <= USABLE_MS)

    items = []
    for label, rs in results.items():
        for s, r in rs.items():
            items.append({"kind": "face", "train": s in train_subjects, "confidence": r["confidence"],
                          "normal_share": r["normal_share"], "normal": int(round(r["normal_share"] * max(r["beats"] - 1, 0))),
                          "usable": usable(r["sdnn_err"], r["rmssd_err"])})
            for w in r["windows"]:
                items.append({"kind": "face window", "train": s in train_subjects, "confidence": r["confidence"],
                              "normal_share": w["normal_share"],
                              "normal": int(round((w["normal_share"] if np.isfinite(w["normal_share"]) else 0) * w["intervals"])),
                              "usable": usable(w["sdnn_err"], w["rmssd_err"])})
    for i, w in enumerate(well):
        items.append({"kind": "welltory", "train": i % 2 == 0, "confidence": "medium", "normal_share": w["normal_share"],
                      "normal": w["intervals"], "usable": usable(w["sdnn_err"], w["rmssd_err"])})
    for n in noise:
        items.append({"kind": "noise", "train": n["train"], "confidence": "medium", "normal_share": n["normal_share"],
                      "normal": n["normal"], "usable": False})  # the kept-share gate alone, confidence ignored
    gates = gate_table(items)
    chosen = chosen_share(gates)

    report = render(names, train_subjects, fingers, results, base, well, noise, gates, chosen, config, args,
                    (HRV_MIN_NORMAL_SHARE, HRV_MIN_INTERVALS, HRV_WINDOW_S, HRV_WINDOW_STEP_S))
    write_text(out / "ubfc_hrv.md", report)
    print(report)
    write_json(out / "ubfc_hrv.json", finite({
        "subjects": names, "train_subjects": sorted(train_subjects), "signal": vars(config.signal),
        "gate": {"min_normal_share": HRV_MIN_NORMAL_SHARE, "min_intervals": HRV_MIN_INTERVALS,
                 "chosen_share": chosen, "usable_ms": USABLE_MS,
                 "table": [{k: list(v) if isinstance(v, tuple) else v for k, v in row.items()} for row in gates]},
        "finger": {s: {"beats": int(f["beats"].size), "hr_bpm": f["hr"], "normal_share": f["share"],
                       "sdnn_ms": f["hrv"].sdnn_ms, "rmssd_ms": f["hrv"].rmssd_ms, "pnn50_pct": f["hrv"].pnn50_pct,
                       "capture_sdnn_ms": f["capture_hrv"].sdnn_ms, "capture_rmssd_ms": f["capture_hrv"].rmssd_ms}
                   for s, f in fingers.items()},
        "methods": results, "trivial": base, "welltory": well, "noise": noise,
    }))
    print(f"\n{len(methods)} methods, {len(names)} subjects, {len(well)} welltory records in {time.time() - started:.0f} s; "
          f"{out / 'ubfc_hrv.md'}, {out / 'ubfc_hrv.json'}")
    return 0


def render(names, train_subjects, fingers, results, base, well, noise, gates, chosen, config, args, consts) -> str:
    min_share, min_intervals, window_s, step_s = consts
    lines = [f"# Beats and HRV from face video: ubfc-dev ({len(names)} subjects) against the finger PPG", "",
             f"signal: band {config.signal.band_bpm} bpm, window {config.signal.window_s} s; overrides: "
             f"{' '.join(args.set) or 'none'}; gate: confidence not low, >= {min_intervals} normal intervals, "
             f">= {100 * min_share:.0f} % of intervals normal; windows {window_s:g} s every {step_s:g} s", ""]

    lines += ["## Finger reference (frame timeline; capture clock in brackets)", "",
              "| subject | HR bpm | beats | normal | SDNN ms | RMSSD ms | pNN50 % |", "|---|---:|---:|---:|---:|---:|---:|"]
    for s in names:
        f = fingers[s]
        h, c = f["hrv"], f["capture_hrv"]
        lines.append(f"| {s} | {f['hr']:.1f} | {f['beats'].size} | {100 * f['share']:.0f} % | {h.sdnn_ms:.1f} ({c.sdnn_ms:.1f}) "
                     f"| {h.rmssd_ms:.1f} ({c.rmssd_ms:.1f}) | {h.pnn50_pct:.0f} ({c.pnn50_pct:.0f}) |")

    def mean(vals, absolute=False):
        v = np.array([x for x in vals if x is not None and np.isfinite(x)], dtype=float)
        return float(np.mean(np.abs(v) if absolute else v)) if v.size else float("nan")

    lines += ["", "## Overall (mean over subjects; errors: face - finger)", "",
              "| method | lag ms (median) | matched <=100 ms | interval error ms | SDNN MAE ms (bias) | RMSSD MAE ms (bias) "
              "| pNN50 MAE (pts) | capture clock: SDNN, RMSSD MAE ms | normal share | predict reports HRV on "
              "| windows reported |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, rs in results.items():
        r = [rs[s] for s in names]
        wins = [w for x in r for w in x["windows"]]
        rep = sum(x["gate"] == "reported" for x in r)
        why = ", ".join(f"{g} {sum(x['gate'] == g for x in r)}" for g in ("low", "share", "few") if any(x["gate"] == g for x in r))
        lines.append(
            f"| {label} | {np.median([x['lag_ms'] for x in r]):+.0f} | {fmt(mean(x['matched'] for x in r), pct=True)} "
            f"| {fmt(mean(x['ibi_err_ms'] for x in r))} "
            f"| {fmt(mean((x['sdnn_err'] for x in r), True))} ({signed(mean(x['sdnn_err'] for x in r))}) "
            f"| {fmt(mean((x['rmssd_err'] for x in r), True))} ({signed(mean(x['rmssd_err'] for x in r))}) "
            f"| {fmt(mean((x['pnn50_err'] for x in r), True))} "
            f"| {fmt(mean((x['capture_sdnn_err'] for x in r), True))}, {fmt(mean((x['capture_rmssd_err'] for x in r), True))} "
            f"| {fmt(mean(x['normal_share'] for x in r), pct=True)} | {rep} of {len(r)}{' (' + why + ')' if why else ''} "
            f"| {sum(w['gate'] == 'reported' for w in wins)} of {len(wins)} |")
    b = [base[s] for s in names]
    lines.append(f"| trivial: every interval the median | – | {fmt(mean(x['matched'] for x in b), pct=True)} "
                 f"| {fmt(mean(x['ibi_err_ms'] for x in b))} | {fmt(mean((x['sdnn_err'] for x in b), True))} "
                 f"({signed(mean(x['sdnn_err'] for x in b))}) | {fmt(mean((x['rmssd_err'] for x in b), True))} "
                 f"({signed(mean(x['rmssd_err'] for x in b))}) | {fmt(mean((x['pnn50_err'] for x in b), True))} "
                 f"| {fmt(mean((x['capture_sdnn_err'] for x in b), True))}, {fmt(mean((x['capture_rmssd_err'] for x in b), True))} "
                 f"| – | – | – |")
    if well:
        lines.append(f"| contact upper bound: welltory finger camera vs chest strap ({len(well)} records) | – "
                     f"| {fmt(mean(x['matched'] for x in well), pct=True)} | {fmt(mean(x['ibi_err_ms'] for x in well))} "
                     f"| {fmt(mean((x['sdnn_err'] for x in well), True))} ({signed(mean(x['sdnn_err'] for x in well))}) "
                     f"| {fmt(mean((x['rmssd_err'] for x in well), True))} ({signed(mean(x['rmssd_err'] for x in well))}) "
                     f"| {fmt(mean((x['pnn50_err'] for x in well), True))} | – | {fmt(mean(x['normal_share'] for x in well), pct=True)} "
                     f"| {sum(x['gate'] == 'reported' for x in well)} of {len(well)} | – |")
    lines += ["", "The peers (`reference_and_peers.csv`: rPPG-Toolbox, vitallens, open-rppg on these files) have heart "
              "rates only: no beats or HRV figures to compare.", ""]

    lines += ["## Per subject: lag ms / matched / interval error ms / SDNN error / RMSSD error (ms); what predict reports", "",
              "| method | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, rs in results.items():
        cells = []
        for s in names:
            x = rs[s]
            cells.append(f"{x['lag_ms']:+.0f} / {fmt(x['matched'], pct=True)} / {fmt(x['ibi_err_ms'])} / "
                         f"{signed(x['sdnn_err'])} / {signed(x['rmssd_err'])}; {x['gate']}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| trivial | " + " | ".join(
        f"– / {fmt(base[s]['matched'], pct=True)} / {fmt(base[s]['ibi_err_ms'])} / {signed(base[s]['sdnn_err'])} / "
        f"{signed(base[s]['rmssd_err'])}" for s in names) + " |")

    if well:
        lines += ["", "## Contact upper bound: welltory records (finger camera vs Polar H10)", "",
                  "| record | matched | interval error ms | SDNN ref / error | RMSSD ref / error | normal share | gate |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for w in well:
            lines.append(f"| {w['id']} | {fmt(w['matched'], pct=True)} | {fmt(w['ibi_err_ms'])} | {w['ref_sdnn']:.0f} / "
                         f"{signed(w['sdnn_err'])} | {w['ref_rmssd']:.0f} / {signed(w['rmssd_err'])} | "
                         f"{fmt(w['normal_share'], pct=True)} | {w['gate']} |")

    lines += ["", f"## The gate's share of normal intervals (usable: SDNN and RMSSD within {USABLE_MS:g} ms)", "",
              f"Chosen on ubfc-dev {', '.join(sorted(train_subjects, key=lambda n: int(n[7:])))} (all methods, clips and "
              "windows), the odd welltory records and noise seeds 0-19; held out: the rest.  Cells: items, passing, "
              "usable among passing.", "",
              "| share | train faces | train windows | train welltory | train noise | train net | held-out faces "
              "| held-out windows | held-out welltory | held-out noise | held-out net |",
              "|---:|---|---|---|---|---:|---|---|---|---|---:|"]
    for row in gates:
        cells = []
        for p in ("train", "test"):
            cells += [", ".join(str(v) for v in row[f"{p}:{k}"]) for k in ("face", "face window", "welltory", "noise")]
            cells.append(f"{net(row, p):+d}")
        lines.append(f"| {row['share']:.3f} | " + " | ".join(cells) + " |")
    low = sum(n["confidence"] == "low" for n in noise)
    lines += ["", f"Rule (the largest training net: usable reported less unusable reported): share {chosen:.3f}; "
              f"the code's `HRV_MIN_NORMAL_SHARE` is {min_share:.2f}.  Noise pulses called low confidence: {low} of "
              f"{len(noise)}; their normal share: max {max(n['normal_share'] for n in noise):.2f}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
