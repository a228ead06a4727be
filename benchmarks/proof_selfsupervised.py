"""Proof that self-supervised training learns the pulse: a benchmark, not a test.

1. Renders an *unlabelled* synthetic training set (ground-truth files deleted, so labels
   cannot be read) and two labelled held-out sets of other subjects: still clips and
   clips with periodic head motion inside the heart-rate band.
2. Trains pulsecl's small default configuration self-supervised for a fixed time budget
   on this machine's CPU (with and without its motion augmentation), and the paper's
   exact recipe (zero-padded negatives, one factor per batch, no anti-aliasing, per-clip
   z-scoring, MVTL only) at the same budget and model size.  The training clips are
   still: what the model knows about motion comes from the augmentation alone.
3. Reports held-out HR MAE, RMSE and Pearson r for both test sets, beside POS and CHROM on
   the same clips.

Usage::

    python benchmarks/proof_selfsupervised.py --out /tmp/proof --budget 600
    python benchmarks/proof_selfsupervised.py --out /tmp/proof --recipes "pulsecl default" "paper recipe"

Targets (issue 6): MAE <= 2 bpm on still clips within 10 minutes of CPU training; lower
than POS on the motion clips.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import time
from pathlib import Path

import numpy as np


def make_data(out: Path, n_train: int, n_test: int, duration: float, size: tuple[int, int]) -> dict[str, Path]:
    from pulsecl.synthetic import generate

    w, h = size
    sets = {
        "train": dict(n=n_train, seed=1000),
        "still": dict(n=n_test, seed=2000),
        "motion": dict(n=n_test, seed=3000, periodic_motion=0.04, translation=0.02),
    }
    paths = {}
    for name, kw in sets.items():
        path = out / "data" / name
        if not path.exists():
            generate(path, duration=duration, width=w, height=h, hr_range=(50, 150), **kw)
        paths[name] = path
    # The training set loses its labels: self-supervised training cannot read them.
    for gt in paths["train"].glob("*/ground_truth.txt"):
        gt.unlink()
    for params in paths["train"].glob("*/params.json"):
        params.unlink()
    return paths


def recipes(budget: float) -> dict[str, list[str]]:
    common = [f"train.time_budget_s={budget}", "train.epochs=1000", "train.steps_per_epoch=10", "data.exclude=[]"]
    weights = "mvtl = 1.0, bandwidth = 1.0, sparsity = 1.0"
    on_negatives = ["views.augment_on='negatives'", f"loss.weights={{{weights}}}"]
    copy = ["views.augment_on='copy'", f"loss.weights={{{weights}, invariance = 1.0}}"]
    return {
        "pulsecl default": [*common],
        "default, motion on the negatives": [*common, "views.proxy_options={equal_length = true}", *on_negatives],
        "default, motion as an augmented copy": [*common, "views.proxy_options={equal_length = true}", *copy],
        "default, copy on half the batch": [*common, "views.augment_fraction=0.5", "views.augment_scale=1.0"],
        "default, half-size copy of every clip": [*common, "views.augment_fraction=1.0", "views.augment_scale=0.5"],
        "default, half-size copy of half the batch": [*common, "views.augment_fraction=0.5", "views.augment_scale=0.5"],
        "default, motion on the anchor": [*common, "views.augment_on='anchor'", f"loss.weights={{{weights}}}"],
        "default, no motion augmentation": [*common, "views.augment=''", f"loss.weights={{{weights}}}"],
        "old default (cropped negatives, copy)": [*common, "views.proxy_options={crop_negatives = true}", *copy],
        "default, own-length negatives": [*common, "views.proxy_options={equal_length = false}"],
        "default + negative bank": [*common, "bank.size=512"],
        "default + cross-video negatives": [
            *common, "data.sampling='subjects'", "loss.options={mvtl = {cross_weight = 1.0}}",
        ],
        "pseudo-labels (POS)": [*common, "data.pseudo_labels='pos'",
                                f"loss.weights={{{weights}, invariance = 1.0, neg_pearson = 5.0}}"],
        "default, temporal input norm": [*common, "model.options.norm='temporal'"],
        "default, zero time padding": [*common, "model.options={channels = 32, norm = 'chromatic', time_padding = 'zeros'}"],
        "paper recipe": [
            *common,
            "model.options={channels = 32, norm = 'zscore', time_padding = 'zeros'}",
            "views.proxy_options={per_sample = false, pad_negatives = true, antialias = false}",
            "views.augment=''",
            "loss.weights={mvtl = 1.0}",
            "loss.options={mvtl = {pad_factor = 1.0}}",
        ],
    }


def run(args) -> dict:
    import torch

    from pulsecl.config import load_config
    from pulsecl.engine.clips import load_videos
    from pulsecl.engine.evaluate import classical_config, classical_pulse, evaluate_videos, model_pulse
    from pulsecl.engine.trainer import train
    from pulsecl.models import load_model

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    paths = make_data(out, args.n_train, args.n_test, args.duration, (args.width, args.height))
    results: dict[str, dict] = {}
    test_cfg = load_config(None, ["data.exclude=[]"])
    test_sets = {name: load_videos(test_cfg, paths[name], labels=True, progress=False) for name in ("still", "motion")}

    trace_cfg = classical_config(test_cfg)  # a classical method reads its own crops, as predict does
    trace_sets = {name: load_videos(trace_cfg, paths[name], labels=True, progress=False) for name in ("still", "motion")}
    for method in ("pos", "chrom"):
        for name, videos in trace_sets.items():
            r = evaluate_videos(videos, trace_cfg, method, lambda v, m=method: classical_pulse(m, v, config=trace_cfg))
            results.setdefault(method.upper(), {})[name] = r.metrics

    chosen = recipes(args.budget)
    if args.recipes:
        chosen = {k: v for k, v in chosen.items() if k in args.recipes}
    for label, overrides in chosen.items():
        run_dir = out / "runs" / label.replace(" ", "-")
        if run_dir.exists():
            shutil.rmtree(run_dir)
        config = load_config(None, overrides)
        t0 = time.perf_counter()
        res = train(config, paths["train"], run_dir, progress=False, log=print)
        elapsed = time.perf_counter() - t0
        # best.pt (lowest IPR + invariance on the unlabelled training videos, never a
        # collapsed epoch) is what a user gets; last.pt shows whether that choice lost
        # anything.  With every epoch collapsed there is no best.pt: last.pt stands in.
        for ck_name, suffix in (("best.pt", ""), ("last.pt", " (last.pt)")):
            if not (run_dir / ck_name).exists():
                ck_name = "last.pt"
                results.setdefault(label, {})["no best.pt"] = True
            model = load_model(run_dir / ck_name)
            for name, videos in test_sets.items():
                r = evaluate_videos(videos, config, label, lambda v: model_pulse(model, v, config))
                results.setdefault(label, {})[name + suffix] = r.metrics
        epochs = list(csv.DictReader(open(run_dir / "epochs.csv")))
        results[label]["train"] = {
            "steps": res.steps, "seconds": round(elapsed, 1), "best_score": res.best_score,
            "collapsed_epochs": sum(e["collapsed"] == "True" for e in epochs), "epochs": len(epochs),
            "last_probe_noise_r": float(epochs[-1]["probe_noise_r"]),
        }
    return results


def table(results: dict) -> str:
    lines = [
        "| method | still MAE | still RMSE | still r | motion MAE | motion RMSE | motion r | last.pt: still / motion MAE | training | collapsed epochs |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method, res in results.items():
        s, m = res["still"], res["motion"]
        tr = res.get("train")
        train_txt = f"{tr['steps']} steps, {tr['seconds']:.0f} s" if tr else "-"
        last = f"{res['still (last.pt)']['mae']:.2f} / {res['motion (last.pt)']['mae']:.2f}" if tr else "-"
        collapsed = f"{tr['collapsed_epochs']} of {tr['epochs']}" if tr else "-"
        name = method + (" (no best.pt: last.pt)" if res.get("no best.pt") else "")
        lines.append(
            f"| {name} | {s['mae']:.2f} | {s['rmse']:.2f} | {s['pearson']:.3f} | "
            f"{m['mae']:.2f} | {m['rmse']:.2f} | {m['pearson']:.3f} | {last} | {train_txt} | {collapsed} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder for data, runs and results.json")
    p.add_argument("--budget", type=float, default=600.0, help="training seconds per recipe")
    p.add_argument("--n-train", type=int, default=8)
    p.add_argument("--n-test", type=int, default=6)
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--recipes", nargs="*", help=f"recipes to train (default: all of {list(recipes(0))})")
    args = p.parse_args()
    results = run(args)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(json.dumps(results, indent=2, default=float))
    print(table(results))


if __name__ == "__main__":
    main()
