"""The run folder's CSV logs (``log.csv``, ``epochs.csv``): rows appended all or none,
rows past a checkpoint dropped on resume, leftovers of a run killed before its first
checkpoint removed.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pulsecl.io import append_text

__all__ = ["append_csv_rows", "drop_orphan_logs", "epoch_losses", "truncate_csv"]


def append_csv_rows(path: Path, rows: list[dict]) -> None:
    """Append ``rows`` to the CSV at ``path`` (its header written first when new; the
    existing header's columns kept), all rows or none; a full disk is a StorageError."""
    if not rows:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    exists = path.exists()
    fields = list(rows[0])
    if exists:
        with open(path, newline="") as fh:
            header = next(csv.reader(fh), None)
        fields = header or fields
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    if not exists:
        writer.writeheader()
    writer.writerows(rows)
    append_text(path, buf.getvalue())


def drop_orphan_logs(run_dir: Path) -> None:
    """A fresh run in a folder without last.pt: log rows there are from a run killed
    before its first checkpoint, and would be mixed with this run's.  Only files that
    look like our logs (header ``epoch,step,...``) are removed."""
    for name in ("log.csv", "epochs.csv"):
        path = run_dir / name
        try:
            with open(path, newline="") as fh:
                header = fh.readline()
        except OSError:
            continue
        if header.startswith("epoch,step,"):
            path.unlink()


def epoch_losses(path: Path, epoch: int) -> list[float]:
    """The ``loss`` of every row of ``epoch`` in the step log at ``path`` (empty when
    there is none).  A resumed epoch's mean loss takes in the steps run before the
    interruption, which are in the log but no longer in memory; without them an epoch
    interrupted after its last step logged ``loss nan``."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return []
    out = []
    for row in rows:
        try:
            if int(float(row["epoch"])) == epoch:
                out.append(float(row["loss"]))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def truncate_csv(path: Path, upto: int, key: str = "step") -> None:
    """Drop log rows written after the checkpoint (they are replayed on resume).

    A process killed while appending leaves a half-written last line; that row, and any
    row whose fields do not match the header or whose ``key`` is not a number, is
    dropped rather than failing the resume."""
    if not path.exists():
        return
    with open(path, newline="") as fh:
        text = fh.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # the last line was cut off mid-write
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return
    fields, keep = rows[0], []
    for values in rows[1:]:
        if len(values) != len(fields):
            continue
        row = dict(zip(fields, values))
        try:
            if int(float(row[key])) <= upto:
                keep.append(row)
        except (KeyError, ValueError):
            continue
    from pulsecl.io import atomic_write

    with atomic_write(path, "w") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(keep)
