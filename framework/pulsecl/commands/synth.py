"""``pulsecl synth OUT --n N --seed S``: write a synthetic dataset with known pulse.

Videos and ground truth in the UBFC-rPPG DATASET_2 layout (so ``pulsecl preprocess
OUT`` and training read it like the real dataset), and each clip's parameters in
``params.json``.  Every nuisance of :class:`pulsecl.synthetic.nuisances.Nuisances` has
its own flag.
"""

from __future__ import annotations

import argparse
import time


def register(sub: argparse._SubParsersAction) -> None:
    from dataclasses import fields

    from pulsecl.synthetic.nuisances import Nuisances

    p = sub.add_parser(
        "synth",
        help="write a synthetic rPPG dataset (UBFC-rPPG layout) with known ground truth",
        description="Render synthetic face videos with a known pulse into OUT/subjectN/"
        "{vid.avi, ground_truth.txt, params.json}. Deterministic for a given --seed.",
    )
    p.add_argument("out", metavar="OUT", help="folder to write the dataset into")
    p.add_argument("--n", type=int, default=4, help="number of subjects (default 4)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed, same clips (default 0)")
    p.add_argument("--duration", type=float, default=10.0, metavar="SECONDS", help="clip length (default 10)")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate in Hz (default 30)")
    p.add_argument("--width", type=int, default=640, help="frame width in pixels (default 640)")
    p.add_argument("--height", type=int, default=480, help="frame height in pixels (default 480)")
    p.add_argument(
        "--hr-range", type=float, nargs=2, default=[40.0, 180.0], metavar=("LOW", "HIGH"),
        help="range of the subjects' mean heart rates, bpm (default 40 180)",
    )
    p.add_argument("--skin-tone", type=float, default=None, help="0 (light) to 1 (dark); default: drawn per subject")
    p.add_argument("--pulse-amplitude", type=float, default=0.01, help="pulse std in green, fraction of the skin colour (default 0.01)")
    p.add_argument("--preset", default=None, metavar="NAME",
                   help="named settings: realistic (15-fps skin patches with real video's pulse SNR, glitches and "
                        "compression; calibrated on the bias-eval dev patches); flags given explicitly win")
    p.add_argument("--patch", default=None, choices=["forehead", "leftcheek", "rightcheek"],
                   help="write only this skin patch of the face, upscaled to 200x200 (as the bias-eval videos)")
    p.add_argument("--overwrite", action="store_true", help="replace subject folders that already exist")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("nuisances (each its own knob; 0 turns it off)")
    for f in fields(Nuisances):
        g.add_argument(
            "--" + f.name.replace("_", "-"),
            type=int if f.type in (int, "int") else float,
            default=f.default,
            help=f"{f.metadata.get('help', '')} (default {f.default})",
        )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from pulsecl.synthetic.generator import generate
    from pulsecl.synthetic.nuisances import Nuisances

    nuisances = {f.name: getattr(args, f.name) for f in fields(Nuisances)}
    start = time.perf_counter()
    folders = generate(
        args.out,
        n=args.n,
        seed=args.seed,
        duration=args.duration,
        fps=args.fps,
        width=args.width,
        height=args.height,
        hr_range=tuple(args.hr_range),
        skin_tone=args.skin_tone,
        pulse_amplitude=args.pulse_amplitude,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        preset=args.preset,
        **({"patch": args.patch} if args.patch else {}),
        **nuisances,
    )
    elapsed = time.perf_counter() - start
    import json

    first = json.loads((folders[0] / "params.json").read_text(encoding="utf-8"))
    what = (f"{first['patch']['region']} patches {first['patch']['size']}x{first['patch']['size']}" if first.get("patch")
            else f"{first['width']}x{first['height']}")
    print(
        f"wrote {len(folders)} subject(s) to {args.out} (UBFC-rPPG DATASET_2 layout), "
        f"{args.duration:g} s at {first['fps']:g} fps, {what}, seed {args.seed}"
        f"{', preset ' + args.preset if args.preset else ''}, in {elapsed:.1f} s"
    )
    for folder in folders:
        params = json.loads((folder / "params.json").read_text(encoding="utf-8"))
        print(
            f"  {folder.name}: mean HR {params['hr_mean_bpm']:.1f} bpm, skin tone "
            f"{params['appearance']['skin_tone']:.2f}"
        )
    used = first["nuisances"]
    on = [k for k, v in used.items() if v != Nuisances.__dataclass_fields__[k].default]
    if on:
        print("  nuisances set: " + ", ".join(f"{k}={used[k]:g}" for k in on))
    return 0
