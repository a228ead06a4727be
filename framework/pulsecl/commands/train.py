"""``pulsecl train [CONFIG] --data PATH --out RUNDIR [--set k=v] [--resume]``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a backbone (self-supervised or supervised)",
        description="Train on a folder of videos (no labels needed) or a dataset. Leaves "
        "RUNDIR/last.pt, RUNDIR/best.pt, the resolved config.toml and CSV logs. Under "
        "torchrun it trains with DistributedDataParallel.",
    )
    p.add_argument("config", nargs="?", help="TOML config or preset (default: the small default)")
    p.add_argument("--data", help="dataset root or folder of videos (config key data.root)")
    p.add_argument("--out", help="run folder (required unless --resume RUNDIR)")
    p.add_argument("--resume", metavar="RUNDIR", help="continue an interrupted run from RUNDIR/last.pt")
    p.add_argument("--init", metavar="NAME|CHECKPOINT", default=None,
                   help="fine-tune: start from a shipped model (pulsecl models) or a checkpoint, with its model and "
                   "crops; best.pt is never worse than the start by the unlabelled criteria (train.init)")
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="SECTION.KEY=VALUE",
                   help="override a config key (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pulsecl.config import load_config
    from pulsecl.engine.trainer import train
    from pulsecl.errors import ConfigError, DataError
    from pulsecl.io import check_output, output_flags

    if args.resume:
        run_dir = Path(args.resume)
        if not run_dir.is_dir():
            raise DataError(f"cannot resume '{run_dir}': no such folder; give the --out folder of an earlier pulsecl train")
        if not (run_dir / "config.toml").is_file():
            raise DataError(
                f"cannot resume '{run_dir}': it is not a run folder (no config.toml); give the --out folder of an "
                "earlier pulsecl train, or start a new run with --out"
            )
        source = args.config or (run_dir / "config.toml")
        config = load_config(source, args.overrides)
        if args.out and Path(args.out) != run_dir:
            raise ConfigError("give either --out RUNDIR or --resume RUNDIR, not two different folders")
    else:
        if not args.out:
            raise ConfigError("pulsecl train needs --out RUNDIR (or --resume RUNDIR)")
        run_dir = check_output(args.out, "--out", folder=True)  # before any work
        config = load_config(args.config, args.overrides)
    if args.data:
        config.data.root = args.data
    if args.init:
        if args.resume:
            raise ConfigError("--init starts a new run; --resume continues one (its start is in its config)")
        config.train.init = args.init
    if not config.data.root:
        raise ConfigError("no training data: give --data PATH (or data.root in the config)")
    from pulsecl.io import tidy_dir

    tidy_dir(run_dir)  # a checkpoint's temp file that a kill -9 left
    with output_flags({} if args.resume else {run_dir: "--out"}):
        result = train(config, config.data.root, run_dir, resume=bool(args.resume), progress=not args.no_progress)
    if result.interrupted:
        return 130
    print(f"done: {result.epochs} epochs, {result.steps} steps; checkpoints in {result.run_dir}")
    return 0
