"""Running a suite: every cell on its own, its record written as soon as it is done.

Layout of the output folder ``OUT``::

    OUT/suite.json                 the suite as run (settings and hash)
    OUT/data/<dataset>/            synthetic datasets, rendered once (deterministic by seed)
    OUT/cache/                     preprocessing cache of every dataset
    OUT/runs/<method>-s<seed>/     training runs of recipes (reused, resumed if interrupted)
    OUT/cells/<cell>.json          one record per cell (status "done" or "failed")
    OUT/report/                    report.md, summary.json, videos.csv, plots/ (see report.py)

A rerun skips every cell whose record is done and whose settings are unchanged (a
record whose settings changed is stale and runs again), so an interrupted suite resumes
where it stopped.  A recipe's run is reused once trained; a run interrupted during
training resumes from its ``last.pt`` with the time budget it had left (``train.time_budget_s``
counts the training time of every attempt).
``jobs > 1`` runs tasks in that many processes (datasets are rendered and preprocessed
first, in this process, so workers only read the cache); ``shard = (I, N)`` runs tasks
I, I+N, ... only.  A failing cell is recorded as failed, the others go on, and a rerun
tries it again.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pulsecl.bench.datasets import (  # noqa: F401 - re-exported: where these lived before
    checkpoint_path,
    classical_config,
    dataset_root,
    model_eval_config,
    recipe_config,
)
from pulsecl.bench.records import RECORD_FORMAT, finite, read_record
from pulsecl.bench.suite import Cell, Suite, Task
from pulsecl.errors import ConfigError, DataError, PulseclError
from pulsecl.io import FolderLock

__all__ = ["BenchResult", "RECORD_FORMAT", "cell_done", "read_record", "run_suite"]

_RUN_MARKER = "bench.json"


@dataclass
class BenchResult:
    """What one :func:`run_suite` call did."""

    out: Path
    suite: Suite
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # cell id -> one-line error
    report: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


# ----------------------------------------------------------------------------------------
# Records
# ----------------------------------------------------------------------------------------


def cell_done(suite: Suite, out: Path, cell: Cell) -> bool:
    """Whether ``out`` holds a done record of ``cell`` with the suite's current settings."""
    rec = read_record(out / "cells" / cell.filename)
    return bool(rec and rec.get("status") == "done" and rec.get("cell_key") == suite.cell_key(cell))


def _base_record(suite: Suite, cell: Cell) -> dict[str, Any]:
    m = suite.methods[cell.method]
    d = suite.datasets[cell.dataset]
    return {
        "format": RECORD_FORMAT,
        "format_version": 1,
        "cell": cell.id,
        "cell_key": suite.cell_key(cell),
        "suite": {"name": suite.name, "hash": suite.hash(), "file": str(suite.source)},
        "method": {"name": m.name, "kind": m.kind, "index": m.index, "seeded": m.seeded, "spec": m.spec()},
        "dataset": {"name": d.name, "index": d.index, "spec": d.spec()},
        "seed": cell.seed,
    }


def _write_failure(suite: Suite, out: Path, cell: Cell, exc: BaseException) -> str:
    from pulsecl.io import write_json

    line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not isinstance(exc, PulseclError):
        line = f"{type(exc).__name__}: {line}"
    rec = _base_record(suite, cell)
    rec.update(
        status="failed",
        error=line,
        traceback=None if isinstance(exc, PulseclError) else traceback.format_exc(),
        finished=_now(),
    )
    write_json(out / "cells" / cell.filename, finite(rec))
    return line


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ----------------------------------------------------------------------------------------
# Evaluating one cell
# ----------------------------------------------------------------------------------------


@dataclass
class _Context:
    """What a task needs, picklable for worker processes."""

    suite: Suite
    out: Path
    roots: dict[str, Path]
    progress: bool = False
    quiet: bool = False


