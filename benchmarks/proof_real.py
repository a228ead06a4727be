"""Self-supervised training on real video, held-out subjects: a benchmark, not a test.

On the real dev set (``realdata/bias-eval-dev``: 31 skin-patch videos of 13 subjects,
15 fps; see its README), with subject-disjoint folds:

1. Train a recipe without labels on the training subjects' patches (the dataset's mean
   reference heart rates are never read in training), for a time budget per fold.
2. On the held-out subjects' patches, read each model's heart rate as users get it
   (``pulsecl.predict(video, checkpoint=..., roi="full", band_bpm=...)``), beside pulsecl
   POS and CHROM on the same videos and band, rPPG-Toolbox's CHROM and POS figures for
   those videos (``reference_and_peers.csv``), and the constant answer "mean of the
   training subjects' references" (which uses the training labels, for that baseline
   only).
3. Report per video and per subject (median of the patches): MAE, RMSE, Pearson r and
   the share within 5 bpm, pooled over the folds (every video is held out once); a
   permutation test (the share of random reassignments of the subjects' references
   under which the method's MAE is at least as good: a method that follows the
   references gets near 0); and the collapse probe (:mod:`pulsecl.engine.probe`) of
   each model on held-out clips, with the number of collapsed training epochs.

Read the permutation column first: on this set no method, classical or learnt, does
better with the true references than with shuffled ones (rPPG-Toolbox CHROM's 7.77 bpm
MAE on all 31 videos has p = 0.78), so MAE differences here say little about pulse
tracking; the references span 66-85 bpm and predictions near the middle of the range
score well whatever they track.

Usage::

    python benchmarks/proof_real.py --out /tmp/real --budget 300 --recipes "equal length"
    python benchmarks/proof_real.py --out /tmp/real --budget 1800            # the final run
    python benchmarks/proof_real.py --out /tmp/real --report-only            # tables again

Results land in ``--out`` (runs, ``results.json``, ``videos.csv``); a rerun reuses
finished runs and cached classical figures.  Targets (issue 12): not collapsed (|r|
between a model's pulse on a real clip and on noise below 0.5); MAE below rPPG-Toolbox
CHROM's on the held-out subjects.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path

import numpy as np

DATA = "/work/shared/realdata/bias-eval-dev"
BAND = (45.0, 150.0)  # the band of the toolbox figures in reference_and_peers.csv


def recipes(budget: float) -> dict[str, list[str]]:
    """Named override lists over the defaults (the data settings are added per fold).

    Every recipe spells out its proxy and augmentation, so that it means the same when
    the defaults change.  "equal length" is the base the "+ ..." rows add to."""
    common = [f"train.time_budget_s={budget}", "train.epochs=100000", "train.steps_per_epoch=10"]
    weights = "mvtl = 1.0, bandwidth = 1.0, sparsity = 1.0"
    base = [*common, "views.proxy_options={equal_length = true}", "views.augment='motion'",
            f"loss.weights={{{weights}, invariance = 1.0}}"]
    cross = ["data.sampling='subjects'", "loss.options={mvtl = {cross_weight = 1.0}}"]
    variance = [f"loss.weights={{{weights}, invariance = 1.0, variance = 1.0}}"]
    band = "band_bpm = [45.0, 150.0]"
    return {
        "pulsecl default": [*common],  # whatever the config's defaults are
        "default, zero time padding": [*common, "model.options={channels = 32, norm = 'chromatic', time_padding = 'zeros'}"],
        "old default (cropped negatives)": [
            *common, "views.proxy_options={crop_negatives = true}", "views.augment='motion'",
            f"loss.weights={{{weights}, invariance = 1.0}}",
        ],
        "equal length, motion copy": base,
        "+ subject sampling": [*base, "data.sampling='subjects'"],
        "+ cross-video": [*base, *cross],
        "+ variance": [*base, *variance],
        "SiNC losses only": [*base, "loss.weights={bandwidth = 1.0, sparsity = 1.0, variance = 1.0, invariance = 1.0}"],
        "+ sparsity x3": [*base, "loss.weights={mvtl = 1.0, bandwidth = 1.0, sparsity = 3.0, invariance = 1.0}"],
        "+ bank": [*base, "bank.size=512"],
        "+ bank, cross-video, variance": [*base, "bank.size=512", *cross, *variance],
        "mvtl x10": [*base, f"loss.weights={{mvtl = 10.0, bandwidth = 1.0, sparsity = 1.0}}"],
        "mvtl x30": [*base, f"loss.weights={{mvtl = 30.0, bandwidth = 1.0, sparsity = 1.0}}"],
        "mvtl x10 + variance": [*base, f"loss.weights={{mvtl = 10.0, bandwidth = 1.0, sparsity = 1.0, variance = 1.0}}"],
        "mvtl x10 + variance with negatives": [
            *base, f"loss.weights={{mvtl = 10.0, bandwidth = 1.0, sparsity = 1.0, variance = 1.0}}",
            "loss.options={variance = {with_negatives = true}}",
        ],
        "mvtl x10 + cross-video": [*base, f"loss.weights={{mvtl = 10.0, bandwidth = 1.0, sparsity = 1.0}}", *cross],
        "+ decorrelation": [*base, f"loss.weights={{{weights}, decorrelation = 1.0}}"],
        "+ decorrelation, subject sampling": [*base, f"loss.weights={{{weights}, decorrelation = 1.0}}",
                                              "data.sampling='subjects'"],
        "mvtl x10 + decorrelation": [*base, "loss.weights={mvtl = 10.0, bandwidth = 1.0, sparsity = 1.0, decorrelation = 1.0}"],
        "mvtl only": [*base, "loss.weights={mvtl = 1.0}"],
        "pseudo-labels (POS)": [*common, "data.pseudo_labels='pos'",
                                "loss.weights={mvtl = 1.0, bandwidth = 1.0, sparsity = 1.0, invariance = 1.0, neg_pearson = 5.0}"],
        "pseudo-labels (POS), confidence-weighted": [
            *common, "data.pseudo_labels='pos'",
            "loss.weights={mvtl = 1.0, bandwidth = 1.0, sparsity = 1.0, invariance = 1.0, neg_pearson = 5.0}",
            "loss.options.neg_pearson={confidence_power = 2.0}",
        ],
        "+ 10 s clips": [*base, "data.clip_s=10.0"],
        "+ band 45-150": [
            *base, "signal.band_bpm=[45.0, 150.0]",
            f"views.proxy_options={{equal_length = true, {band}}}",
            f"loss.options={{mvtl = {{{band}}}, bandwidth = {{{band}}}, sparsity = {{{band}}}}}",
        ],
        "paper recipe (same size)": [
            *common, "model.options.norm='zscore'",
            "views.proxy_options={per_sample = false, pad_negatives = true, antialias = false}",
            "views.augment=''", "loss.weights={mvtl = 1.0}", "loss.options={mvtl = {pad_factor = 1.0}}",
        ],
    }


# ----------------------------------------------------------------------------------------
# data and folds
# ----------------------------------------------------------------------------------------


def folds(records, k: int, seed: int) -> list[list[str]]:
    """Held-out subjects of each of ``k`` folds (subjects shuffled with ``seed``)."""
    from pulsecl.data import kfold

    out = []
    for f in range(k):
        _, test = kfold(records, k, f, seed=seed)
        out.append(sorted({r.subject for r in test}))
    return out


def peers(data: Path) -> dict[str, dict[str, float]]:
    """``{record id: {"CHROM": bpm, "POS": bpm, ...}}`` from reference_and_peers.csv."""
    out = {}
    with open(data / "reference_and_peers.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            rid = row["video"].removeprefix("Data/").removesuffix(".avi")
            out[rid] = {k.removeprefix("toolbox_"): float(v) for k, v in row.items() if k.startswith("toolbox_")}
    return out


# ----------------------------------------------------------------------------------------
# metrics
# ----------------------------------------------------------------------------------------


def metrics(pred: list[float], ref: list[float]) -> dict[str, float]:
    p, r = np.asarray(pred, float), np.asarray(ref, float)
    err = p - r
    pearson = float(np.corrcoef(p, r)[0, 1]) if p.size > 2 and p.std() > 0 and r.std() > 0 else float("nan")
    return {
        "n": int(p.size),
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err ** 2).mean())),
        "pearson": pearson,
        "within5": float((np.abs(err) <= 5.0).mean()),
    }


def per_subject(rows: list[dict], key: str) -> tuple[list[float], list[float]]:
    """Median over each subject's patches of ``key``, and the subject's reference."""
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["subject"], []).append(r)
    pred = [float(np.median([x[key] for x in v])) for v in by.values()]
    ref = [float(np.median([x["ref"] for x in v])) for v in by.values()]
    return pred, ref


def permutation_p(rows: list[dict], key: str, n: int = 2000, seed: int = 0) -> float:
    """Share of random permutations of the subjects' references (each subject's patches
    keep one reference) whose MAE is at most the true one: near 0 when a method's heart
    rates follow the references, ~0.5 or more when they do not."""
    subjects = sorted({r["subject"] for r in rows})
    ref = {s: float(np.median([r["ref"] for r in rows if r["subject"] == s])) for s in subjects}
    pred = np.array([r[key] for r in rows], float)
    true = np.abs(pred - np.array([r["ref"] for r in rows])).mean()
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n):
        shuffled = dict(zip(subjects, rng.permutation([ref[s] for s in subjects])))
        hits += np.abs(pred - np.array([shuffled[r["subject"]] for r in rows])).mean() <= true
    return hits / n


# ----------------------------------------------------------------------------------------
# running
# ----------------------------------------------------------------------------------------


def predict_hr(source: str, band, **kw) -> float:
    import pulsecl

    return float(pulsecl.predict(source, roi="full", band_bpm=band, prefetch=False, **kw).hr_bpm)


def held_out_probe(checkpoint: Path, videos) -> dict:
    """The collapse probe of a checkpoint on held-out clips (one per subject)."""
    import torch

    from pulsecl.engine.checkpoint import build_from_checkpoint, load_checkpoint
    from pulsecl.engine.probe import collapse_probe, probe_clips

    data = load_checkpoint(checkpoint)
    backbone, sampler = build_from_checkpoint(data, checkpoint)
    backbone.eval(), sampler.eval()
    subjects = sorted({v.subject for v in videos})
    clips, fs, _ = probe_clips(videos, int(data["clip_frames"]), [subjects.index(v.subject) for v in videos])
    with torch.no_grad():
        result = collapse_probe(lambda x: backbone(sampler(x)), clips, fs=fs)
    return {**result.as_row(), "clips": result.clips}


def run(args) -> dict:
    import torch

    import pulsecl
    from pulsecl.config import load_config
    from pulsecl.data import open_dataset
    from pulsecl.engine.clips import load_videos
    from pulsecl.engine.trainer import train

    torch.set_num_threads(args.threads)
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = open_dataset(data).records()
    fold_subjects = folds(records, args.folds, args.seed)
    ref = {r.id: float(r.meta["hr"]) for r in records}
    subject_of = {r.id: r.subject for r in records}
    source_of = {r.id: r.source for r in records}
    peer = peers(data)
    data_sets = ["preprocess.roi='full'", f"data.cache='{args.cache or Path(args.out) / 'cache'}'", "data.exclude=[]", *args.set]
    # unlabelled training videos: labels=False never reads meta['hr']
    all_videos = load_videos(load_config(None, data_sets), data, labels=False)
    cache_path = out / "classical.json"
    classical = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    for rid in sorted(ref):
        for method in ("pos", "chrom"):
            key = f"{method}:{rid}"
            if key not in classical:
                classical[key] = predict_hr(source_of[rid], BAND, method=method)
                cache_path.write_text(json.dumps(classical, indent=1))

    results: dict = {"folds": fold_subjects, "band_bpm": list(BAND), "set": list(args.set), "recipes": {}}
    if (out / "results.json").exists():  # runs of other recipes stay in the tables
        earlier = json.loads((out / "results.json").read_text())
        if earlier.get("folds") == fold_subjects and earlier.get("set", []) == list(args.set):
            results["recipes"] = earlier.get("recipes", {})
    chosen = recipes(args.budget)
    if args.recipes:
        unknown = [r for r in args.recipes if r not in chosen]
        if unknown:
            raise SystemExit(f"unknown recipe(s) {unknown}; known: {list(chosen)}")
        chosen = {k: v for k, v in chosen.items() if k in args.recipes}
    fold_ids = range(args.folds) if args.fold is None else [args.fold]
    for label, overrides in chosen.items():
        rec_out: dict = {"overrides": overrides, "folds": {}}
        for f in fold_ids:
            held = set(fold_subjects[f])
            train_videos = [v for v in all_videos if v.subject not in held]
            test_videos = [v for v in all_videos if v.subject in held]
            run_dir = out / "runs" / label.replace(" ", "-").replace(",", "").replace("(", "").replace(")", "") / f"fold{f}"
            done = run_dir / "done.json"
            if not done.exists():
                if run_dir.exists():
                    import shutil

                    shutil.rmtree(run_dir)
                config = load_config(None, [*data_sets, *overrides, f"train.seed={args.seed}"])
                t0 = time.perf_counter()
                res = train(config, data, run_dir, progress=False, log=print, videos=train_videos)
                done.write_text(json.dumps({"steps": res.steps, "epochs": res.epochs,
                                            "seconds": round(time.perf_counter() - t0, 1), "best_score": res.best_score}))
            info = json.loads(done.read_text())
            epochs = list(csv.DictReader(open(run_dir / "epochs.csv")))
            info["collapsed_epochs"] = sum(e.get("collapsed") == "True" for e in epochs)
            info["last_epoch_probe"] = {k: float(epochs[-1][k]) for k in ("probe_cross_r", "probe_noise_r", "probe_grey_r")}
            info["best_epoch"] = next((int(e["epoch"]) for e in reversed(epochs) if e["best"] == "True"), None)
            videos = []
            for ck in ("best.pt", "last.pt"):
                path = run_dir / ck
                if not path.exists():
                    continue
                cache = run_dir / f"hr-{ck}.json"
                hrs = json.loads(cache.read_text()) if cache.exists() else {}
                for v in test_videos:
                    if v.id not in hrs:
                        hrs[v.id] = predict_hr(source_of[v.id], BAND, checkpoint=str(path))
                cache.write_text(json.dumps(hrs, indent=1))
                info[f"probe {ck}"] = held_out_probe(path, test_videos)
                for v in test_videos:
                    row = next((r for r in videos if r["video"] == v.id), None)
                    if row is None:
                        row = {"video": v.id, "subject": v.subject, "fold": f, "ref": ref[v.id]}
                        videos.append(row)
                    row[ck] = hrs[v.id]
            train_ids = [r.id for r in records if r.subject not in held]
            constant = float(np.mean([np.median([ref[i] for i in train_ids if subject_of[i] == s])
                                      for s in sorted({subject_of[i] for i in train_ids})]))
            for row in videos:
                row["POS"] = classical[f"pos:{row['video']}"]
                row["CHROM"] = classical[f"chrom:{row['video']}"]
                row["toolbox CHROM"] = peer[row["video"]]["CHROM"]
                row["toolbox POS"] = peer[row["video"]]["POS"]
                row["constant"] = constant
            rec_out["folds"][str(f)] = {"info": info, "videos": videos}
        old = results["recipes"].get(label, {}).get("folds", {})
        rec_out["folds"] = {**old, **rec_out["folds"]}
        results["recipes"][label] = rec_out
        (out / "results.json").write_text(json.dumps(results, indent=1, default=float))
        print(report(results), flush=True)
    return results


# ----------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------


def _fmt(m: dict) -> str:
    r = "-" if math.isnan(m["pearson"]) else f"{m['pearson']:.2f}"
    return f"{m['mae']:.2f} | {m['rmse']:.2f} | {r} | {100 * m['within5']:.0f}%"


def report(results: dict) -> str:
    lines = [f"folds (held-out subjects): {results['folds']}", f"settings for every recipe: {results.get('set', [])}", ""]
    head = ("| method | videos | MAE | RMSE | r | within 5 | subjects | MAE | RMSE | r | within 5 | "
            "permutation p | probe noise r (held-out) | cross r | collapsed epochs | steps |")
    lines += [head, "|" + "---|" * 16]
    baselines_done = False
    for label, rec in results["recipes"].items():
        rows = [r for f in rec["folds"].values() for r in f["videos"]]
        if not rows:
            continue
        if not baselines_done:
            for key in ("constant", "toolbox CHROM", "toolbox POS", "CHROM", "POS"):
                pv = metrics([r[key] for r in rows], [r["ref"] for r in rows])
                ps = metrics(*per_subject(rows, key))
                name = {"CHROM": "pulsecl CHROM", "POS": "pulsecl POS", "constant": "constant (training mean)"}.get(key, key)
                perm = "-" if key == "constant" else f"{permutation_p(rows, key):.2f}"
                lines.append(f"| {name} | {pv['n']} | {_fmt(pv)} | {ps['n']} | {_fmt(ps)} | {perm} | - | - | - | - |")
            baselines_done = True
        for ck in ("best.pt", "last.pt"):
            have = [r for r in rows if ck in r]
            if not have:
                lines.append(f"| {label} ({ck}) | none: every epoch collapsed |" + " |" * 14)
                continue
            pv = metrics([r[ck] for r in have], [r["ref"] for r in have])
            ps = metrics(*per_subject(have, ck))
            infos = [f["info"] for f in rec["folds"].values()]
            probes = [i.get(f"probe {ck}") for i in infos if i.get(f"probe {ck}")]
            noise = max(p["probe_noise_r"] for p in probes)
            cross = max(p["probe_cross_r"] for p in probes)
            collapsed = "/".join(str(i["collapsed_epochs"]) for i in infos)
            steps = "/".join(str(i["steps"]) for i in infos)
            missing = "" if len(have) == len(rows) else f" ({len(rows) - len(have)} videos lack {ck})"
            perm = permutation_p(have, ck)
            lines.append(f"| {label} ({ck}){missing} | {pv['n']} | {_fmt(pv)} | {ps['n']} | {_fmt(ps)} | "
                         f"{perm:.2f} | {noise:.2f} | {cross:.2f} | {collapsed} | {steps} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder for runs, results.json and caches")
    p.add_argument("--data", default=DATA, help="the bias-eval dev folder (read only)")
    p.add_argument("--cache", default=None, help="preprocessing cache, outside --data (default OUT/cache)")
    p.add_argument("--budget", type=float, default=1800.0, help="training seconds per fold")
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--fold", type=int, default=None, help="run only this fold")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--recipes", nargs="*", help=f"recipes to run (default all of {list(recipes(0))})")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config override for every recipe (e.g. preprocess.size=16); repeatable")
    p.add_argument("--report-only", action="store_true", help="print the tables of an earlier run")
    args = p.parse_args()
    if args.report_only:
        print(report(json.loads((Path(args.out) / "results.json").read_text())))
        return
    run(args)


if __name__ == "__main__":
    main()
