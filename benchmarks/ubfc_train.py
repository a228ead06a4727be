"""Self-supervised training on real faces, held out by subject (ubfc-dev), against CPU time.
A benchmark: prints figures, asserts nothing.

    python benchmarks/ubfc_train.py --out DIR --recipe default --folds 0,1,2,3 --budget 1200
    python benchmarks/ubfc_train.py --out DIR --recipe paper --folds 0,1 --budget 1200
    python benchmarks/ubfc_train.py --out DIR --recipe distill-init --budget 300  # POS pseudo-labels, from pulsecl-small
    python benchmarks/ubfc_train.py --out DIR --recipe adapt --budget 300     # --init pulsecl-small on the
                                                                             # held-out subjects' own videos

For each fold (4 subject-disjoint folds of 2 subjects, as ``benchmarks/ubfc_dev.py``) it
trains the recipe without labels (``pulsecl train``: the reference pulse is never read) on
the other folds' subjects (``adapt``: on the fold's own subjects, the user who fine-tunes a
model on the videos they want read), saving snapshots after 2, 5, 10 and 20 minutes of
training (``train.snapshots_s``), then reads the fold's subjects with every snapshot,
``best.pt`` and ``last.pt`` through ``predict``'s route and scores them as
``ubfc_dev.py`` does: whole-clip and 10-s-window MAE against the finger PPG.  Beside them:
POS and ``pulsecl-small`` on the same subjects, and the steps each run got.

Recipes (``--recipe``; ``--set`` adds overrides): ``default`` (the small default from
scratch), ``default+synthetic`` (the same with ``--synthetic N`` synthetic subjects added to
each fold's training videos), ``paper`` (the paper's preset at its own size), ``init`` (the
small default started from ``pulsecl-small``), ``variance`` (the default plus SiNC's
variance loss), ``landmarks`` (the default on the crops of the face-landmark skin region, zero
outside it, that make POS work on these videos), ``adapt`` (``init`` on the held-out subjects'
own videos), ``distill`` (the ``pseudo-labels`` preset: POS's pulse on each training video's
own crops as the only target, no contrast, priors or augmentation; no reference is read),
``distill-init`` (the same from ``pulsecl-small``), ``distill-init+synthetic`` (the same
with ``--synthetic N`` synthetic subjects added, their POS pulse the target as for the faces)
and ``adapt-distill`` (``distill-init`` on the held-out subjects' own videos).  (The
preset's earlier weights, the default's losses plus NegPearson x5, on landmark crops, and
``stillness``, still faces with a loss against in-band power, were tried and dropped: docs/measurements.md, "Learning on real faces".)

Timing: each run's budget is wall-clock training time on this machine; run one at a time
and nothing else heavy beside it, or the runs get fewer steps (the steps are reported).
The runs and their crops stay in DIR (derived from the videos: keep DIR outside the
repository).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ubfc_dev as U  # noqa: E402

RECIPES = {
    "default": [],
    "default+synthetic": [],
    "paper": [],
    "init": [],
    "variance": ["loss.weights={mvtl = 1.0, bandwidth = 1.0, sparsity = 1.0, invariance = 1.0, variance = 1.0}"],
    "adapt": [],
    "landmarks": ["preprocess.roi='landmarks'"],
    "distill": [],
    "distill-init": [],
    "distill-init+synthetic": [],
    "adapt-distill": [],
}
SNAPSHOTS_S = (120, 300, 600, 1200)


def training_root(out: Path, root: Path, subjects: list[str], synthetic: Path | None) -> Path:
    """A folder of symbolic links to ``subjects`` (and the synthetic subjects): the
    training data of one run, and nothing else."""
    import hashlib

    tag = hashlib.sha1(",".join(subjects).encode()).hexdigest()[:8] + ("-synth" if synthetic else "")
    folder = out / "data" / tag
    folder.mkdir(parents=True, exist_ok=True)
    for s in subjects:
        link = folder / s
        if not link.exists():
            link.symlink_to(root / s, target_is_directory=True)
    if synthetic:
        for d in sorted(p for p in synthetic.iterdir() if p.is_dir()):
            link = folder / f"synthetic-{d.name}"
            if not link.exists():
                link.symlink_to(d, target_is_directory=True)
    return folder


def train_run(out: Path, recipe: str, fold: int, data: Path, budget: float, extra: list[str]) -> Path:
    run = out / "runs" / f"{recipe}-f{fold}"
    if (run / "last.pt").is_file():
        return run
    preset = "paper" if recipe == "paper" else "pseudo-labels" if "distill" in recipe else None
    cmd = [sys.executable, "-m", "pulsecl", "train", *([preset] if preset else []), "--data", str(data),
           "--out", str(run), "--no-progress",
           "--set", "data.exclude=[]", "--set", f"train.time_budget_s={budget}", "--set", "train.epochs=100000",
           "--set", f"data.cache={out / 'cache'}",
           "--set", f"train.snapshots_s=[{', '.join(str(s) for s in SNAPSHOTS_S if s <= budget)}]"]
    if recipe.removesuffix("+synthetic") in ("init", "adapt", "distill-init", "adapt-distill"):
        cmd += ["--init", "pulsecl-small"]
    for o in [*RECIPES[recipe], *extra]:
        cmd += ["--set", o]
    log = out / "runs" / f"{recipe}-f{fold}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    t = time.time()
    with open(log, "w") as fh:
        rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT)
    print(f"  trained {recipe} fold {fold} in {time.time() - t:.0f} s (exit {rc}); log {log}", flush=True)
    return run


def steps_of(run: Path) -> int:
    rows = list(csv.DictReader(open(run / "log.csv"))) if (run / "log.csv").is_file() else []
    return int(rows[-1]["step"]) if rows else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--recipe", required=True, choices=sorted(RECIPES))
    ap.add_argument("--folds", default="0,1,2,3")
    ap.add_argument("--budget", type=float, default=1200.0, help="seconds of training per fold")
    ap.add_argument("--synthetic", type=int, default=8, help="synthetic subjects for the recipes named +synthetic")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="more training overrides")
    args = ap.parse_args(argv)

    from pulsecl.config import load_config

    root, out = U.data_root(), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = U.subjects(root)
    folds = U.folds(names)
    synthetic = None
    if args.recipe.endswith("+synthetic"):
        synthetic = out / "synthetic"
        if not synthetic.is_dir():
            subprocess.check_call([sys.executable, "-m", "pulsecl", "synth", str(synthetic), "--n", str(args.synthetic),
                                   "--seed", "5"], stdout=subprocess.DEVNULL)
    refs = {s: U.reference(root, s) for s in names}
    config = load_config(None, [])
    rows = []
    for k in (int(f) for f in args.folds.split(",")):
        held = folds[k]
        train_subjects = held if args.recipe.startswith("adapt") else [s for s in names if s not in held]
        data = training_root(out, root, train_subjects, synthetic)
        run = train_run(out, args.recipe, k, data, args.budget, args.set)
        points = [(f"{s // 60:g} min", run / f"snapshot-{s:g}s.pt") for s in SNAPSHOTS_S]
        points += [("best.pt", run / "best.pt"), ("last.pt", run / "last.pt")]
        # one label per time point: the folds' subjects differ, so their stored pulses do not clash
        methods = [U.Method(f"{args.recipe}-{label.replace(' ', '')}", checkpoint=str(p))
                   for label, p in points if p.is_file()]
        methods += [U.Method("pos", method="pos"), U.Method("pulsecl-small", model="pulsecl-small")]
        for s in held:
            todo = [m for m in methods if not U._store(out, m, s).is_file()]
            if todo:
                U.compute_pulses(U.video_of(root, s), todo, config, out, s)
        for m in methods:
            errs = [U.score(*U.load_pulse(out, m, s)[:2], *refs[s][:2], config.signal) for s in held]
            rows.append({"fold": k, "method": m.label, "clip_mae": float(np.mean([abs(e["error"]) for e in errs])),
                         "window_mae": float(np.mean([e["window_mae"] for e in errs])),
                         "answers": [round(e["hr"], 1) for e in errs], "refs": [round(e["ref"], 1) for e in errs],
                         "steps": steps_of(run) if m.checkpoint else None})
        probe = list(csv.DictReader(open(run / "epochs.csv")))[-1] if (run / "epochs.csv").is_file() else {}
        print(f"fold {k} ({', '.join(held)}): {steps_of(run)} steps; last epoch's probe: still face "
              f"{probe.get('probe_still_db', '?')} dB, rates spread {probe.get('probe_rate_spread', '?')} bpm "
              f"(POS {probe.get('probe_pos_spread', '?')}), collapsed {probe.get('collapsed', '?')}", flush=True)
        for r in rows:
            if r["fold"] == k:
                print(f"  {r['method']:<32} clip {r['clip_mae']:6.2f}  window {r['window_mae']:6.2f}  "
                      f"answers {r['answers']} for {r['refs']}")
    from pulsecl.io import write_json

    write_json(out / f"ubfc_train-{args.recipe}.json", {"recipe": args.recipe, "budget_s": args.budget,
                                                         "overrides": args.set, "rows": rows})
    print("\nmean over the folds run (clip / window MAE):")
    for label in dict.fromkeys(r["method"] for r in rows):
        sel = [r for r in rows if r["method"] == label]
        print(f"  {label:<24} {np.mean([r['clip_mae'] for r in sel]):6.2f} / {np.mean([r['window_mae'] for r in sel]):6.2f}"
              f"  ({len(sel)} folds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
