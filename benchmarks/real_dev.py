"""pulsecl on real skin-patch video, beside rPPG-Toolbox on the same videos and beside the
constant answer.  A benchmark: prints figures, asserts nothing.

    python benchmarks/real_dev.py --out results/real-dev
    python benchmarks/real_dev.py --out results/real-dev --checkpoint runs/real/best.pt --model pulsecl-small

Runs the suite ``benchmarks/real-dev.toml`` (every classical method; each
``--checkpoint``/``--model`` as one more method) through ``pulsecl bench`` (resumable:
cells already done are reused), then prints, per video and per subject (median of the
subject's patches): MAE, RMSE, Pearson r and the share within 5 bpm of

* every pulsecl method,
* rPPG-Toolbox's own method code on the same videos and band (``reference_and_peers.csv``
  beside the data: whole-patch mean RGB, its post-processing, 45-150 bpm),
* the constant answer: the mean of the references over the videos scored (in-sample, so
  slightly flattering the constant), and the leave-one-subject-out mean (what a constant
  learnt from the other subjects would answer).

The data: ``PULSECL_REAL_DEV`` or ``../shared/realdata/bias-eval-dev`` beside the repository.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks" / "real-dev.toml"
TOOLBOX = {"POS": "toolbox_POS", "CHROM": "toolbox_CHROM", "GREEN": "toolbox_GREEN", "LGI": "toolbox_LGI",
           "OMIT": "toolbox_OMIT", "ICA": "toolbox_ICA"}


def data_root() -> Path:
    return Path(os.environ.get("PULSECL_REAL_DEV") or ROOT.parent / "shared" / "realdata" / "bias-eval-dev")


def suite_with(out: Path, checkpoints: list[str], models: list[str]) -> Path:
    """The real-dev suite, plus one checkpoint method per --checkpoint / --model."""
    if not checkpoints and not models:
        return SUITE
    text = SUITE.read_text(encoding="utf-8").replace('path = "../../shared/realdata/bias-eval-dev"', f'path = "{data_root()}"')
    for path in checkpoints:
        name = Path(path).parent.name if Path(path).name in ("best.pt", "last.pt") else Path(path).stem
        text += textwrap.dedent(f"""
            [methods.{name}]
            kind = "checkpoint"
            path = "{Path(path).resolve()}"
            """)
    for name in models:
        from pulsecl.models import list_models

        path = {m.name: m.path for m in list_models()}[name]
        text += textwrap.dedent(f"""
            [methods.{name}]
            kind = "checkpoint"
            path = "{path}"
            """)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "real-dev-suite.toml"
    path.write_text(text, encoding="utf-8")
    return path


def metrics(pred: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    from pulsecl.engine.metrics import summarize_hr

    return summarize_hr(pred, ref)


def per_subject(rows: list[tuple[str, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    groups: dict[str, list[tuple[float, float]]] = {}
    for subject, pred, ref in rows:
        groups.setdefault(subject, []).append((pred, ref))
    pred = np.array([np.median([p for p, _ in g]) for g in groups.values()])
    ref = np.array([np.mean([r for _, r in g]) for g in groups.values()])
    return pred, ref


def loso_constant(rows: list[tuple[str, float, float]]) -> np.ndarray:
    """For each row, the mean reference of the other subjects (one value per subject)."""
    by_subject: dict[str, float] = {}
    for subject, _, ref in rows:
        by_subject[subject] = ref
    out = []
    for subject, _, _ in rows:
        others = [r for s, r in by_subject.items() if s != subject]
        out.append(float(np.mean(others)))
    return np.array(out)


def information_test(pred: np.ndarray, ref: np.ndarray, subjects: list[str], n_perm: int = 2000,
                     seed: int = 0) -> tuple[float, float, float]:
    """Do the estimates know their own subject?  ``(MAE against each video's own
    reference, mean MAE with the references of the subjects shuffled, one-sided p)``: with
    no subject-specific information the two are equal and p is large, and a low MAE then
    only says that the estimates sit near the cohort's mean."""
    pred, ref = np.asarray(pred, float), np.asarray(ref, float)
    names = sorted(set(subjects))
    by_subject = {s: ref[[i for i, x in enumerate(subjects) if x == s][0]] for s in names}
    own = float(np.mean(np.abs(pred - ref)))
    rng = np.random.default_rng(seed)
    values = np.array([by_subject[s] for s in names])
    index = np.array([names.index(s) for s in subjects])
    perm = np.array([np.mean(np.abs(pred - rng.permutation(values)[index])) for _ in range(n_perm)])
    return own, float(perm.mean()), float(np.mean(perm <= own))