def _evaluate_cell(
    ctx: _Context,
    cell: Cell,
    config: Any,
    pulse_fn: Callable,
    device: Any,
    extra: dict[str, Any],
    started: float,
) -> None:
    from pulsecl.bench.provenance import provenance
    from pulsecl.config import config_hash, config_to_dict
    from pulsecl.engine.clips import load_videos
    from pulsecl.engine.evaluate import evaluate_videos
    from pulsecl.io import write_json

    d = ctx.suite.datasets[cell.dataset]
    videos = load_videos(config, ctx.roots[cell.dataset], split=d.split, labels=True, progress=False)
    if not any(v.ppg is not None or v.hr is not None for v in videos):
        raise DataError(f"dataset '{cell.dataset}' has no reference pulse or heart rate; a benchmark needs labelled data")
    result = evaluate_videos(videos, config, cell.method, pulse_fn)
    rows = []
    for r in result.videos:
        rows.append(
            {
                "video": r.video,
                "subject": r.subject,
                "frames": r.frames,
                "fs": r.fs,
                "hr_pred": r.hr_pred,
                "hr_ref": r.hr_ref,
                "abs_error": abs(r.hr_pred - r.hr_ref) if r.hr_ref is not None else None,
                "snr_db": r.snr_db,
                "macc": r.macc,
                "confidence": r.confidence.level if r.confidence is not None else None,
            }
        )
    rec = _base_record(ctx.suite, cell)
    rec.update(
        status="done",
        metrics=result.metrics,
        videos=rows,
        config=config_to_dict(config),
        config_hash=config_hash(config),
        provenance=provenance(config, device),
        started=datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        finished=_now(),
        seconds=round(time.time() - started, 3),
        **extra,
    )
    write_json(ctx.out / "cells" / cell.filename, finite(rec))


def _classical_task(ctx: _Context, task: Task, cells: list[Cell]) -> None:
    from pulsecl.engine.evaluate import classical_pulse

    for cell in cells:
        started = time.time()
        m = ctx.suite.methods[cell.method]
        config = classical_config(ctx.suite, cell, ctx.roots[cell.dataset], ctx.out)
        fn = lambda v, m=m, c=config: classical_pulse(m.method, v, m.options, c)  # noqa: E731
        _evaluate_cell(ctx, cell, config, fn, "cpu", {"model": None}, started)


def _model_cells(ctx: _Context, cells: list[Cell], ckpt_path: Path, extra: dict[str, Any]) -> None:
    from pulsecl.config import config_hash
    from pulsecl.engine.device import choose_device
    from pulsecl.engine.evaluate import model_pulse
    from pulsecl.models import load_model

    model = load_model(ckpt_path)
    device = choose_device(model.config.train.device)
    model.net.to(device)
    model.device = device
    info = {"checkpoint": str(ckpt_path), "clip_frames": model.clip_frames, "train_config_hash": config_hash(model.config)}
    for cell in cells:
        started = time.time()
        config = model_eval_config(ctx.suite, cell, model.config, ctx.roots[cell.dataset], ctx.out)
        fn = lambda v, c=config: model_pulse(model, v, c)  # noqa: E731
        _evaluate_cell(ctx, cell, config, fn, device, {"model": info, **extra}, started)


def _checkpoint_task(ctx: _Context, task: Task, cells: list[Cell]) -> None:
    _model_cells(ctx, cells, checkpoint_path(ctx.suite, task.method), {"train": None})


