"""``pulsecl demo [--out DIR]``: the whole job in one command, on CPU, in ~10 minutes.

Renders a small synthetic dataset of faces with a known pulse, trains pulsecl's small
default model self-supervised (the training videos' labels are never read) for a few
minutes, runs the built-in ``quick`` suite (the trained model beside POS, CHROM and
GREEN on held-out subjects), writes a report folder (markdown, plots, JSON, CSV) and
prints the table.  Rerunning with the same ``--out`` reuses what is done.
"""

from __future__ import annotations

import argparse
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="synthetic data -> self-supervised training -> benchmark report (CPU, ~10 min)",
        description="Render synthetic face videos, train the small default model "
        "self-supervised for a few minutes, compare it with POS, CHROM and GREEN on held-out "
        "subjects (the built-in 'quick' suite), and write a report folder.",
    )
    p.add_argument("--out", default="pulsecl-demo", metavar="DIR", help="report folder (default ./pulsecl-demo)")
    p.add_argument(
        "--train-seconds", type=float, default=None, metavar="S",
        help="training time budget in seconds (default: the quick suite's, 420)",
    )
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="run cells in N processes (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def demo_suite(train_seconds: float | None = None):
    """The built-in ``quick`` suite, with the training budget changed if asked."""
    from pulsecl.bench import load_suite
    from pulsecl.errors import ConfigError

    suite = load_suite("quick")
    if train_seconds is not None:
        if not train_seconds > 0:
            raise ConfigError(f"--train-seconds {train_seconds:g}: give a positive number of seconds")
        for m in suite.methods.values():
            if m.kind == "recipe":
                m.set = [s for s in m.set if not s.startswith("train.time_budget_s=")]
                m.set.append(f"train.time_budget_s={train_seconds:g}")
    return suite


def run(args: argparse.Namespace) -> int:
    from pulsecl.bench import load_records, run_suite
    from pulsecl.commands.bench import print_result

    t0 = time.perf_counter()
    suite = demo_suite(args.train_seconds)
    budget = [s.split("=", 1)[1] for m in suite.methods.values() for s in m.set if s.startswith("train.time_budget_s=")]
    print(
        f"pulsecl demo: synthetic data -> self-supervised training ({budget[0] if budget else '?'} s budget) -> "
        f"'{suite.name}' suite; results in {args.out}"
    )
    result = run_suite(suite, args.out, jobs=args.jobs, progress=not args.no_progress)
    print_result(result)
    runs = {}
    for rec in load_records(args.out, suite):
        if rec.get("train"):
            runs[rec["train"]["run_dir"]] = rec["train"]
    for tr in runs.values():
        print(
            f"{tr['method']} (seed {tr['seed']}): {tr['steps']} training steps in {tr['seconds']:.0f} s on "
            f"'{tr['train_data']}' without its labels; run folder {tr['run_dir']}"
        )
    print(f"demo finished in {time.perf_counter() - t0:.0f} s; open {result.report.get('markdown')}")
    return 1 if result.failed else 0
