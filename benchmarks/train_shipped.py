"""Train a model pulsecl ships (``pulsecl models``), evaluate it, and install it.

The recipe is the default (``pulsecl config show default``) with the ``--set`` overrides,
self-supervised: no label is read in training (``--set data.pseudo_labels='pos'`` adds POS
pseudo-labels; the model once shipped so, ``pulsecl-real-small``, was removed: it answered
about 70 bpm for every real face).  The training videos:

* synthetic faces rendered here (``pulsecl.synthetic.generate``): ``--n-synthetic``
  30-s clips at 320x240, half with the default nuisances plus periodic head motion and
  half with the ``realistic`` preset (skin patches at real-camera noise levels, SNR about
  -5.6 dB, read with the whole frame as the skin region), heart
  rates 50-150 bpm, their labels deleted before training;
* the real dev patches (``../shared/realdata/bias-eval-dev``, 31 skin-patch videos of 13
  subjects, MIT licence), whole frame as the skin region, labels never read.

Then, on held-out synthetic clips (still, periodic motion, realistic; seeds the training
set does not use), the model's MAE, RMSE, Pearson r and share within 5 bpm beside POS and
CHROM, and the collapse probe on real clips (|r| of its pulse with its pulse on noise).
Real-data figures of the installed model: ``python benchmarks/real_dev.py --out DIR
--model NAME`` (in-sample: it saw those videos, without labels) and, held out,
``python benchmarks/proof_real.py``.

Usage::

    python benchmarks/train_shipped.py --out /tmp/ship --budget 900
    python benchmarks/train_shipped.py --out /tmp/ship --budget 900 --install pulsecl-small

``--from CHECKPOINT`` skips the training and evaluates (and with ``--install``
installs) that checkpoint instead.  ``--install NAME`` copies the chosen checkpoint (``best.pt``, else ``last.pt``), without
its optimiser state, to ``framework/pulsecl/pretrained/NAME.pt``; the model card
``NAME.md`` beside it is written by hand from the figures printed here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from proof_real import held_out_probe  # noqa: E402


def real_root() -> Path:
    return Path(os.environ.get("PULSECL_REAL_DEV") or ROOT.parent / "shared" / "realdata" / "bias-eval-dev")


def make_synthetic(out: Path, n: int, n_test: int) -> dict[str, Path]:
    from pulsecl.synthetic import generate

    common = dict(duration=30.0, width=320, height=240, hr_range=(50, 150))
    sets = {
        "train-motion": dict(n=n - n // 2, seed=5000, periodic_motion=0.04, translation=0.02),
        "train-realistic": dict(n=n // 2, seed=6000, preset="realistic"),
        "still": dict(n=n_test, seed=2000),
        "motion": dict(n=n_test, seed=3000, periodic_motion=0.04, translation=0.02),
        "realistic": dict(n=n_test, seed=4000, preset="realistic"),
    }
    paths = {}
    for name, kw in sets.items():
        path = out / "data" / name
        if not path.exists():
            generate(path, **common, **kw)
        if name.startswith("train"):
            for label in [*path.glob("*/ground_truth.txt"), *path.glob("*/params.json")]:
                label.unlink()  # self-supervised: the training set keeps no label
        paths[name] = path
    return paths


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder for the data, the run and results.json")
    p.add_argument("--budget", type=float, default=900.0, help="training seconds")
    p.add_argument("--n-synthetic", type=int, default=16, help="synthetic training videos")
    p.add_argument("--n-test", type=int, default=6, help="synthetic test videos per set")
    p.add_argument("--no-real", action="store_true", help="train on the synthetic videos only")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config overrides")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--install", metavar="NAME", help="install the checkpoint as shipped model NAME")
    p.add_argument("--from", dest="source", metavar="CHECKPOINT",
                   help="evaluate (and install) this checkpoint instead of training one")
    args = p.parse_args()

    import torch

    from pulsecl.config import load_config
    from pulsecl.engine.checkpoint import load_checkpoint, save_checkpoint
    from pulsecl.engine.clips import load_videos
    from pulsecl.engine.evaluate import classical_config, classical_pulse, evaluate_videos, model_pulse
    from pulsecl.engine.trainer import train
    from pulsecl.models import PRETRAINED_DIR, load_model

    torch.set_num_threads(2)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = make_synthetic(out, args.n_synthetic, args.n_test)
    cache = f"data.cache='{out / 'cache'}'"
    synth_cfg = load_config(None, [cache, "data.exclude=[]"])
    # the realistic preset renders skin patches, not faces: the whole frame is the skin
    patch_cfg = load_config(None, [cache, "data.exclude=[]", "preprocess.roi='full'"])
    videos = load_videos(synth_cfg, paths["train-motion"], labels=False)
    videos += load_videos(patch_cfg, paths["train-realistic"], labels=False)
    real = []
    if not args.no_real:
        real_cfg = load_config(None, [cache, "data.exclude=[]", "data.dataset='bias-eval'", "preprocess.roi='full'"])
        real = load_videos(real_cfg, real_root(), labels=False)
    print(f"training on {len(videos)} synthetic and {len(real)} real videos, {args.budget:g} s", flush=True)

    run_dir = out / "run"
    if args.source:
        from pulsecl.engine.checkpoint import checkpoint_file

        run_dir = Path(args.source) if Path(args.source).is_dir() else Path(args.source).parent
        chosen = checkpoint_file(args.source)
    config = load_config(None, [cache, "data.exclude=[]", f"train.time_budget_s={args.budget}", "train.epochs=100000",
                                "train.steps_per_epoch=10", f"train.seed={args.seed}", *args.set])
    if not args.source and not (run_dir / "done.json").exists():
        shutil.rmtree(run_dir, ignore_errors=True)
        t0 = time.perf_counter()
        res = train(config, paths["train-motion"], run_dir, progress=False, log=print, videos=videos + real)
        (run_dir / "done.json").write_text(json.dumps({"steps": res.steps, "seconds": round(time.perf_counter() - t0, 1)}))
    if args.source:
        done = {"from": str(chosen)}
    else:
        done = json.loads((run_dir / "done.json").read_text())
        chosen = run_dir / ("best.pt" if (run_dir / "best.pt").exists() else "last.pt")

    model = load_model(chosen)
    results = {"train": {**done, "checkpoint": chosen.name, "synthetic_videos": len(videos), "real_videos": len(real)}}
    print("\n| set | method | MAE | RMSE | r | within 5 |\n|---|---|---|---|---|---|")
    for name in ("still", "motion", "realistic"):
        test_cfg = patch_cfg if name == "realistic" else synth_cfg
        test = load_videos(test_cfg, paths[name], labels=True)
        trace_cfg = classical_config(test_cfg)  # a classical method reads its own crops, as predict does
        traces = load_videos(trace_cfg, paths[name], labels=True)
        for label, fn, vids, cfg in (("model", lambda v: model_pulse(model, v, test_cfg), test, test_cfg),
                                     ("POS", lambda v: classical_pulse("pos", v, config=trace_cfg), traces, trace_cfg),
                                     ("CHROM", lambda v: classical_pulse("chrom", v, config=trace_cfg), traces, trace_cfg)):
            m = evaluate_videos(vids, cfg, label, fn).metrics
            results.setdefault(name, {})[label] = m
            print(f"| {name} | {label} | {m['mae']:.2f} | {m['rmse']:.2f} | {m['pearson']:.2f} | "
                  f"{100 * m['within_5bpm']:.0f}% |", flush=True)
    if real:
        results["probe on real clips"] = held_out_probe(chosen, real)
        print("collapse probe on real clips:", results["probe on real clips"])
    (out / "results.json").write_text(json.dumps(results, indent=1, default=float))

    if args.install:
        data = load_checkpoint(chosen)
        data["train_state"] = None  # no optimiser or RNG state: a few hundred kB, not MB
        target = PRETRAINED_DIR / f"{args.install}.pt"
        save_checkpoint(target, {k: v for k, v in data.items() if k not in ("format", "format_version", "pulsecl_version")})
        print(f"installed {target} ({target.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
