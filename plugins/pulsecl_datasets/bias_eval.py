"""Skin-patch videos with a mean reference heart rate per subject, in the layout of the
public bias-eval-rppg repository (A. Dasari et al., "Evaluation of biases in remote
photoplethysmography methods", npj Digital Medicine 2021; MIT licence).

Layout::

    ROOT/Data/<country>/<video>_<region>.avi      e.g. Data/India/video10_forehead.avi
    ROOT/Ground_Truth/<country>_GT.csv            rows "videoNN,HR" (header, maybe a BOM)

Each subject's face video was cut into skin patches (``forehead``, ``leftcheek``,
``rightcheek``); every patch is one record, and the patches of one video share a subject
(``<country>/<video>``), so subject-wise splits never separate them.  The reference is a
pulse oximeter's mean heart rate (``meta["hr"]``, bpm): there is no reference waveform,
so the records are unlabelled for training (``labelled`` is False) and carry the mean
rate for evaluation.  The patches show skin only: preprocess them with
``preprocess.roi = "full"``.

One defect of the public data is handled here: India/video17 and India/video22 are the
same recording listed twice, with references of 71.5 and 72.9 bpm (their traces'
frame-to-frame changes correlate at 0.9999).  Both keep their rows, under one subject
(:data:`SAME_RECORDING`), so that no subject-wise split puts the recording on both
sides.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from pulsecl.data import Dataset, VideoRecord, natural_key
from pulsecl.errors import DataError
from pulsecl_datasets._common import visible_dirs

__all__ = ["SAME_RECORDING", "BiasEval", "read_hr_table"]

#: Subjects listed twice under two names: the second is the first one's subject.
SAME_RECORDING: dict[str, str] = {"India/video22": "India/video17"}

_NAME = re.compile(r"^(?P<video>.+?)_(?P<region>[A-Za-z]+)$")


def read_hr_table(path: Path) -> dict[str, float]:
    """``{video: mean HR bpm}`` from a ``<country>_GT.csv`` (header row, optional BOM)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"ground truth '{path}' cannot be read: {exc.strerror}") from None
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    out: dict[str, float] = {}
    for n, row in enumerate(rows[1:], 2):
        if len(row) < 2:
            raise DataError(f"ground truth '{path}', line {n}: expected 'video,HR', got {','.join(row)!r}")
        try:
            out[row[0].strip()] = float(row[1])
        except ValueError:
            raise DataError(f"ground truth '{path}', line {n}: heart rate {row[1].strip()!r} is not a number") from None
    if not out:
        raise DataError(f"ground truth '{path}' has no rows under its header")
    return out


class BiasEval(Dataset):
    """bias-eval-rppg skin patches (module docstring)."""

    name = "bias-eval"
    priority = 20

    @classmethod
    def matches(cls, root: Path) -> bool:
        gt = root / "Ground_Truth"
        return (root / "Data").is_dir() and gt.is_dir() and any(gt.glob("*_GT.csv"))

    def records(self) -> list[VideoRecord]:
        data, gt_dir = self.root / "Data", self.root / "Ground_Truth"
        if not data.is_dir() or not gt_dir.is_dir():
            raise DataError(f"'{self.root}' is not a bias-eval folder: it needs Data/ and Ground_Truth/")
        out = []
        for country in visible_dirs(data):
            table_path = gt_dir / f"{country.name}_GT.csv"
            if not table_path.is_file():
                raise DataError(f"bias-eval: videos in '{country}' have no ground truth '{table_path}'")
            table = read_hr_table(table_path)
            for video in sorted(country.glob("*.avi"), key=lambda p: natural_key(p.name)):
                m = _NAME.match(video.stem)
                name = m.group("video") if m else video.stem
                if name not in table:
                    raise DataError(f"bias-eval: '{video.name}' has no row '{name}' in '{table_path}'")
                out.append(
                    VideoRecord(
                        id=f"{country.name}/{video.stem}",
                        subject=SAME_RECORDING.get(f"{country.name}/{name}", f"{country.name}/{name}"),
                        source=str(video),
                        meta={"dataset": self.name, "synthetic": False, "hr": table[name],
                              "region": m.group("region") if m else ""},
                        label=str(table_path),
                    )
                )
        if not out:
            raise DataError(f"bias-eval folder '{self.root}' has no .avi videos under Data/<country>/")
        return out
