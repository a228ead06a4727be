"""Benchmark reports from cell records, and merging the results of shards.

``write_report(OUT)`` writes ``OUT/report/``:

* ``report.md``     one table per dataset (a row per method, and per seed for trained
  methods: MAE ± SE, RMSE, MAPE, Pearson r, SNR, MACC), training runs, failed cells,
  and where the results came from;
* ``summary.json``  every cell's metrics and provenance;
* ``videos.csv``    every cell's per-video results (the table's numbers come from these
  rows: MAE is the mean of ``abs_error`` over a cell's labelled videos);
* ``plots/<dataset>/<method>[-s<seed>]-{scatter,bland-altman}.png``.

``merge_results([DIR, ...], OUT)`` joins the records of shards (same suite) into OUT and
writes the same report there.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from pulsecl.bench.records import read_record
from pulsecl.bench.suite import Suite
from pulsecl.errors import ConfigError, DataError, SignalError

__all__ = ["format_tables", "load_records", "merge_results", "write_report", "TABLE_COLUMNS"]

TABLE_COLUMNS = ["method", "videos", "MAE ± SE (bpm)", "RMSE (bpm)", "MAPE (%)", "Pearson r", "within 5 bpm",
                 "SNR (dB)", "MACC"]

VIDEO_FIELDS = [
    "dataset", "method", "kind", "seed", "cell", "video", "subject", "frames", "fs",
    "hr_pred", "hr_ref", "abs_error", "snr_db", "macc", "confidence",
]


def load_records(out: str | Path, suite: Suite | None = None) -> list[dict[str, Any]]:
    """The records under ``out/cells``, in suite order.

    With ``suite``, only its current cells (records whose settings are unchanged);
    otherwise every record, ordered by dataset, method and seed as they were written.
    """
    folder = Path(out) / "cells"
    records = [r for r in (read_record(p) for p in sorted(folder.glob("*.json"))) if r is not None]
    if suite is not None:
        wanted = {c.id: suite.cell_key(c) for c in suite.cells()}
        records = [r for r in records if wanted.get(r.get("cell")) == r.get("cell_key")]
    return sorted(records, key=_order)


def _order(rec: dict[str, Any]) -> tuple:
    return (rec["dataset"]["index"], rec["dataset"]["name"], rec["method"]["index"], rec["method"]["name"], rec["seed"])


# ----------------------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------------------


def _num(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def _pct(value: Any) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{100 * value:.0f} %"


def _pm(value: Any, spread: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{_num(value, digits)} ± {_num(spread, digits)}" if spread is not None else _num(value, digits)


def _row(label: str, m: dict[str, Any]) -> list[str]:
    return [
        label,
        str(int(m.get("n") or m.get("labelled") or 0)),
        _pm(m.get("mae"), m.get("mae_se")),
        _num(m.get("rmse"), 2),
        _num(m.get("mape"), 2),
        _num(m.get("pearson"), 3),
        _pct(m.get("within_5bpm")),
        _num(m.get("snr_db"), 2),
        _num(m.get("macc"), 3),
    ]


def _seed_mean(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean of each metric over seeds; ``mae_se`` becomes the SD of MAE over seeds."""
    import numpy as np

    out: dict[str, Any] = {}
    for key in ("n", "mae", "rmse", "mape", "pearson", "within_5bpm", "snr_db", "macc"):
        vals = [r["metrics"].get(key) for r in records if r["metrics"].get(key) is not None]
        out[key] = float(np.mean(vals)) if vals else None
    maes = [r["metrics"]["mae"] for r in records if r["metrics"].get("mae") is not None]
    out["mae_se"] = float(np.std(maes, ddof=1)) if len(maes) > 1 else None
    return out


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def dataset_rows(records: list[dict[str, Any]]) -> list[list[str]]:
    """Table rows of one dataset's done records: a row per method, per seed for trained
    methods with several seeds, then their mean over seeds."""
    rows: list[list[str]] = []
    by_method: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_method.setdefault(r["method"]["name"], []).append(r)
    for name, recs in by_method.items():
        if len(recs) == 1:
            rows.append(_row(name, recs[0]["metrics"]))
            continue
        for r in recs:
            rows.append(_row(f"{name} (seed {r['seed']})", r["metrics"]))
        rows.append(_row(f"{name} (mean of {len(recs)} seeds; ± SD)", _seed_mean(recs)))
    return rows


