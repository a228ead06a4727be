"""The speed suite: training clips/s, inference frames/s, peak memory against video length.

    python benchmarks/speed.py [--quick] [--threads 2] [--json FILE] [--skip-others]
                                [--parts training,allocator,inference,memory,backbones] [--no-paper]
                                [--backbones physnet,tscan,...]

1. Training throughput (clips/s) of the real trainer (``pulsecl.engine.trainer.train``
   on in-memory random clips; clips/s read from its log.csv, first step of each run left
   out as warm-up; configurations measured in interleaved rounds so that a change in the
   machine's load falls on all of them; peak RSS of each) for

   * the default recipe against the paper's (preset ``paper``: zero-padded negatives, one
     factor per batch, MVTL alone), at both sizes: the small default's (PhysNet 32
     channels, 32x32, T = 128, batch 8) and the paper's (64 channels, 64x64, T = 300,
     batch 4): ratios default / paper at the same size;
   * the small default's motion augmentation two ways (an augmented copy of every clip,
     the default: one more backbone pass; a copy of half the batch) and none (the copy
     at half size and the motion on the negatives were measured and dropped:
     docs/measurements.md, "Stop 20", "Stop 26");
     channels-last against contiguous memory layout;
   * negatives made four ways without augmentation: equal length (the default), each at
     its own length, cropped to one shorter length, zero-padded (the paper's code).

2. Inference frames/s of whole-video inference (300- or 128-frame windows, 50 % overlap,
   Hamming overlap-add) for both configurations, each done two ways: the anchor branch
   only (pulsecl) and with the negative branch as well (the reference implementation
   also ran it at test time), interleaved, best of 3: ratio.

3. Peak memory of inference against video length: each length in a fresh process, the
   frames memory-mapped from disk as the preprocessing cache gives them; peak RSS above
   the process's RSS after imports (VmHWM: ru_maxrss would carry the parent's peak over
   exec).

4. Every registered backbone side by side (``--parts backbones``), at the small default
   (32x32 crops, 128-frame clips, batch 8, the default's model options) and at the
   paper's size (64x64, 300 frames, batch 4, the paper preset's options; a backbone
   that does not take those options is built with its own defaults, and says so):
   parameters; training clips/s of the backbone alone (forward and backward on an
   anchor batch and a negative batch of ``round(T / 1.5)`` frames, the default proxy's
   cropped negatives; median over steps, backbones interleaved in rounds, all in this
   one process); inference frames/s (``pulsecl.engine.inference.infer_signal`` over a
   whole video with the ``optimise_for_inference`` copy, as predict runs it, best of
   the rounds); ratios to physnet.  The trainer's own clips/s (part 1) is lower: views,
   losses and the motion augmentation's extra pass come on top.

5. Malloc keeping freed memory (``--parts allocator``): the small default and the paper
   recipe, at both sizes, with ``train.keep_memory`` on and off, each run in a fresh
   process (glibc's ``mallopt`` cannot be undone in a process), interleaved, best run:
   ratio.  Part 1 runs with the key at its default (off).

6. The other speed scripts, run and printed as they are: preprocess_speed.py
   (preprocessing frames/s and peak memory against video length), classical_speed.py,
   predict_speed.py (end to end).  ``--skip-others`` leaves them out.

Prints figures and ratios; asserts nothing.  Other processes slow everything down: the
load average is printed with the figures, quote it with them.  Untrained weights run as
fast as trained ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procmem import reset_peak, status_mb

HERE = Path(__file__).resolve().parent


def _load() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def _videos(n_videos: int, frames: int, size: int, seed: int = 0):
    """In-memory random uint8 videos (content does not change the work)."""
    import numpy as np

    from pulsecl.engine.clips import Video

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_videos):
        data = rng.integers(60, 200, size=(frames, size, size, 3), dtype=np.uint8)
        out.append(Video(id=f"v{i}", subject=f"s{i}", frames=data, timestamps=np.arange(frames) / 30.0, fs=30.0))
    return out


def _train_rates(preset: str | None, overrides: list[str], steps: int) -> tuple[list[float], float, object]:
    """Per-step clips/s of ``steps`` trainer steps after one warm-up step, peak RSS (MB)."""
    import csv

    from pulsecl.config import load_config
    from pulsecl.engine.trainer import train

    config = load_config(preset, [*overrides, "train.epochs=1", f"train.steps_per_epoch={steps + 1}", "train.device=cpu"])
    videos = _videos(2, int(config.data.clip_frames * 1.6) + 16, config.preprocess.size)  # room for an equal-length context
    reset = reset_peak()
    with tempfile.TemporaryDirectory(prefix="pulsecl-speed-") as tmp:
        train(config, None, Path(tmp) / "run", progress=False, log=None, videos=videos)
        with open(Path(tmp) / "run" / "log.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
    peak = status_mb("VmHWM") if reset else float("nan")
    return [float(r["clips_per_s"]) for r in rows[1:]], peak, config


def train_throughput(runs: dict[str, tuple[str | None, list[str]]], steps: dict[str, int], rounds: int) -> dict[str, dict]:
    """Clips/s of each named configuration, measured in ``rounds`` interleaved rounds (so
    that a change in the machine's load falls on all of them), median over all steps."""
    import statistics

    rates: dict[str, list[float]] = {k: [] for k in runs}
    peaks: dict[str, float] = {}
    configs = {}
    for _ in range(rounds):
        for label, (preset, overrides) in runs.items():
            r, peak, configs[label] = _train_rates(preset, overrides, steps[label])
            rates[label] += r
            peaks[label] = max(peaks.get(label, 0.0), peak)
    out = {}
    for label, config in configs.items():
        rate = statistics.median(rates[label])
        out[label] = {
            "label": label,
            "clips_per_s": rate,
            "s_per_step": config.train.batch_size / rate,
            "steps_timed": len(rates[label]),
            "rates": rates[label],
            "batch": config.train.batch_size,
            "clip_frames": config.data.clip_frames,
            "size": config.preprocess.size,
            "channels": config.model.options.get("channels"),
            "peak_rss_mb": peaks[label],
        }
        print(
            f"  {label:44s} {rate:7.3f} clips/s  {out[label]['s_per_step']:7.2f} s/step  (batch {config.train.batch_size}, "
            f"T={config.data.clip_frames}, {config.preprocess.size}x{config.preprocess.size}, "
            f"{out[label]['channels']} ch; median of {len(rates[label])} steps; peak RSS {peaks[label]:.0f} MB)",
            flush=True,
        )
    return out


def _backbone(preset: str | None, overrides: list[str] = ()):
    import pulsecl
    from pulsecl.config import load_config

    config = load_config(preset, list(overrides))
    net = pulsecl.build("backbones", config.model.backbone, **config.model.options).eval()
    return net, config


def inference_speed(preset: str | None, seconds: float, rounds: int) -> dict[str, dict]:
    """Frames/s of whole-video inference on ``seconds`` of 30 fps video, done two ways
    (anchor only; anchor + negative branch), interleaved, best of ``rounds`` each."""
    import torch
    import torch.nn.functional as F

    from pulsecl.engine.inference import infer_signal

    net, config = _backbone(preset)
    clip = config.data.clip_frames
    (video,) = _videos(1, int(seconds * 30), config.preprocess.size, seed=1)

    def anchor(x):
        return net(x)

    def both(x):  # the reference implementation also ran a negative (r = 1.25) at test time
        t = x.shape[2]
        neg = F.interpolate(x, size=(int(t / 1.25), x.shape[3], x.shape[4]), mode="trilinear", align_corners=False)
        net(neg)
        return net(x)

    ways = {"anchor only (pulsecl)": anchor, "anchor + negative branch (reference)": both}
    best = {k: float("inf") for k in ways}
    with torch.no_grad():
        infer_signal(anchor, video.frames[: clip * 2], clip)  # warm-up
        for _ in range(rounds):
            for label, fn in ways.items():
                t0 = time.perf_counter()
                infer_signal(fn, video.frames, clip, overlap=0.5)
                best[label] = min(best[label], time.perf_counter() - t0)
    out = {}
    for label, dt in best.items():
        fps = video.n_frames / dt
        out[label] = {"frames_per_s": fps, "frames": video.n_frames, "clip_frames": clip}
        print(f"  {label:44s} {fps:9.1f} frames/s  ({fps / 30:.1f}x real time at 30 fps; {video.n_frames} frames, T={clip}; best of {rounds})", flush=True)
    return out


#: The largest resampling factor of the default proxy: its cropped negatives have
#: round(T / 1.5) frames.
NEGATIVE_FACTOR = 1.5


def _build_backbone(name: str, options: dict):
    """``(backbone, options used)``: with ``options``, else (a backbone that does not take
    them) with its own defaults."""
    import pulsecl
    from pulsecl.errors import ConfigError

    try:
        return pulsecl.build("backbones", name, **options), dict(options)
    except (ConfigError, TypeError):
        return pulsecl.build("backbones", name), {}


def backbone_speed(names: list[str], preset: str | None, steps: int, rounds: int, seconds: float) -> dict[str, dict]:
    """Parameters, training clips/s (backbone forward + backward on anchor and negative
    batches) and inference frames/s of each backbone at ``preset``'s size and options,
    the backbones interleaved in ``rounds`` (see the module docstring, part 4)."""
    import statistics

    import torch

    from pulsecl.config import load_config
    from pulsecl.engine.inference import infer_signal
    from pulsecl.models import optimise_for_inference

    config = load_config(preset)
    size, frames, batch = config.preprocess.size, config.data.clip_frames, config.train.batch_size
    neg_frames = int(round(frames / NEGATIVE_FACTOR))
    print(f"    {size}x{size} crops, T={frames} (negatives {neg_frames}), batch {batch}; inference on {seconds:g} s "
          f"of 30 fps video, {frames}-frame windows; {steps} steps a round", flush=True)
    g = torch.Generator().manual_seed(0)
    anchor = 0.3 + 0.4 * torch.rand(batch, 3, frames, size, size, generator=g)
    negative = 0.3 + 0.4 * torch.rand(batch, 3, neg_frames, size, size, generator=g)
    (video,) = _videos(1, int(seconds * 30), size, seed=1)
    nets, used = {}, {}
    for name in names:
        torch.manual_seed(0)
        nets[name], used[name] = _build_backbone(name, config.model.options)

    def train_step(net) -> float:
        t0 = time.perf_counter()
        net.zero_grad(set_to_none=True)
        (net(anchor).square().mean() + net(negative).square().mean()).backward()
        return time.perf_counter() - t0

    step_times = {n: [] for n in names}
    infer_times = {n: float("inf") for n in names}
    fast = {}
    for name, net in nets.items():  # warm-up: one step and a short inference each
        train_step(net.train())
        fast[name] = optimise_for_inference(net.eval())
        with torch.no_grad():
            infer_signal(fast[name], video.frames[: frames * 2], frames)
    for _ in range(rounds):
        for name, net in nets.items():
            net.train()
            step_times[name] += [train_step(net) for _ in range(steps)]
            fast[name] = optimise_for_inference(net.eval())  # the weights did not change; the copy is cheap
            t0 = time.perf_counter()
            with torch.no_grad():
                infer_signal(fast[name], video.frames, frames, overlap=0.5)
            infer_times[name] = min(infer_times[name], time.perf_counter() - t0)
    out = {}
    for name, net in nets.items():
        step = statistics.median(step_times[name])
        out[name] = {
            "options": used[name],
            "params": int(sum(p.numel() for p in net.parameters())),
            "train_clips_per_s": batch / step,
            "s_per_step": step,
            "steps_timed": len(step_times[name]),
            "infer_frames_per_s": video.n_frames / infer_times[name],
            "size": size, "clip_frames": frames, "negative_frames": neg_frames, "batch": batch,
        }
    ref = out.get("physnet")
    for name, r in out.items():
        ratio = ""
        if ref is not None and name != "physnet":
            ratio = (f"  = {r['train_clips_per_s'] / ref['train_clips_per_s']:.2f}x / "
                     f"{r['infer_frames_per_s'] / ref['infer_frames_per_s']:.2f}x physnet")
        opts = ", ".join(f"{k}={v}" for k, v in r["options"].items()) or "its defaults"
        print(f"  {name:16s} {r['params'] / 1e6:6.3f} M params  {r['train_clips_per_s']:7.2f} train clips/s  "
              f"{r['infer_frames_per_s']:8.1f} infer frames/s{ratio}  ({opts})", flush=True)
    return out


def memory_child(minutes: float, preset: str) -> None:
    """In a fresh process: inference over a memory-mapped video; print a JSON line."""
    import numpy as np
    import torch

    from pulsecl.engine.inference import infer_signal

    net, config = _backbone(None if preset == "default" else preset)
    size, clip = config.preprocess.size, config.data.clip_frames
    n = int(minutes * 60 * 30)
    with tempfile.TemporaryDirectory(prefix="pulsecl-speed-") as tmp:
        frames = np.lib.format.open_memmap(Path(tmp) / "frames.npy", mode="w+", dtype=np.uint8, shape=(n, size, size, 3))
        rng = np.random.default_rng(0)
        for s in range(0, n, 3000):  # fill in blocks, then drop the pages from this process
            frames[s : s + 3000] = rng.integers(60, 200, size=frames[s : s + 3000].shape, dtype=np.uint8)
        frames.flush()
        del frames
        frames = np.load(Path(tmp) / "frames.npy", mmap_mode="r")
        with torch.no_grad():
            infer_signal(lambda x: net(x), np.asarray(frames[: clip * 2]), clip)
        base = status_mb("VmRSS")
        reset_peak()
        t0 = time.perf_counter()
        with torch.no_grad():
            infer_signal(lambda x: net(x), frames, clip)
        dt = time.perf_counter() - t0
        peak = status_mb("VmHWM")  # ru_maxrss would carry the parent's peak across exec
    print(json.dumps({"minutes": minutes, "frames": n, "seconds": dt, "baseline_mb": base, "peak_mb": peak}))


def train_child(label: str, keep: str, steps: int) -> None:
    """In a fresh process (malloc's settings cannot be undone): one configuration's
    training clips/s with ``train.keep_memory`` on or off; print a JSON line."""
    import statistics

    preset, overrides, _ = _ALLOCATOR_RUNS[label]
    rates, peak, _ = _train_rates(preset, [*overrides, f"train.keep_memory={keep}"], steps)
    print(json.dumps({"clips_per_s": statistics.median(rates), "steps": len(rates), "peak_mb": peak}))


def _allocator(args, results: dict, steps: int, paper_steps: int, rounds: int) -> None:
    print("\n## malloc keeping freed memory (train.keep_memory), each run in a fresh process, interleaved")
    labels = [k for k, (_, _, paper_size) in _ALLOCATOR_RUNS.items() if args.paper or not paper_size]
    rates: dict = {(k, v): [] for k in labels for v in ("true", "false")}
    peaks: dict = {}
    for _ in range(rounds):
        for label in labels:
            n = paper_steps if _ALLOCATOR_RUNS[label][2] else steps
            for keep in ("true", "false"):
                proc = subprocess.run(
                    [sys.executable, __file__, "--train-child", label, keep, str(n), "--threads", str(args.threads)],
                    check=True, capture_output=True, text=True,
                )
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                rates[(label, keep)].append(r["clips_per_s"])
                peaks[(label, keep)] = max(peaks.get((label, keep), 0.0), r["peak_mb"])
    out = {}
    for label in labels:
        on, off = (max(rates[(label, k)]) for k in ("true", "false"))
        out[label] = {"keep_memory": on, "adaptive": off, "ratio": on / off,
                      "peak_mb_keep": peaks[(label, "true")], "peak_mb_adaptive": peaks[(label, "false")]}
        print(f"  {label:40s} keep_memory {on:6.2f} clips/s, malloc's defaults {off:6.2f}: {on / off:.2f}x  "
              f"(peak RSS {peaks[(label, 'true')]:.0f} / {peaks[(label, 'false')]:.0f} MB; best of {rounds} runs)", flush=True)
    results["allocator"] = out


def memory_curve(minutes: list[float], preset: str, threads: int) -> list[dict]:
    out = []
    for m in minutes:
        proc = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(m), preset, "--threads", str(threads)],
            check=True, capture_output=True, text=True,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        out.append(r)
        print(
            f"  {preset} model, {m:g} min ({r['frames']} frames): {r['frames'] / r['seconds']:.0f} frames/s; "
            f"peak RSS {r['peak_mb']:.0f} MB, {r['peak_mb'] - r['baseline_mb']:+.0f} MB over the {r['baseline_mb']:.0f} MB after imports",
            flush=True,
        )
    if len(out) >= 2:
        a, b = out[0], out[-1]
        print(f"  peak RSS {b['minutes']:g} min / {a['minutes']:g} min = {b['peak_mb'] / a['peak_mb']:.2f} "
              f"(video {b['frames'] / a['frames']:.0f}x longer)", flush=True)
    return out


