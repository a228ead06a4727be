"""UBFC-rPPG (Bobbia et al., "Unsupervised skin tissue segmentation for remote
photoplethysmography", Pattern Recognition Letters 2019).

Layouts, one folder per video (``subject1``, ``subject3``, ... or ``5-gt``, ...), the video
``vid.avi`` (the original) or another container of the same name (``vid.mp4``: re-encoded
copies such as ``shared/realdata/ubfc-dev``):

* DATASET_2: ``vid.avi`` and ``ground_truth.txt``: three whitespace-separated rows, the
  PPG signal, the heart rate (bpm) and the timestamps (s), one column per sample.
* DATASET_1: ``vid.avi`` and ``gtdump.xmp``: comma-separated rows of time (ms), heart
  rate, SpO2, PPG.

pulsecl's synthetic generator writes DATASET_2 (plus ``params.json``); such subjects
are marked ``meta["synthetic"] = True`` and carry their true mean heart rate in
``meta["hr"]``.  Each folder is its own subject.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pulsecl.data import Dataset, VideoRecord
from pulsecl.errors import ConfigError, DataError
from pulsecl_datasets._common import read_rows, visible_dirs

__all__ = ["UBFCrPPG", "read_dataset2", "read_dataset1"]

_LAYOUTS = ("auto", "DATASET_1", "DATASET_2")
_GT2 = "ground_truth.txt"
_GT1 = "gtdump.xmp"
_VIDEOS = ("vid.avi", "vid.mp4", "vid.mkv", "vid.mov")


def _video(d: Path) -> Path:
    """The folder's video: the first of :data:`_VIDEOS` that exists (``vid.avi`` if none)."""
    return next((d / n for n in _VIDEOS if (d / n).is_file()), d / _VIDEOS[0])


def read_dataset2(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(t (N,) s from the first sample, ppg (N,))`` from a DATASET_2 ``ground_truth.txt``.

    The first sample is the first frame: some copies' time rows start at 1.6-23.6 s
    (``shared/realdata/ubfc-dev/README.md``), so the row is counted from its first value."""
    rows = read_rows(path)
    if len(rows) < 3:
        raise DataError(
            f"ground truth '{path}' has {len(rows)} row(s); UBFC-rPPG DATASET_2 has three "
            "(PPG, heart rate, timestamps)"
        )
    ppg, hr, t = rows[:3]
    if not ppg.size == hr.size == t.size:
        raise DataError(
            f"ground truth '{path}': rows have {ppg.size}, {hr.size} and {t.size} values; "
            "the PPG, heart-rate and timestamp rows must be the same length"
        )
    return t - t[0], ppg


def read_dataset1(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(t (N,) s from the first sample, ppg (N,))`` from a DATASET_1 ``gtdump.xmp``."""
    rows = read_rows(path)
    widths = {r.size for r in rows}
    if len(widths) != 1 or min(widths) < 4:
        raise DataError(
            f"ground truth '{path}': expected rows of 4 comma-separated values (time ms, HR, "
            f"SpO2, PPG), found rows of {sorted(widths)} values"
        )
    table = np.vstack(rows)
    t = (table[:, 0] - table[0, 0]) / 1000.0
    return t, table[:, 3]


class UBFCrPPG(Dataset):
    """UBFC-rPPG, DATASET_2 or DATASET_1 layout (``layout="auto"`` tells per folder)."""

    name = "ubfc-rppg"
    priority = 20
    # unreliable reference pulse: the usual test exclusions
    literature_exclusions = ("subject11", "subject18", "subject20", "subject24")

    def __init__(self, root: str, layout: str = "auto"):
        super().__init__(root)
        if layout not in _LAYOUTS:
            raise ConfigError(f"ubfc-rppg: layout = '{layout}': use one of {', '.join(_LAYOUTS)}")
        self.layout = layout

    @classmethod
    def matches(cls, root: Path) -> bool:
        return any(
            _video(d).is_file() and ((d / _GT2).is_file() or (d / _GT1).is_file())
            for d in visible_dirs(root)
        )

    def records(self) -> list[VideoRecord]:
        out = []
        for d in visible_dirs(self.root):
            video = _video(d)
            gt2, gt1 = d / _GT2, d / _GT1
            has2 = gt2.is_file() and self.layout in ("auto", "DATASET_2")
            has1 = gt1.is_file() and self.layout in ("auto", "DATASET_1")
            if not video.exists():
                if has1 or has2:
                    raise DataError(f"UBFC-rPPG folder '{d}' has ground truth but no video ({', '.join(_VIDEOS)})")
                continue
            if has2:
                gt, reader, layout = gt2, read_dataset2, "DATASET_2"
            elif has1:
                gt, reader, layout = gt1, read_dataset1, "DATASET_1"
            else:
                want = {"auto": f"{_GT2} or {_GT1}", "DATASET_2": _GT2, "DATASET_1": _GT1}[self.layout]
                raise DataError(f"UBFC-rPPG video '{video}' has no ground truth ({want}) beside it")
            meta = {"dataset": self.name, "layout": layout, "synthetic": False}
            params = d / "params.json"
            if params.is_file():
                try:
                    info = json.loads(params.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise DataError(f"'{params}' is not valid JSON: {exc}") from None
                if isinstance(info, dict) and info.get("generator") == "pulsecl.synthetic":
                    meta.update(synthetic=True, params=str(params), hr=float(info["hr_mean_bpm"]))
            out.append(
                VideoRecord(
                    id=d.name,
                    subject=d.name,
                    source=str(video),
                    meta=meta,
                    loader=(lambda gt=gt, reader=reader: reader(gt)),
                    label=str(gt),
                )
            )
        if not out:
            raise DataError(
                f"'{self.root}' has no UBFC-rPPG subjects (folders with vid.avi or vid.mp4 and "
                f"{_GT2} or {_GT1})"
            )
        return out
