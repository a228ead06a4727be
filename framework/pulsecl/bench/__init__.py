"""Benchmark suites: methods x datasets x seeds, run cell by cell, resumable, shardable.

::

    from pulsecl.bench import load_suite, run_suite, merge_results

    suite = load_suite("benchmarks/synthetic-hard.toml")   # or a built-in name: "quick"
    result = run_suite(suite, "out/hard", jobs=2)          # skips cells already done
    print(result.report["tables"]["motion"])               # markdown table per dataset
    merge_results(["out/shard1", "out/shard2"], "out/all")  # join shards (--shard I/N)

The suite format is described in :mod:`pulsecl.bench.suite`, the output folder in
:mod:`pulsecl.bench.runner`, the report in :mod:`pulsecl.bench.report`.  The command
line is ``pulsecl bench`` and ``pulsecl demo``.
"""

from pulsecl.bench.report import format_tables, load_records, merge_results, write_report
from pulsecl.bench.records import read_record
from pulsecl.bench.runner import BenchResult, run_suite
from pulsecl.bench.suite import Cell, Suite, Task, builtin_suites, load_suite, parse_shard, parse_suite

__all__ = [
    "BenchResult",
    "Cell",
    "Suite",
    "Task",
    "builtin_suites",
    "format_tables",
    "load_records",
    "load_suite",
    "merge_results",
    "parse_shard",
    "parse_suite",
    "read_record",
    "run_suite",
    "write_report",
]