def format_tables(records: list[dict[str, Any]]) -> dict[str, str]:
    """``{dataset: markdown table}`` of the done records, in suite order."""
    return {name: _markdown(TABLE_COLUMNS, dataset_rows(recs)) for name, recs in _by_dataset(records).items()}


def _by_dataset(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r.get("status") == "done":
            tables.setdefault(r["dataset"]["name"], []).append(r)
    return tables


def _labelled(rec: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in rec.get("videos", []) if v.get("hr_ref") is not None and v.get("hr_pred") is not None]


def subject_records(rec: dict[str, Any]) -> dict[str, Any]:
    """A copy of a cell record whose "videos" are its subjects: each subject's heart rate
    is the median of its videos' (e.g. the three skin patches of one face), its reference
    the mean of theirs; metrics recomputed over subjects."""
    import numpy as np

    from pulsecl.engine.metrics import summarize_hr

    groups: dict[str, list[dict[str, Any]]] = {}
    for v in _labelled(rec):
        groups.setdefault(str(v.get("subject")), []).append(v)
    rows = [{"video": s, "subject": s, "hr_pred": float(np.median([v["hr_pred"] for v in vs])),
             "hr_ref": float(np.mean([v["hr_ref"] for v in vs]))} for s, vs in groups.items()]
    metrics = summarize_hr([r["hr_pred"] for r in rows], [r["hr_ref"] for r in rows]) if rows else {}
    return {**rec, "videos": rows, "metrics": metrics}


def constant_baseline(rec: dict[str, Any]) -> dict[str, float] | None:
    """Metrics of the constant answer "the mean of the references" on a record's
    labelled videos: the floor any method must beat (a narrow range of references makes
    it low on MAE; it has no correlation at all)."""
    import numpy as np

    from pulsecl.engine.metrics import summarize_hr

    ref = np.array([v["hr_ref"] for v in _labelled(rec)], dtype=np.float64)
    if ref.size < 2:
        return None
    return summarize_hr(np.full_like(ref, ref.mean()), ref)


def _has_subjects(recs: list[dict[str, Any]]) -> bool:
    """Whether some subject has several videos of one reference heart rate in these
    records (the patches of one face): then a per-subject table means something."""
    for rec in recs:
        refs: dict[Any, list[float]] = {}
        for v in _labelled(rec):
            refs.setdefault(v.get("subject"), []).append(float(v["hr_ref"]))
        several = [r for r in refs.values() if len(r) > 1]
        if several and all(max(r) - min(r) <= 1.0 for r in several):
            return True
    return False


def _baseline_line(recs: list[dict[str, Any]], what: str = "videos") -> list[str]:
    base = constant_baseline(recs[0]) if recs else None
    if base is None:
        return []
    return [f"Constant answer (the mean of the references, {int(base['n'])} {what}): MAE {_num(base.get('mae'), 2)} bpm, "
            f"RMSE {_num(base.get('rmse'), 2)} bpm, within 5 bpm {_pct(base.get('within_5bpm'))}, no correlation.", ""]


# ----------------------------------------------------------------------------------------
# The report folder
# ----------------------------------------------------------------------------------------


def _plot_stem(rec: dict[str, Any]) -> str:
    stem = rec["method"]["name"]
    return f"{stem}-s{rec['seed']}" if rec["method"]["seeded"] else stem


def _plots(rec: dict[str, Any], folder: Path, record_mtime: float) -> dict[str, str]:
    from pulsecl.signal.plots import bland_altman_plot, scatter_plot

    pairs = [(v["hr_pred"], v["hr_ref"]) for v in rec["videos"] if v.get("hr_ref") is not None]
    if len(pairs) < 2:
        return {}
    pred, ref = zip(*pairs)
    stem = _plot_stem(rec)
    title = f"{rec['method']['name']} on {rec['dataset']['name']}"
    if rec["method"]["seeded"]:
        title += f" (seed {rec['seed']})"
    paths = {"scatter": folder / f"{stem}-scatter.png", "bland_altman": folder / f"{stem}-bland-altman.png"}
    try:
        for kind, path in paths.items():
            if path.is_file() and path.stat().st_mtime >= record_mtime:
                continue  # up to date
            if kind == "scatter":
                scatter_plot(pred, ref, path, title=title)
            else:
                bland_altman_plot(pred, ref, path, title=f"Bland-Altman: {title}")
    except SignalError:
        return {}
    return {k: str(p.relative_to(folder.parent.parent)) for k, p in paths.items()}


def _provenance_lines(records: list[dict[str, Any]]) -> list[str]:
    lines = []
    seen_versions = sorted({r["provenance"]["pulsecl"] for r in records if r.get("provenance")})
    commits = sorted(
        {f"{g['commit'][:12]}{' (uncommitted changes)' if g.get('dirty') else ''}" for r in records if (g := (r.get("provenance") or {}).get("git"))}
    )
    devices = sorted(
        {f"{d['type']} ({d.get('name', '?')}, {d.get('cpus', '?')} CPUs, {d.get('threads', '?')} threads)" for r in records if (d := (r.get("provenance") or {}).get("device"))}
    )
    hosts = sorted({r["provenance"].get("hostname", "?") for r in records if r.get("provenance")})
    plugins = sorted({f"{p['name']} ({p['distribution']} {p['version']})" for r in records if r.get("provenance") for p in r["provenance"]["plugins"]})
    pythons = sorted({f"python {r['provenance']['python']}, torch {r['provenance'].get('torch')}" for r in records if r.get("provenance")})
    lines.append(f"* pulsecl {', '.join(seen_versions) or '?'}; {'; '.join(pythons)}")
    lines.append(f"* git commit: {', '.join(commits) or 'none (not a git checkout)'}")
    lines.append(f"* device: {'; '.join(devices)}; host: {', '.join(hosts)}")
    lines.append(f"* plugins: {', '.join(plugins)}")
    return lines


def write_report(out: str | Path, suite: Suite | None = None, records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Write ``out/report/`` from the records in ``out/cells`` (see the module docstring);
    returns the paths written and the markdown tables."""
    from datetime import datetime, timezone

    from pulsecl.io import atomic_write, write_json, write_text

    out = Path(out)
    if records is None:
        records = load_records(out, suite)
    folder = out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    done = [r for r in records if r.get("status") == "done"]
    failed = [r for r in records if r.get("status") != "done"]
    tables = format_tables(done)

    plots: dict[str, dict[str, str]] = {}
    for rec in done:
        mtime = (out / "cells" / (rec["cell"].replace("/", "--") + ".json"))
        plots[rec["cell"]] = _plots(rec, folder / "plots" / rec["dataset"]["name"], mtime.stat().st_mtime if mtime.exists() else 0.0)

    with atomic_write(folder / "videos.csv", "w") as fh:
        w = csv.writer(fh)
        w.writerow(VIDEO_FIELDS)
        for rec in done:
            for v in rec["videos"]:
                w.writerow(
                    [rec["dataset"]["name"], rec["method"]["name"], rec["method"]["kind"], rec["seed"], rec["cell"]]
                    + ["" if v.get(k) is None else v[k] for k in VIDEO_FIELDS[5:]]
                )

    overview = _overview_plot(done, folder / "plots" / "overview.png") if done else None
    name = suite.name if suite is not None else (records[0]["suite"]["name"] if records else "?")
    descriptions = {r["dataset"]["name"]: r["dataset"]["spec"].get("description", "") for r in done}
    md = [f"# Benchmark: {name}", ""]
    if suite is not None and suite.description:
        md += [suite.description.strip(), ""]
    md += [
        f"{len(done)} cells done, {len(failed)} failed; generated {datetime.now(timezone.utc).isoformat(timespec='seconds')}.",
        "MAE ± its standard error over videos; heart rate per video: the median of its windows' own rates "
        "(the analysis `pulsecl predict` reports).",
        "",
    ]
    if overview is not None:
        md += ["![MAE and share within 5 bpm, per method and dataset](plots/overview.png)", ""]
    for ds, table in tables.items():
        md += [f"## {ds}", ""]
        if descriptions.get(ds):
            md += [descriptions[ds].strip(), ""]
        md += [table, ""]
        ds_recs = _by_dataset(done).get(ds, [])
        md += _baseline_line(ds_recs)
        if _has_subjects(ds_recs):
            per_subject = [subject_records(r) for r in ds_recs]
            md += ["Per subject (median of each subject's videos):", "",
                   _markdown(TABLE_COLUMNS, dataset_rows(per_subject)), ""]
            md += _baseline_line(per_subject, "subjects")
        figs = [f"[{rec['method']['name']}{' s' + str(rec['seed']) if rec['method']['seeded'] else ''}]({p['scatter']}) / [BA]({p['bland_altman']})"
                for rec in done if rec["dataset"]["name"] == ds and (p := plots.get(rec["cell"]))]
        if figs:
            md += ["Plots (scatter / Bland–Altman): " + ", ".join(figs), ""]
    runs = {}
    for rec in done:
        tr = rec.get("train")
        if tr:
            runs[(tr["method"], tr["seed"])] = tr
    if runs:
        md += ["## Training runs", "", _markdown(
            ["method", "seed", "trained on", "steps", "seconds", "best IPR", "labels read", "run"],
            [[m, str(s), f"{t['train_data']} ({t['train_split']})", str(t["steps"]), _num(t["seconds"], 0),
              _num(t.get("best_score"), 4), "yes" if t.get("labels_read") else "no", Path(t["run_dir"]).name]
             for (m, s), t in runs.items()],
        ), ""]
    if failed:
        md += ["## Failed cells", "", *[f"* `{r['cell']}`: {r.get('error', '?')}" for r in failed], ""]
    if done:
        md += ["## Provenance", "", *_provenance_lines(done), ""]
    write_text(folder / "report.md", "\n".join(md))

    summary = {
        "suite": {"name": name, "hash": suite.hash() if suite is not None else (records[0]["suite"]["hash"] if records else None)},
        "cells": [
            {
                "cell": r["cell"],
                "dataset": r["dataset"]["name"],
                "method": r["method"]["name"],
                "kind": r["method"]["kind"],
                "seed": r["seed"],
                "status": r.get("status"),
                "metrics": r.get("metrics"),
                "error": r.get("error"),
                "config_hash": r.get("config_hash"),
                "train": r.get("train"),
                "plots": plots.get(r["cell"], {}),
                "provenance": r.get("provenance"),
            }
            for r in records
        ],
    }
    write_json(folder / "summary.json", summary)
    return {
        "folder": folder,
        "overview": overview,
        "markdown": folder / "report.md",
        "summary": folder / "summary.json",
        "videos": folder / "videos.csv",
        "tables": tables,
        "failed": [r["cell"] for r in failed],
    }


def _overview_plot(done: list[dict[str, Any]], path: Path) -> Path | None:
    """One figure for the whole suite: MAE (left) and the share within 5 bpm (right) of
    every method on every dataset, grouped by dataset, with the constant answer's as a
    dashed line: where the methods part ways shows at a glance."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import numpy as np
    from matplotlib.figure import Figure

    from pulsecl.io import atomic_write

    by_ds = _by_dataset(done)
    datasets = list(by_ds)
    methods = list(dict.fromkeys(r["method"]["name"] for r in done))
    if not datasets or not methods:
        return None
    fig = Figure(figsize=(max(7.5, 1.6 * len(datasets) + 4.5), 4.2), dpi=100, layout="constrained")
    ax_mae, ax_w5 = fig.subplots(1, 2)
    width = 0.8 / len(methods)
    x = np.arange(len(datasets))
    for j, m in enumerate(methods):
        mae, w5 = [], []
        for ds in datasets:
            recs = [r for r in by_ds[ds] if r["method"]["name"] == m]
            summary = _seed_mean(recs) if len(recs) > 1 else (recs[0]["metrics"] if recs else {})
            mae.append(summary.get("mae") if summary.get("mae") is not None else np.nan)
            w5.append(summary.get("within_5bpm") if summary.get("within_5bpm") is not None else np.nan)
        ax_mae.bar(x + (j - (len(methods) - 1) / 2) * width, mae, width, label=m)
        ax_w5.bar(x + (j - (len(methods) - 1) / 2) * width, 100 * np.asarray(w5, float), width, label=m)
    for i, ds in enumerate(datasets):
        base = constant_baseline(by_ds[ds][0])
        if base is not None:
            for ax, v in ((ax_mae, base.get("mae")), (ax_w5, 100 * (base.get("within_5bpm") or 0.0))):
                ax.plot([i - 0.45, i + 0.45], [v, v], "k--", lw=1, label="constant answer" if i == 0 else None)
    for ax, label in ((ax_mae, "MAE (bpm, lower is better)"), (ax_w5, "within 5 bpm (%, higher is better)")):
        ax.set_xticks(x, datasets, rotation=20, ha="right")
        ax.set_ylabel(label)
    ax_w5.set_ylim(0, 100)
    handles, labels = ax_mae.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png")
    return path


def merge_results(dirs: list[str | Path], out: str | Path) -> dict[str, Any]:
    """Join the cell records of ``dirs`` (shards of one suite) into ``out`` and write its
    report.  A cell recorded in two shards is kept once when both agree on its settings;
    records of different suites are an error."""
    from pulsecl.io import write_json

    if not dirs:
        raise ConfigError("bench merge: give the result folders to merge")
    out = Path(out)
    merged: dict[str, tuple[dict[str, Any], Path]] = {}
    suite_hash: tuple[str, Path] | None = None
    for d in map(Path, dirs):
        if not (d / "cells").is_dir():
            raise DataError(f"bench merge: '{d}' holds no benchmark results (no cells/ folder); give folders written by pulsecl bench --out")
        for rec in load_records(d):
            h = rec["suite"]["hash"]
            if suite_hash is None:
                suite_hash = (h, d)
            elif h != suite_hash[0]:
                raise ConfigError(
                    f"bench merge: '{d}' holds results of another suite ('{rec['suite']['name']}', hash {h}) than "
                    f"'{suite_hash[1]}' (hash {suite_hash[0]}); merge shards of one suite only"
                )
            have = merged.get(rec["cell"])
            if have is None or (have[0].get("status") != "done" and rec.get("status") == "done"):
                merged[rec["cell"]] = (rec, d)
    if not merged:
        raise DataError(f"bench merge: no cell records in {', '.join(map(str, dirs))}")
    out.mkdir(parents=True, exist_ok=True)
    for cell, (rec, src) in merged.items():
        path = out / "cells" / (cell.replace("/", "--") + ".json")
        if path.resolve() != (src / "cells" / path.name).resolve():
            write_json(path, rec)
    records = sorted((r for r, _ in merged.values()), key=_order)
    write_json(out / "suite.json", {"name": records[0]["suite"]["name"], "hash": records[0]["suite"]["hash"],
                                    "merged_from": [str(d) for d in dirs]})
    return write_report(out, records=records)
