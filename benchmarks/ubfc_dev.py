"""pulsecl on real face video with a finger-PPG reference (UBFC-rPPG, ``ubfc-dev``), beside
the peers' figures on the same files and the constant answer.  A benchmark: prints
figures, asserts nothing.

    python benchmarks/ubfc_dev.py --out results/ubfc
    python benchmarks/ubfc_dev.py --out results/ubfc --model pulsecl-small --checkpoint runs/x/best.pt
    python benchmarks/ubfc_dev.py --out results/ubfc --methods pos --set signal.window_s=8

What it measures, per subject, per fold (4 subject-disjoint folds of 2) and overall:

* whole clip: the heart rate ``predict`` answers against the clip's reference (the median
  of its 10-s windows' reference rates): MAE, RMSE, Pearson r, share within 5 bpm;
* 10-s windows: the rate ``predict`` reports for the window centred at each second
  (``window_hr_bpm``) against the reference's rate in the same window: the mean over
  subjects of each subject's window MAE (how the peers' ``window_mae`` column is made),
  and RMSE, r and share within 5 bpm over all windows;
* confidence: every video's pulse cut into segments of 10, 20 and 30 s, each analysed on
  its own: for each level, how many answers and the share within 5 bpm of the segment's
  reference, and the share of answers called "high".

The reference is computed as ``ubfc-dev/README.md`` says, so that the figures sit beside
``reference_and_peers.csv``: the finger PPG (one sample per frame, time from its first
sample), detrended, band-passed (2nd-order Butterworth 40-180 bpm, zero-phase); per 10-s
window centred every second, the peak in 40-180 bpm of a Hann periodogram padded to at
least 8 minutes; the clip's reference is the median of the windows'.  It reproduces the
CSV's ``ref_hr_bpm`` within 0.12 bpm on every subject.

Methods: every classical method (``--methods`` to choose), each ``--model`` (a shipped
model) and ``--checkpoint``, through ``predict``'s own route (``pulsecl.predictor.setup``,
the crop stream, ``finish``).  Each method's pulse per subject is kept in
``OUT/pulses/<label>/<subject>.npz`` and reused by later runs (``--fresh`` recomputes), so
analysis settings (``--set signal.KEY=VALUE``) can be compared without decoding the video
again.  Those files are derived from the videos: keep OUT outside the repository (the
data's terms: README of ``ubfc-dev``).

The data: ``PULSECL_UBFC_DEV`` or ``../shared/realdata/ubfc-dev`` beside the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLASSICAL = ("pos", "chrom", "pbv", "lgi", "omit", "green", "ica")
FOLDS = 4
REF_BAND_BPM = (40.0, 180.0)
SEGMENTS_S = (10.0, 20.0, 30.0)


def data_root() -> Path:
    return Path(os.environ.get("PULSECL_UBFC_DEV") or ROOT.parent / "shared" / "realdata" / "ubfc-dev")


def subjects(root: Path) -> list[str]:
    """Subject folders holding a video and a reference, by subject number."""
    names = [p.name for p in root.iterdir() if p.is_dir() and (p / "ground_truth.txt").is_file()]
    return sorted(names, key=lambda n: int("".join(c for c in n if c.isdigit()) or 0))


def video_of(root: Path, subject: str) -> Path:
    for name in ("vid.mp4", "vid.avi"):
        if (root / subject / name).is_file():
            return root / subject / name
    raise FileNotFoundError(f"no vid.mp4 or vid.avi in {root / subject}")


def folds(names: list[str], k: int = FOLDS) -> list[list[str]]:
    """``k`` subject-disjoint folds of consecutive subjects (by number)."""
    size = math.ceil(len(names) / k)
    return [names[i : i + size] for i in range(0, len(names), size)]


# ----------------------------------------------------------------------------------------
# The reference (ubfc-dev/README.md)
# ----------------------------------------------------------------------------------------


def _periodogram_peak_bpm(x: np.ndarray, fs: float, band_bpm: tuple[float, float]) -> float:
    import scipy.signal

    nfft = max(len(x), int(8 * 60 * fs))
    nfft = 1 << (nfft - 1).bit_length()
    f, p = scipy.signal.periodogram(x, fs, window="hann", nfft=nfft, detrend=False)
    inside = (f >= band_bpm[0] / 60.0) & (f <= band_bpm[1] / 60.0)
    return float(f[inside][np.argmax(p[inside])] * 60.0)


def reference(root: Path, subject: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(window centres s, window rates bpm, the PPG, its rate)`` of a subject's finger PPG."""
    import scipy.signal

    rows = np.loadtxt(root / subject / "ground_truth.txt")
    ppg, t = rows[0].astype(np.float64), rows[2] - rows[2][0]
    fs = (len(t) - 1) / float(t[-1])
    sos = scipy.signal.butter(2, [REF_BAND_BPM[0] / 60.0, REF_BAND_BPM[1] / 60.0], btype="bandpass", fs=fs, output="sos")
    y = scipy.signal.sosfiltfilt(sos, scipy.signal.detrend(ppg))
    win = int(round(10.0 * fs))
    centres = np.arange(5.0, len(y) / fs - 5.0 + 1e-9, 1.0)
    rates = np.array([_periodogram_peak_bpm(y[int(round((c - 5.0) * fs)) :][:win], fs, REF_BAND_BPM) for c in centres])
    return centres, rates, ppg, fs