def run_other(script: str, args: list[str]) -> dict:
    path = HERE / script
    if not path.is_file():
        print(f"  ({script} is not in this checkout)")
        return {"script": script, "missing": True}
    print(f"\n## {script} {' '.join(args)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True)
    print(proc.stdout.rstrip())
    if proc.returncode != 0:
        print(f"  {script} failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''}")
    return {"script": script, "args": args, "rc": proc.returncode, "seconds": time.perf_counter() - t0, "stdout": proc.stdout}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps and shorter videos (~5 min instead of ~15)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--steps", type=int, default=None, help="timed training steps of the small default per round (default 4, 2 rounds; --quick 3, 1 round)")
    ap.add_argument("--paper-steps", type=int, default=None, help="timed training steps of the paper config per round (default 2; --quick 1)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    ap.add_argument("--skip-others", action="store_true", help="do not run the other speed scripts")
    ap.add_argument("--parts", default="training,allocator,inference,memory,backbones", help="comma-separated: training, allocator, inference, memory, backbones (default all)")
    ap.add_argument("--backbones", default=None, help="comma-separated backbones for the backbones part (default: every registered one)")
    ap.add_argument("--no-paper", dest="paper", action="store_false", help="leave out the paper configuration's training (~1 min a step)")
    ap.add_argument("--train-child", nargs=3, metavar=("LABEL", "KEEP", "STEPS"), help=argparse.SUPPRESS)
    ap.add_argument("--memory-child", nargs=2, metavar=("MINUTES", "PRESET"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(max(1, args.threads))
    if args.train_child:
        train_child(args.train_child[0], args.train_child[1], int(args.train_child[2]))
        return 0
    if args.memory_child:
        memory_child(float(args.memory_child[0]), args.memory_child[1])
        return 0

    steps = args.steps or (3 if args.quick else 4)
    paper_steps = args.paper_steps or (1 if args.quick else 2)
    rounds = 1 if args.quick else 2
    results: dict = {"threads": args.threads, "cpus": os.cpu_count(), "load_before": _load(), "torch": torch.__version__}
    print(f"pulsecl speed suite: {args.threads} torch threads on {os.cpu_count()} CPUs; load average {_load()}")

    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if "training" in parts:
        _training(args, results, steps, paper_steps, rounds)
    if "allocator" in parts:
        _allocator(args, results, steps, paper_steps, rounds)
    if "inference" in parts:
        _inference(args, results)
    if "backbones" in parts:
        _backbones(args, results)
    if "memory" in parts:
        print("\n## inference peak memory against video length (frames memory-mapped, fresh process each)")
        minutes = [0.5, 2.0] if args.quick else [1.0, 5.0, 20.0]
        results["inference_memory"] = memory_curve(minutes, "default", args.threads)
    results["load_after"] = _load()
    print(f"\nload average after: {results['load_after']}")
    _others(args, results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float))
        print(f"wrote {args.json}")
    return 0


#: The paper's recipe (preset ``paper``) at the small default's size.
PAPER_AT_SMALL = [
    "model.options={channels = 32, norm = 'zscore', dropout = 0.0, time_padding = 'zeros'}", "preprocess.size=32",
    "data.clip_frames=128", "train.batch_size=8", "views.windows_options={n_views = 4}",
]
#: The default recipe at the paper's size (preset ``paper``'s model, crops, clips, batch).
DEFAULT_AT_PAPER = [
    "model.options={channels = 64, norm = 'chromatic'}", "preprocess.size=64", "data.clip_frames=300",
    "train.batch_size=4",
]
#: The configurations timed with and without train.keep_memory (part "allocator"):
#: label -> (preset, overrides, at the paper's size).
_ALLOCATOR_RUNS = {
    "small default": (None, [], False),
    "paper recipe at the small size": ("paper", PAPER_AT_SMALL, False),
    "default recipe at the paper's size": (None, DEFAULT_AT_PAPER, True),
    "paper (preset)": ("paper", [], True),
}
_NO_AUGMENT = ["views.augment=''", "loss.weights={mvtl = 1.0, bandwidth = 1.0, sparsity = 1.0}"]
_HALF_COPY = ["views.augment_fraction=0.5"]


def _training(args, results: dict, steps: int, paper_steps: int, rounds: int) -> None:
    print("\n## training throughput (the trainer's own clips/s; configurations interleaved)")
    default, paper_small = "small default", "paper recipe at the small size"
    big_default, paper = "default recipe at the paper's size", "paper (preset)"
    still = "small default, no motion augmentation"
    half = "small default, augmented copy of half the batch"
    contiguous = "small default, contiguous memory layout"
    own, cropped, padded = ("small default, negatives at own length", "small default, cropped negatives",
                            "small default, zero-padded negatives")
    neg = "views.proxy_options={{{}}}"
    runs = {
        default: (None, []),
        paper_small: ("paper", PAPER_AT_SMALL),
        half: (None, _HALF_COPY),
        still: (None, _NO_AUGMENT),
        contiguous: (None, ["train.channels_last=false"]),
        own: (None, [neg.format("equal_length = false"), *_NO_AUGMENT]),
        cropped: (None, [neg.format("crop_negatives = true"), *_NO_AUGMENT]),
        padded: (None, [neg.format("pad_negatives = true"), *_NO_AUGMENT]),
        big_default: (None, DEFAULT_AT_PAPER),
        paper: ("paper", []),
    }
    equal_still = "small default, equal-length negatives, no augmentation"
    runs[equal_still] = (None, _NO_AUGMENT)
    if not args.paper:
        runs.pop(paper)
        runs.pop(big_default)
    small = {k: steps for k in runs}
    small[paper] = small[big_default] = paper_steps
    train = train_throughput(runs, small, rounds)
    results["training"] = train
    rate = {k: v["clips_per_s"] for k, v in train.items()}
    ratios = {
        "default_over_paper_recipe_small": rate[default] / rate[paper_small],
        "default_over_half_copy": rate[default] / rate[half],
        "default_over_no_augmentation": rate[default] / rate[still],
        "channels_last_over_contiguous": rate[default] / rate[contiguous],
        "equal_over_own_length": rate[equal_still] / rate[own],
        "equal_over_cropped": rate[equal_still] / rate[cropped],
        "equal_over_padded": rate[equal_still] / rate[padded],
    }
    print(f"  ratio small default / paper recipe, both at the small size: {ratios['default_over_paper_recipe_small']:.2f}x")
    if paper in rate:
        ratios["default_over_paper_at_paper_size"] = rate[big_default] / rate[paper]
        ratios["small_default_over_paper"] = rate[default] / rate[paper]
        print(f"  ratio default recipe / paper, both at the paper's size: {ratios['default_over_paper_at_paper_size']:.2f}x")
        print(f"  ratio small default / paper (preset): {ratios['small_default_over_paper']:.1f}x the clips per second")
    print(f"  ratio default (augmented copy of every clip) / copy of half the batch: "
          f"1 / {1 / ratios['default_over_half_copy']:.2f}")
    print(f"  ratio default / no motion augmentation: {ratios['default_over_no_augmentation']:.2f}x")
    print(f"  ratio channels-last / contiguous memory layout: {ratios['channels_last_over_contiguous']:.2f}x")
    print(f"  ratio equal-length / own-length / cropped / zero-padded negatives (no augmentation): 1 / "
          f"{1 / ratios['equal_over_own_length']:.2f} / {1 / ratios['equal_over_cropped']:.2f} / {1 / ratios['equal_over_padded']:.2f}")
    results["training_ratios"] = ratios


def _inference(args, results: dict) -> None:
    print("\n## inference (whole video, 50 % overlap, Hamming overlap-add; two ways interleaved)")
    seconds = 30.0 if args.quick else 60.0
    inf = {}
    for label, preset in (("default", None), ("paper", "paper")):
        print(f"  {label}:")
        ways = inference_speed(preset, seconds, rounds=2 if args.quick else 3)
        (a, b) = ways.values()
        inf[label] = {"ways": ways, "ratio": a["frames_per_s"] / b["frames_per_s"]}
        print(f"  ratio anchor only / with negative branch ({label}): {inf[label]['ratio']:.2f}x")
    results["inference"] = inf
    fa = next(iter(inf["default"]["ways"].values()))["frames_per_s"]
    fb = next(iter(inf["paper"]["ways"].values()))["frames_per_s"]
    print(f"  ratio default / paper (anchor only): {fa / fb:.1f}x the frames per second")


def _backbones(args, results: dict) -> None:
    import pulsecl

    names = [n.strip() for n in args.backbones.split(",")] if args.backbones else pulsecl.components("backbones")
    names = sorted(names, key=lambda n: (n != "physnet", n))  # physnet first: the ratios' reference
    print(f"\n## backbones side by side (backbone alone; interleaved rounds; load average {_load()})")
    results["backbones"] = {}
    sizes = [("small default", None, 3 if args.quick else 4, 20.0 if args.quick else 60.0)]
    if args.paper:
        sizes.append(("paper size", "paper", 1 if args.quick else 2, 20.0 if args.quick else 60.0))
    for label, preset, steps, seconds in sizes:
        print(f"  {label}:")
        results["backbones"][label] = backbone_speed(names, preset, steps, rounds=1 if args.quick else 2, seconds=seconds)


def _others(args, results: dict) -> None:
    if args.skip_others:
        return
    pre = ["--minutes", "0.5", "2"] if args.quick else ["--minutes", "1", "10"]
    cls = ["--minutes", "10"] if args.quick else []
    pred = ["--seconds", "20" if args.quick else "30", "--threads", str(args.threads)]
    results["others"] = [
        run_other("preprocess_speed.py", pre),
        run_other("classical_speed.py", cls),
        run_other("predict_speed.py", pred),
    ]


if __name__ == "__main__":
    sys.exit(main())