def train_recipe(ctx: _Context, method: str, seed: int, run: str, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train (or reuse, or resume) the run of a recipe at one seed; its summary."""
    import json

    from pulsecl.config import config_hash
    from pulsecl.engine.trainer import train
    from pulsecl.io import write_json

    from pulsecl.io import tidy_dir

    suite = ctx.suite
    run_dir = ctx.out / "runs" / run
    marker = run_dir / _RUN_MARKER
    key = suite.run_key(method, seed)
    if marker.is_file():
        info = json.loads(marker.read_text(encoding="utf-8"))
        if info.get("run_key") != key:
            raise ConfigError(
                f"run folder '{run_dir}' was trained with other settings than methods.{method} now gives; "
                "use another --out or delete that folder to train again"
            )
        if (run_dir / "best.pt").is_file():
            return {**info, "reused": True}
    # Not finished (no marker): a run interrupted after an epoch has best.pt and last.pt
    # but no bench.json; it resumes from last.pt with the time budget it had left.
    m = suite.methods[method]
    root = ctx.roots.get(m.train_data)
    if root is None:  # a caller that did not resolve it (_prepare does)
        root = dataset_root(suite, m.train_data, ctx.out)
    config = recipe_config(suite, method, seed, root, ctx.out)
    tidy_dir(run_dir)  # a checkpoint's temp file that a kill -9 left
    resume = (run_dir / "last.pt").is_file()
    if resume and log:
        log(f"{method} (seed {seed}): resuming the interrupted training run in {run_dir}")
    t0 = time.perf_counter()
    result = train(config, config.data.root, run_dir, resume=resume, progress=ctx.progress, log=log)
    if result.interrupted:
        raise KeyboardInterrupt
    if not (run_dir / "best.pt").is_file():
        raise DataError(f"training '{method}' at seed {seed} ended without a checkpoint in '{run_dir}'; give it more steps")
    info = {
        "run_key": key,
        "run_dir": str(run_dir),
        "method": method,
        "seed": seed,
        "config_hash": config_hash(config),
        "steps": result.steps,
        "epochs": result.epochs,
        "best_score": result.best_score,
        # training time over every resume (what the time budget counts), not this call's
        "seconds": round(result.seconds or time.perf_counter() - t0, 1),
        "resumed": resume,
        "train_data": m.train_data,
        "train_split": m.train_split,
        "labels_read": config.train.mode == "supervised",
    }
    write_json(marker, finite(info))
    return {**info, "reused": False}


def _recipe_task(ctx: _Context, task: Task, cells: list[Cell], log: Callable[[str], None] | None) -> None:
    run = task.run or f"{task.method}-s{task.seed}"
    info = train_recipe(ctx, task.method, task.seed, run, log=log)
    need = ctx.suite.methods[task.method].min_steps
    if need and int(info.get("steps", 0)) < need:
        from pulsecl.warn import warn

        warn(f"{task.method} (seed {task.seed}) trained {info['steps']} steps in {info.get('seconds', 0):.0f} s, fewer than "
             f"the {need} its recipe needs for its usual figures (a busy machine or a short budget); its results "
             "will be worse: rerun on a quieter machine or give it more time")
    _model_cells(ctx, cells, ctx.out / "runs" / run / "best.pt", {"train": info})


def run_task(ctx: _Context, task: Task, log: Callable[[str], None] | None = None) -> list[tuple[str, str | None]]:
    """Run the pending cells of one task; ``[(cell id, error line or None)]``.

    A failing cell (or a failing training, for all of its cells) is recorded as failed
    and the others go on; Ctrl-C stops at once, keeping what is recorded.
    """
    kind = ctx.suite.methods[task.method].kind
    cells = [c for c in task.cells if not cell_done(ctx.suite, ctx.out, c)]
    if not cells:
        return []
    outcomes: list[tuple[str, str | None]] = []
    try:
        if kind == "classical":
            for cell in cells:  # each on its own: one failure keeps the others
                try:
                    _classical_task(ctx, task, [cell])
                    outcomes.append((cell.id, None))
                except Exception as exc:  # noqa: BLE001 - recorded, reported at the end
                    outcomes.append((cell.id, _write_failure(ctx.suite, ctx.out, cell, exc)))
            return outcomes
        if kind == "checkpoint":
            _checkpoint_task(ctx, task, cells)
        else:
            _recipe_task(ctx, task, cells, log)
        return [(c.id, None) for c in cells]
    except Exception as exc:  # noqa: BLE001
        done = {c.id for c in cells if cell_done(ctx.suite, ctx.out, c)}
        return [(c.id, None if c.id in done else _write_failure(ctx.suite, ctx.out, c, exc)) for c in cells]


# ----------------------------------------------------------------------------------------
# Worker processes
# ----------------------------------------------------------------------------------------


def _worker_init(disabled: list[str], threads: int) -> None:
    import signal

    import torch

    from pulsecl.plugins import reset_plugin_manager

    # Ctrl-C goes to the parent, which stops the pool: workers do not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reset_plugin_manager(disabled)
    torch.set_num_threads(max(1, threads))


def _worker_run(ctx: _Context, task: Task) -> list[tuple[str, str | None]]:
    return run_task(ctx, task, log=None)


def _disabled_plugins() -> list[str]:
    from pulsecl.plugins import get_plugin_manager

    return [name for name, plugin in get_plugin_manager().list_name_plugin() if plugin is None]


# ----------------------------------------------------------------------------------------
# The suite
# ----------------------------------------------------------------------------------------


def _pending(suite: Suite, out: Path, tasks: list[Task]) -> list[Task]:
    return [t for t in tasks if any(not cell_done(suite, out, c) for c in t.cells)]


def _prepare(suite: Suite, out: Path, tasks: list[Task], progress: bool, log: Callable[[str], None]) -> dict[str, Path]:
    """Resolve (render) the datasets the pending tasks need and fill the preprocessing
    cache once, here, so that parallel workers only read it."""
    import json

    from pulsecl.engine.clips import load_videos
    from pulsecl.models import load_model

    def must_train(t: Task) -> bool:
        """A recipe whose run is not finished: best.pt alone is not enough (an interrupted
        run has one after its first epoch); finished is best.pt and a bench.json marker
        for these settings, as train_recipe reuses."""
        if suite.methods[t.method].kind != "recipe":
            return False
        run_dir = out / "runs" / (t.run or f"{t.method}-s{t.seed}")
        try:
            info = json.loads((run_dir / _RUN_MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return True
        return info.get("run_key") != suite.run_key(t.method, t.seed) or not (run_dir / "best.pt").is_file()

    needed: list[str] = []
    for t in tasks:
        m = suite.methods[t.method]
        if must_train(t):
            needed.append(m.train_data)
        needed.extend(c.dataset for c in t.cells if not cell_done(suite, out, c))
    needed = list(dict.fromkeys(needed))
    roots = {}
    for name in needed:  # every root first: a missing dataset fails before any work
        if suite.datasets[name].synthetic is None:
            roots[name] = dataset_root(suite, name, out)
    ckpt_configs: dict[str, Any] = {}
    for t in tasks:
        if suite.methods[t.method].kind == "checkpoint" and t.method not in ckpt_configs:
            ckpt_configs[t.method] = load_model(checkpoint_path(suite, t.method)).config
    for name in needed:
        if name not in roots:
            log(f"dataset '{name}': synthetic, in {out / 'data' / name}")
            roots[name] = dataset_root(suite, name, out, progress=progress)

    # Preprocess each (dataset, crop settings) once.
    from pulsecl.video.cache import cache_settings

    jobs: dict[str, tuple[Any, str, str, bool]] = {}
    for t in tasks:
        m = suite.methods[t.method]
        if must_train(t):
            config = recipe_config(suite, t.method, t.seed, roots[m.train_data], out)
            key = json.dumps([m.train_data, m.train_split, cache_settings(config.preprocess)], sort_keys=True, default=str)
            jobs.setdefault(key, (config, m.train_data, m.train_split, False))
        for c in t.cells:
            if cell_done(suite, out, c):
                continue
            d = suite.datasets[c.dataset]
            if m.kind == "classical":
                config = classical_config(suite, c, roots[c.dataset], out)
            elif m.kind == "checkpoint":
                config = model_eval_config(suite, c, ckpt_configs[t.method], roots[c.dataset], out)
            else:
                # the data settings are replaced for evaluation: any root will do here
                trained = recipe_config(suite, t.method, t.seed, roots.get(m.train_data, out), out)
                config = model_eval_config(suite, c, trained, roots[c.dataset], out)
            key = json.dumps([c.dataset, d.split, cache_settings(config.preprocess), d.set], sort_keys=True, default=str)
            jobs.setdefault(key, (config, c.dataset, d.split, True))
    for config, name, split, labels in jobs.values():
        log(f"preprocessing dataset '{name}' (split {split}, {config.preprocess.size}x{config.preprocess.size} crops)")
        load_videos(config, roots[name], split=split, labels=labels, progress=progress)
    return roots


def run_suite(
    suite: Suite,
    out: str | Path,
    jobs: int = 1,
    shard: tuple[int, int] = (1, 1),
    progress: bool = True,
    log: Callable[[str], None] | None = print,
    report: bool = True,
) -> BenchResult:
    """Run the cells of ``suite`` (this shard's) that are not done yet, then write the
    report of every cell recorded in ``out``.  See the module docstring.

    The folder is this process's while it runs (:class:`pulsecl.io.FolderLock`): a
    second ``bench`` on it stops at once, naming the pid that holds it."""
    if not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs {jobs!r}: give a number of processes, at least 1")
    index, count = shard
    if not 1 <= index <= count:
        raise ConfigError(f"--shard {index}/{count}: give I/N with 1 <= I <= N")
    t_start = time.perf_counter()
    out = Path(out)
    # shards on other machines write folders of their own; two runs of one folder would mix their cells
    with FolderLock(out, "benchmark folder", hint="wait for it to finish or choose another --out"):
        return _run_suite(suite, out, jobs, shard, progress, log, report, t_start)


def _run_suite(suite: Suite, out: Path, jobs: int, shard: tuple[int, int], progress: bool,
               log: Callable[[str], None] | None, report: bool, t_start: float) -> BenchResult:
    """:func:`run_suite`, with ``out`` locked."""
    from pulsecl import progress as progress_bars
    from pulsecl.bench.report import write_report
    from pulsecl.io import write_json

    index, count = shard
    say = log or (lambda *_: None)
    write_json(out / "suite.json", {"name": suite.name, "hash": suite.hash(), "file": str(suite.source), "settings": suite.settings()})
    mine = suite.tasks()[index - 1 :: count]
    result = BenchResult(out, suite)
    result.skipped = [c.id for t in mine for c in t.cells if cell_done(suite, out, c)]
    pending = _pending(suite, out, mine)
    n_cells = sum(len(t.cells) for t in mine)
    say(
        f"suite '{suite.name}': {n_cells} cells in this {'shard' if count > 1 else 'run'}"
        f"{f' ({index}/{count})' if count > 1 else ''}, {len(result.skipped)} already done"
    )
    if pending:
        roots = _prepare(suite, out, pending, progress, say)
        ctx = _Context(suite, out, roots, progress=progress and jobs == 1)
        todo = sum(1 for t in pending for c in t.cells if not cell_done(suite, out, c))
        bar = progress_bars.bar(total=todo, desc=f"bench {suite.name}", unit="cell", disable=not progress)
        with bar:
            if jobs == 1:
                for task in pending:
                    bar.set_postfix_str(task.run or task.cells[0].id)
                    _collect(result, run_task(ctx, task, log=(progress_bars.write if log else None)), bar)
            else:
                _run_parallel(ctx, pending, jobs, result, bar)
    if report:
        result.report = write_report(out, suite=suite)
    result.seconds = time.perf_counter() - t_start
    return result


def _collect(result: BenchResult, outcomes: list[tuple[str, str | None]], bar: Any) -> None:
    for cell_id, error in outcomes:
        if error is None:
            result.ran.append(cell_id)
        else:
            result.failed[cell_id] = error
        bar.update(1)


def _run_parallel(ctx: _Context, tasks: list[Task], jobs: int, result: BenchResult, bar: Any) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = max(1, (os.cpu_count() or 1) // jobs)
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(tasks)),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(_disabled_plugins(), threads),
    )
    try:
        futures = {pool.submit(_worker_run, ctx, t): t for t in tasks}
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                outcomes = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died: its cells failed
                outcomes = [(c.id, _write_failure(ctx.suite, ctx.out, c, exc)) for c in task.cells if not cell_done(ctx.suite, ctx.out, c)]
            _collect(result, outcomes, bar)
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