# ----------------------------------------------------------------------------------------
# Pulses through predict's route, kept on disk
# ----------------------------------------------------------------------------------------


@dataclass
class Method:
    label: str
    method: str | None = None  # a classical method
    model: str | None = None  # a shipped model
    checkpoint: str | None = None
    options: dict = field(default_factory=dict)


def _store(out: Path, m: Method, subject: str) -> Path:
    return out / "pulses" / m.label / f"{subject}.npz"


def compute_pulses(video: Path, methods: list[Method], config, out: Path, subject: str) -> None:
    """Run ``methods`` over ``video`` the way ``predict`` does and store each pulse.

    Classical methods share one pass over the video (they share their crop settings,
    :func:`pulsecl.video.pipeline.trace_settings`); each model gets its own.
    """
    from pulsecl.extractors import uniform_grid
    from pulsecl.io import atomic_write
    from pulsecl.predictor import setup
    from pulsecl.video import PrefetchSource, open_source
    from pulsecl.video.pipeline import CropStream

    groups: dict[str, list] = {}
    for m in methods:
        s = setup(m.method, m.checkpoint, model=m.model, config=config if m.method else None,
                  method_options=m.options or None)
        key = "classical" if m.method else m.label
        groups.setdefault(key, []).append((m, s))
    for members in groups.values():
        settings = members[0][1].config.preprocess
        src = open_source(str(video), chunk_frames=settings.chunk_frames)
        stream = CropStream(PrefetchSource(src), settings)
        for _, s in members:
            s.extractor.adapt(src.fs)
        for crops, ts in stream:
            for _, s in members:
                s.extractor.feed(crops, ts)
        for m, s in members:
            s.extractor.finish()
            grid, fs = uniform_grid(s.extractor.timestamps)
            pulse = s.extractor.pulse(grid, fs)
            path = _store(out, m, subject)
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path, "wb") as fh:
                np.savez(fh, pulse=pulse, fs=fs, frames=stream.n_frames, without_face=stream.frames_without_face,
                         roi=s.config.preprocess.roi)


def load_pulse(out: Path, m: Method, subject: str) -> tuple[np.ndarray, float, dict]:
    with np.load(_store(out, m, subject)) as z:
        return z["pulse"], float(z["fs"]), {"frames": int(z["frames"]), "without_face": int(z["without_face"]),
                                            "roi": str(z["roi"])}


# ----------------------------------------------------------------------------------------
# Scoring
# ----------------------------------------------------------------------------------------


def score(pulse: np.ndarray, fs: float, ref_t: np.ndarray, ref_hr: np.ndarray, signal) -> dict:
    """One subject: the clip's answer and error, and the windows' rates against the
    reference's at the same centres."""
    from pulsecl.signal.analysis import analyse_with

    a = analyse_with(pulse, fs, signal)
    inside = (ref_t >= a.window_times_s[0] - 1e-6) & (ref_t <= a.window_times_s[-1] + 1e-6)
    win = np.interp(ref_t[inside], a.window_times_s, a.window_hr_bpm)
    clip_ref = float(np.median(ref_hr))
    return {
        "hr": a.hr_bpm, "ref": clip_ref, "error": a.hr_bpm - clip_ref,
        "window_pred": win, "window_ref": ref_hr[inside],
        "window_mae": float(np.mean(np.abs(win - ref_hr[inside]))),
        "confidence": a.confidence.level if a.confidence is not None else None,
    }


def segments(pulse: np.ndarray, fs: float, ref_t: np.ndarray, ref_hr: np.ndarray, signal, length_s: float) -> list:
    """``(answer, reference, level)`` for the pulse cut into segments of ``length_s``."""
    from pulsecl.errors import SignalError
    from pulsecl.signal.analysis import analyse_with

    n = int(round(length_s * fs))
    out = []
    for start in range(0, len(pulse) - n + 1, n):
        t0, t1 = start / fs, (start + n) / fs
        inside = (ref_t >= t0 + 5.0 - 0.5) & (ref_t <= t1 - 5.0 + 0.5)
        if not inside.any():
            continue
        try:
            a = analyse_with(pulse[start : start + n], fs, signal)
        except SignalError:
            continue
        out.append((a.hr_bpm, float(np.median(ref_hr[inside])), a.confidence.level))
    return out


