"""``pulsecl bench SUITE --out DIR [--jobs N] [--shard I/N]`` and ``pulsecl bench merge``.

A suite (``benchmarks/*.toml``, or the built-in ``quick``) is a grid of methods x
datasets x seeds; each cell records its result in ``DIR/cells/`` as soon as it is done
and a rerun skips finished cells, so an interrupted suite resumes.  ``--shard I/N`` runs
every N-th task (for several machines); ``pulsecl bench merge DIR... --out OUT`` joins
their results into one report.
"""

from __future__ import annotations

import argparse
import sys

USAGE = """pulsecl bench SUITE --out DIR [--jobs N] [--shard I/N] [--list] [--no-progress]
       pulsecl bench merge DIR [DIR ...] --out OUT"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="run a benchmark suite (methods x datasets x seeds), or merge shards",
        usage=USAGE,
        description="Run a benchmark suite cell by cell into DIR: one JSON record per cell, "
        "a markdown table per dataset, scatter and Bland-Altman plots, a per-video CSV. "
        "Finished cells are skipped on a rerun. 'pulsecl bench merge DIR... --out OUT' joins "
        "the results of shards into one report.",
        epilog="Suites: benchmarks/quick.toml (also built in as 'quick'), synthetic-hard.toml, "
        "ubfc-rppg.toml, pure.toml; the format is documented in pulsecl.bench.suite.",
    )
    p.add_argument("suite", metavar="SUITE", help="suite TOML file or built-in suite name (quick); or 'merge'")
    p.add_argument("dirs", nargs="*", metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (merge: the joined folder)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="run tasks in N processes (default 1)")
    p.add_argument("--shard", default=None, metavar="I/N", help="run tasks I, I+N, I+2N, ... only (1-based)")
    p.add_argument("--list", action="store_true", help="list the cells and whether each is done; run nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pulsecl.errors import ConfigError

    if args.suite == "merge":
        return _merge(args)
    if args.dirs:
        raise ConfigError(f"pulsecl bench: one suite at a time (got also {' '.join(args.dirs)}); usage: {USAGE.splitlines()[0]}")
    from pulsecl.bench import load_suite, parse_shard, run_suite
    from pulsecl.io import check_output, output_flags

    if not args.list:
        check_output(args.out, "--out", folder=True)  # before the suite runs
    suite = load_suite(args.suite)
    shard = parse_shard(args.shard)
    if args.list:
        return _list(suite, args.out, shard)
    with output_flags({args.out: "--out"}):
        result = run_suite(suite, args.out, jobs=args.jobs, shard=shard, progress=not args.no_progress)
    print_result(result)
    return 1 if result.failed else 0


def print_result(result) -> None:
    """The tables, then where everything is and what failed."""
    tables = result.report.get("tables", {})
    for name, table in tables.items():
        print(f"\n{name}\n{table}")
    print(
        f"\n{len(result.ran)} cells run, {len(result.skipped)} already done, {len(result.failed)} failed "
        f"in {result.seconds:.0f} s; report: {result.report.get('markdown')}"
    )
    for cell, error in result.failed.items():
        print(f"pulsecl: cell {cell} failed: {error}", file=sys.stderr)


def _list(suite, out, shard) -> int:
    from pathlib import Path

    from pulsecl.bench.runner import cell_done

    index, count = shard
    tasks = suite.tasks()
    for t in tasks[index - 1 :: count]:
        for c in t.cells:
            state = "done" if cell_done(suite, Path(out), c) else "todo"
            print(f"{state:5s} task {t.index + 1:3d}  {c.id}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from pulsecl.bench import merge_results

    report = merge_results(args.dirs, args.out)
    for name, table in report["tables"].items():
        print(f"\n{name}\n{table}")
    print(f"\nmerged {len(args.dirs)} folders into {args.out}; report: {report['markdown']}")
    return 1 if report["failed"] else 0