def line(label: str, m: dict[str, float]) -> str:
    def f(key, digits=2, pct=False):
        v = m.get(key)
        if v is None or not np.isfinite(v):
            return "   –  "
        return f"{100 * v:5.0f} %" if pct else f"{v:6.{digits}f}"

    return f"  {label:<34} {int(m['n']):>3}  {f('mae')}  {f('rmse')}  {f('pearson', 3)}  {f('within_5bpm', pct=True)}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="result folder (reused: done cells are not run again)")
    ap.add_argument("--checkpoint", action="append", default=[], help="a checkpoint to add (repeatable)")
    ap.add_argument("--model", action="append", default=[], help="a shipped model to add, by name (repeatable)")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()

    os.environ.setdefault("PULSECL_REAL_DEV", str(data_root()))
    from pulsecl.bench import load_suite, run_suite

    out = Path(args.out)
    suite = load_suite(suite_with(out, args.checkpoint, args.model))
    result = run_suite(suite, out, jobs=args.jobs, progress=False, log=None)
    if result.failed:
        for cell, err in result.failed.items():
            print(f"failed: {cell}: {err}", file=sys.stderr)

    from pulsecl.bench.report import load_records

    records = [r for r in load_records(out, suite) if r.get("status") == "done"]
    with open(data_root() / "reference_and_peers.csv", newline="", encoding="utf-8") as fh:
        peers = {Path(r["video"]).with_suffix("").as_posix().removeprefix("Data/"): r for r in csv.DictReader(fh)}

    print(f"real dev set: {data_root()}; band 45-150 bpm; MAE / RMSE in bpm")
    header = f"  {'method':<34} {'n':>3}  {'MAE':>6}  {'RMSE':>6}  {'r':>6}  {'<=5 bpm':>7}"
    print("\ndoes a method know its own subject? MAE against the own references / with the subjects' references "
          "shuffled (2000 times), one-sided p; a large p: the estimates carry no subject-specific information")
    for rec in records:
        rows = [(v["subject"], float(v["hr_pred"]), float(v["hr_ref"])) for v in rec["videos"] if v.get("hr_ref") is not None]
        own, shuffled, p = information_test([r[1] for r in rows], [r[2] for r in rows], [r[0] for r in rows])
        print(f"  pulsecl {rec['method']['name']:<26} {own:6.2f} / {shuffled:6.2f}, p {p:.2f}")
        col = TOOLBOX.get(rec["method"]["name"])
        if col:
            trows = [(v["subject"], float(peers[v["video"]][col]), float(v["hr_ref"])) for v in rec["videos"] if v["video"] in peers]
            own, shuffled, p = information_test([r[1] for r in trows], [r[2] for r in trows], [r[0] for r in trows])
            print(f"  rPPG-Toolbox {rec['method']['name']:<21} {own:6.2f} / {shuffled:6.2f}, p {p:.2f}")
    for level in ("per video", "per subject (median of its patches)"):
        print(f"\n{level}\n{header}")
        baseline_rows = None
        for rec in records:
            rows = [(v["subject"], float(v["hr_pred"]), float(v["hr_ref"])) for v in rec["videos"] if v.get("hr_ref") is not None]
            baseline_rows = baseline_rows or rows
            pred, ref = (np.array([p for _, p, _ in rows]), np.array([r for _, _, r in rows])) if level == "per video" else per_subject(rows)
            print(line(f"pulsecl {rec['method']['name']}", metrics(pred, ref)))
            col = TOOLBOX.get(rec["method"]["name"])
            if col:
                trows = [(v["subject"], float(peers[v["video"]][col]), float(v["hr_ref"])) for v in rec["videos"] if v["video"] in peers]
                tp, tr = (np.array([p for _, p, _ in trows]), np.array([r for _, _, r in trows])) if level == "per video" else per_subject(trows)
                print(line(f"rPPG-Toolbox {rec['method']['name']}", metrics(tp, tr)))
        if baseline_rows:
            rows = baseline_rows
            pred, ref = (None, np.array([r for _, _, r in rows])) if level == "per video" else per_subject(rows)
            print(line("constant: mean of the references", metrics(np.full_like(ref, ref.mean()), ref)))
            loso = loso_constant(rows)
            if level == "per video":
                print(line("constant: mean of the other subjects", metrics(loso, ref)))
            else:
                subj = list(dict.fromkeys(s for s, _, _ in rows))
                lo = np.array([np.mean([r for s2, _, r in rows if s2 != s]) for s in subj])
                print(line("constant: mean of the other subjects", metrics(lo, ref)))
    print(f"\nreport: {out / 'report' / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