def summary(pred, ref) -> dict:
    from pulsecl.engine.metrics import summarize_hr

    p, r = np.asarray(pred, float), np.asarray(ref, float)
    m = summarize_hr(p, r)
    return {"n": int(p.size), "mae": m.get("mae"), "rmse": m.get("rmse"), "pearson": m.get("pearson"),
            "within_5bpm": m.get("within_5bpm")}


def fmt(v, digits=2, pct=False) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    return f"{100 * v:.0f} %" if pct else f"{v:.{digits}f}"


def peers(root: Path) -> dict[str, dict[str, tuple[float, float | None]]]:
    """peer -> subject -> (clip heart rate, window MAE or None), from the CSV beside the data."""
    path = root / "reference_and_peers.csv"
    out: dict[str, dict] = {}
    if not path.is_file():
        return out
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for key, value in row.items():
                if not key.endswith(":hr_bpm"):
                    continue
                name = key[: -len(":hr_bpm")]
                hr = float(value) if value not in ("", "nan") else float("nan")
                w = row.get(f"{name}:window_mae", "")
                out.setdefault(name, {})[row["subject"]] = (hr, float(w) if w else None)
    return out


# ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="result folder (kept outside the repository; pulses are reused)")
    ap.add_argument("--methods", default=",".join(CLASSICAL), help="classical methods, comma-separated ('' for none)")
    ap.add_argument("--model", action="append", default=[], help="a shipped model to add, by name (repeatable)")
    ap.add_argument("--checkpoint", action="append", default=[], help="a checkpoint to add (repeatable)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for the classical methods' pulse (preprocess.*) and every analysis (signal.*)")
    ap.add_argument("--tag", default="", help="suffix of the classical methods' labels (to keep variants apart)")
    ap.add_argument("--subjects", default="", help="comma-separated subset (default: all)")
    ap.add_argument("--fresh", action="store_true", help="recompute the pulses even when stored")
    args = ap.parse_args(argv)

    from pulsecl.config import load_config

    root = data_root()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = subjects(root)
    if args.subjects:
        names = [n for n in names if n in args.subjects.split(",")]
    config = load_config(None, args.set)
    methods = [Method(f"{m}{args.tag}", method=m) for m in args.methods.split(",") if m]
    methods += [Method(m, model=m) for m in args.model]
    for c in args.checkpoint:
        label = Path(c).parent.name if Path(c).name in ("best.pt", "last.pt") else Path(c).stem
        methods.append(Method(label, checkpoint=c))

    started = time.time()
    refs = {s: reference(root, s) for s in names}
    for s in names:
        todo = [m for m in methods if args.fresh or not _store(out, m, s).is_file()]
        if todo:
            t = time.time()
            compute_pulses(video_of(root, s), todo, config, out, s)
            print(f"  {s}: pulses of {', '.join(m.label for m in todo)} in {time.time() - t:.1f} s", flush=True)

    results: dict[str, dict[str, dict]] = {}
    segs: dict[str, dict[float, list]] = {}
    for m in methods:
        results[m.label], segs[m.label] = {}, {L: [] for L in SEGMENTS_S}
        for s in names:
            pulse, fs, info = load_pulse(out, m, s)
            t, hr, _, _ = refs[s]
            results[m.label][s] = {**score(pulse, fs, t, hr, config.signal), **info}
            for L in SEGMENTS_S:
                segs[m.label][L] += segments(pulse, fs, t, hr, config.signal, L)

    fold_of = {s: i for i, f in enumerate(folds(names)) for s in f}
    report = render(names, fold_of, results, segs, peers(root), refs, config, args)
    (out / "ubfc_dev.md").write_text(report, encoding="utf-8")
    print(report)
    from pulsecl.io import write_json
    from pulsecl.bench.records import finite

    write_json(out / "ubfc_dev.json", finite({
        "subjects": names, "folds": folds(names), "signal": vars(config.signal),
        "methods": {label: {s: {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()}
                            for s, r in rs.items()} for label, rs in results.items()},
        "segments": {label: {str(L): v for L, v in d.items()} for label, d in segs.items()},
    }))
    print(f"\n{len(methods)} methods, {len(names)} subjects in {time.time() - started:.0f} s; "
          f"{out / 'ubfc_dev.md'}, {out / 'ubfc_dev.json'}")
    return 0


