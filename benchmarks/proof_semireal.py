"""Self-supervised training on semi-real video (real skin-patch noise, a real finger pulse
at a known rate in it), held-out subjects: a benchmark, not a test.

The real dev patches carry no pulse that any method finds at the reference rate (see
``proof_real.py``: a permutation test of the references changes no method's MAE), so
they cannot show whether a model learns the pulse.  ``benchmarks/semireal.py build DATA``
writes the same patch videos with a welltory finger pulse injected at a rate drawn from
50-170 bpm and an amplitude log-uniform in 0.25-4 % of the skin colour, labelled, the
patches of one subject in one folder.  Here:

1. subject-disjoint folds; a recipe trains on the training subjects' videos without
   their labels (``labels=False``: the reference pulses are never read), except the
   ceiling "supervised (reads the labels)", which shows what the backbone and the data
   path can learn when the injected pulse is given;
2. on the held-out subjects' videos, heart rates as users get them
   (``pulsecl.predict(video, checkpoint=..., roi="full")``), beside pulsecl POS and CHROM
   and the constant answer (mean of the training references); the reference is the
   heart rate of the injected pulse by the same analysis (:func:`pulsecl.signal.analysis.analyse`);
3. MAE, RMSE, Pearson r, share within 5 bpm, per video and per subject (median of the
   subject's videos), pooled over the folds; the collapse probe on held-out clips.

Usage::

    python benchmarks/semireal.py build /tmp/semireal          # once, a few minutes
    python benchmarks/proof_semireal.py /tmp/semireal --out /tmp/sr --budget 600 --recipes "equal length"
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proof_real import _fmt, held_out_probe, metrics, per_subject, recipes  # noqa: E402

BAND = (40.0, 250.0)


def reference_hr(csv_path: Path, band) -> float:
    """Heart rate of the injected pulse (``time,ppg`` rows after ``#`` comments), by the
    analysis ``predict`` uses."""
    from pulsecl.signal.analysis import analyse

    rows = [line for line in csv_path.read_text().splitlines() if line and not line.startswith("#")]
    data = np.array([[float(v) for v in line.split(",")] for line in rows[1:]])
    t, p = data[:, 0], data[:, 1]
    fs = (len(t) - 1) / (t[-1] - t[0])
    return float(analyse(p, fs, (band[0] / 60, band[1] / 60)).hr_bpm)


def run(args) -> dict:
    import torch

    import pulsecl
    from pulsecl.config import load_config
    from pulsecl.data import kfold, open_dataset
    from pulsecl.engine.clips import load_videos
    from pulsecl.engine.trainer import train

    torch.set_num_threads(args.threads)
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = open_dataset(data, "labelled-folder").records()
    fold_subjects = [sorted({r.subject for r in kfold(records, args.folds, f, seed=args.seed)[1]}) for f in range(args.folds)]
    source = {r.id: r.source for r in records}
    subject = {r.id: r.subject for r in records}
    cache_path = out / "classical.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    for r in records:
        if f"ref:{r.id}" not in cache:
            cache[f"ref:{r.id}"] = reference_hr(Path(r.source).with_suffix(".csv"), BAND)
        for m in ("pos", "chrom"):
            if f"{m}:{r.id}" not in cache:
                cache[f"{m}:{r.id}"] = float(pulsecl.predict(r.source, method=m, roi="full", band_bpm=BAND, prefetch=False).hr_bpm)
        cache_path.write_text(json.dumps(cache, indent=1))
    sets = ["preprocess.roi='full'", f"data.cache='{args.cache or Path(args.out) / 'cache'}'", "data.exclude=[]", "data.dataset='labelled-folder'", *args.set]
    videos = load_videos(load_config(None, sets), data, labels=False)  # the labels are never read
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    if results.get("folds") != fold_subjects or results.get("set", []) != list(args.set):
        results = {"folds": fold_subjects, "set": list(args.set), "recipes": {}}
    chosen = {**recipes(args.budget), **ceilings(args.budget)}
    labelled = None  # loaded only for a recipe that reads the labels
    chosen = {k: v for k, v in chosen.items() if not args.recipes or k in args.recipes}
    for label, overrides in chosen.items():
        rec = {"overrides": overrides, "folds": {}}
        for f, held in enumerate(fold_subjects):
            if args.fold is not None and f != args.fold:
                continue
            run_dir = out / "runs" / label.replace(" ", "-").replace(",", "") / f"fold{f}"
            if not (run_dir / "done.json").exists():
                import shutil

                shutil.rmtree(run_dir, ignore_errors=True)
                config = load_config(None, [*sets, *overrides, f"train.seed={args.seed}"])
                t0 = time.perf_counter()
                pool = videos
                if config.train.mode == "supervised":  # the ceiling: the injected pulse as the label
                    if labelled is None:
                        labelled = load_videos(load_config(None, sets), data, labels=True)
                    pool = labelled
                res = train(config, data, run_dir, progress=False, log=print,
                            videos=[v for v in pool if v.subject not in held])
                (run_dir / "done.json").write_text(json.dumps({"steps": res.steps, "seconds": round(time.perf_counter() - t0, 1)}))
            info = json.loads((run_dir / "done.json").read_text())
            epochs = list(csv.DictReader(open(run_dir / "epochs.csv")))
            info["collapsed_epochs"] = sum(e["collapsed"] == "True" for e in epochs)
            test = [v for v in videos if v.subject in held]
            train_ids = [r.id for r in records if r.subject not in held]
            constant = float(np.mean([cache[f"ref:{i}"] for i in train_ids]))
            rows = [{"video": v.id, "subject": subject[v.id], "ref": cache[f"ref:{v.id}"], "POS": cache[f"pos:{v.id}"],
                     "CHROM": cache[f"chrom:{v.id}"], "constant": constant} for v in test]
            for ck in ("best.pt", "last.pt"):
                if not (run_dir / ck).exists():
                    continue
                hr_path = run_dir / f"hr-{ck}.json"
                hrs = json.loads(hr_path.read_text()) if hr_path.exists() else {}
                for v in test:
                    if v.id not in hrs:
                        hrs[v.id] = float(pulsecl.predict(source[v.id], checkpoint=str(run_dir / ck), roi="full",
                                                          band_bpm=BAND, prefetch=False).hr_bpm)
                hr_path.write_text(json.dumps(hrs, indent=1))
                info[f"probe {ck}"] = held_out_probe(run_dir / ck, test)
                for row in rows:
                    row[ck] = hrs[row["video"]]
            rec["folds"][str(f)] = {"info": info, "videos": rows}
        results["recipes"][label] = rec
        results_path.write_text(json.dumps(results, indent=1, default=float))
        print(report(results), flush=True)
    return results


def ceilings(budget: float) -> dict[str, list[str]]:
    """Recipes that read the training subjects' labels (the injected pulse): not
    self-supervised, they show what the backbone and data path can learn at all."""
    return {
        "supervised (reads the labels)": [f"train.time_budget_s={budget}", "train.epochs=100000", "train.steps_per_epoch=10",
                                          "train.mode='supervised'", "loss.weights={neg_pearson = 1.0}", "views.augment=''"],
    }


def report(results: dict) -> str:
    lines = [f"folds (held-out subjects): {results['folds']}", f"settings for every recipe: {results.get('set', [])}", "",
             "| method | videos | MAE | RMSE | r | within 5 | subjects | MAE | RMSE | r | within 5 | probe noise r | collapsed epochs | steps |",
             "|" + "---|" * 14]
    first = True
    for label, rec in results["recipes"].items():
        rows = [r for f in rec["folds"].values() for r in f["videos"]]
        if not rows:
            continue
        if first:
            for key, name in (("constant", "constant (training mean)"), ("CHROM", "pulsecl CHROM"), ("POS", "pulsecl POS")):
                lines.append(f"| {name} | {len(rows)} | {_fmt(metrics([r[key] for r in rows], [r['ref'] for r in rows]))} | "
                             f"{len({r['subject'] for r in rows})} | {_fmt(metrics(*per_subject(rows, key)))} | - | - | - |")
            first = False
        infos = [f["info"] for f in rec["folds"].values()]
        for ck in ("best.pt", "last.pt"):
            have = [r for r in rows if ck in r]
            if not have:
                lines.append(f"| {label} ({ck}) | none: every epoch collapsed |" + " |" * 12)
                continue
            pv, ps = metrics([r[ck] for r in have], [r["ref"] for r in have]), metrics(*per_subject(have, ck))
            noise = max(i[f"probe {ck}"]["probe_noise_r"] for i in infos if f"probe {ck}" in i)
            lines.append(f"| {label} ({ck}) | {pv['n']} | {_fmt(pv)} | {ps['n']} | {_fmt(ps)} | {noise:.2f} | "
                         f"{'/'.join(str(i['collapsed_epochs']) for i in infos)} | {'/'.join(str(i['steps']) for i in infos)} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="the semi-real dataset (benchmarks/semireal.py build)")
    p.add_argument("--out", required=True)
    p.add_argument("--cache", default=None, help="preprocessing cache, outside the data (default OUT/cache)")
    p.add_argument("--budget", type=float, default=600.0, help="training seconds per fold")
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--fold", type=int, default=None, help="run only this fold")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--recipes", nargs="*")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args()
    if args.report_only:
        print(report(json.loads((Path(args.out) / "results.json").read_text())))
        return
    run(args)


if __name__ == "__main__":
    main()
