"""``pulsecl evaluate CKPT --data PATH [--out DIR]``: metrics of a trained model."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="evaluate a checkpoint on a labelled dataset",
        description="Whole-video inference (overlapping windows, Hamming overlap-add), heart "
        "rate per video and per window, metrics, and a per-video CSV.",
    )
    p.add_argument("checkpoint", help="checkpoint file or run folder (best.pt is used)")
    p.add_argument("--data", required=True, help="dataset root or folder of labelled videos")
    p.add_argument("--out", help="folder for videos.csv, windows.csv, summary.json")
    p.add_argument("--split", default="all", choices=["all", "train", "val", "test"],
                   help="evaluate only this subject-wise split of --data (train, val, test: as in training; default all)")
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="SECTION.KEY=VALUE",
                   help="override a key of the checkpoint's config (e.g. signal.preset=gideon2021)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pulsecl.engine.evaluate import evaluate_checkpoint, print_metrics, write_results
    from pulsecl.io import check_output, output_flags

    if args.out:
        check_output(args.out, "--out", folder=True)  # before the videos are read
    result = evaluate_checkpoint(args.checkpoint, args.data, overrides=args.overrides, split=args.split,
                                 progress=not args.no_progress)
    print_metrics(result)
    if args.out:
        with output_flags({args.out: "--out"}):
            paths = write_results(result, args.out)
        print(f"wrote {paths['videos']}, {paths['windows']}, {paths['summary']}")
    return 0