def render(names, fold_of, results, segs, peer_rows, refs, config, args) -> str:
    ref_clip = {s: float(np.median(refs[s][1])) for s in names}
    lines = [f"# ubfc-dev: {len(names)} subjects, {FOLDS} subject-disjoint folds "
             f"({'; '.join(', '.join(f) for f in folds(names))})", "",
             f"signal: band {config.signal.band_bpm} bpm, window {config.signal.window_s} s, preset "
             f"{config.signal.preset}; overrides: {' '.join(args.set) or 'none'}", ""]

    def row(label, clip_pred, window_maes, wp=None, wr=None):
        c = summary([clip_pred[s] for s in names], [ref_clip[s] for s in names])
        w = summary(np.concatenate(wp), np.concatenate(wr)) if wp else {}
        wm = np.mean([window_maes[s] for s in names]) if all(window_maes.get(s) is not None for s in names) else None
        return (f"| {label} | {fmt(c['mae'])} | {fmt(c['rmse'])} | {fmt(c['pearson'], 3)} | {fmt(c['within_5bpm'], pct=True)} "
                f"| {fmt(wm)} | {fmt(w.get('rmse'))} | {fmt(w.get('pearson'), 3)} | {fmt(w.get('within_5bpm'), pct=True)} |")

    lines += ["## Overall", "",
              "| method | clip MAE | clip RMSE | clip r | clip <=5 | window MAE | window RMSE | window r | window <=5 |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, rs in results.items():
        lines.append(row(f"pulsecl {label}", {s: rs[s]["hr"] for s in names}, {s: rs[s]["window_mae"] for s in names},
                         [rs[s]["window_pred"] for s in names], [rs[s]["window_ref"] for s in names]))
    for peer, rows in peer_rows.items():
        if all(s in rows and np.isfinite(rows[s][0]) for s in names):
            lines.append(row(peer, {s: rows[s][0] for s in names}, {s: rows[s][1] for s in names}))
    mean = float(np.mean(list(ref_clip.values())))
    lines.append(row("constant: mean of the references", {s: mean for s in names}, {s: None for s in names}))
    other = {s: float(np.mean([ref_clip[o] for o in names if fold_of[o] != fold_of[s]])) for s in names}
    lines.append(row("constant: mean of the other folds", other,
                     {s: float(np.mean(np.abs(refs[s][1] - other[s]))) for s in names}))

    lines += ["", "## Per fold (clip MAE / window MAE)", "",
              "| method | " + " | ".join(f"fold {i} ({', '.join(f)})" for i, f in enumerate(folds(names))) + " |",
              "|---|" + "---:|" * len(folds(names))]
    for label, rs in results.items():
        cells = []
        for f in folds(names):
            cells.append(f"{np.mean([abs(rs[s]['error']) for s in f]):.2f} / {np.mean([rs[s]['window_mae'] for s in f]):.2f}")
        lines.append(f"| pulsecl {label} | " + " | ".join(cells) + " |")

    lines += ["", "## Per subject (answer / window MAE; reference first)", "",
              "| method | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names),
              "| reference | " + " | ".join(f"{ref_clip[s]:.1f}" for s in names) + " |"]
    for label, rs in results.items():
        lines.append(f"| pulsecl {label} | " + " | ".join(
            f"{rs[s]['hr']:.1f} / {rs[s]['window_mae']:.1f} {rs[s]['confidence'][0] if rs[s]['confidence'] else ''}"
            for s in names) + " |")
    for peer, rows in peer_rows.items():
        if all(s in rows for s in names):
            lines.append(f"| {peer} | " + " | ".join(
                f"{rows[s][0]:.1f} / {fmt(rows[s][1], 1)}" for s in names) + " |")

    lines += ["", "## Confidence on segments (each analysed on its own)", "",
              "| method | segment | answers | high: n, <=5 bpm | medium: n, <=5 bpm | low: n, <=5 bpm | called high |",
              "|---|---:|---:|---|---|---|---:|"]
    for label, d in segs.items():
        for L, items in d.items():
            if not items:
                continue
            cells = []
            for level in ("high", "medium", "low"):
                hit = [abs(p - r) <= 5.0 for p, r, lv in items if lv == level]
                cells.append(f"{len(hit)}, {fmt(np.mean(hit), pct=True) if hit else '–'}")
            share = np.mean([lv == "high" for _, _, lv in items])
            lines.append(f"| {label} | {L:g} s | {len(items)} | " + " | ".join(cells) + f" | {fmt(share, pct=True)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
