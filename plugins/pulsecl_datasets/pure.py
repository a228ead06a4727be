"""PURE (Stricker, Müller & Gross, "Non-contact video-based pulse rate measurement on a
mobile service robot", IEEE RO-MAN 2014).

One session per ``NN-MM`` (subject NN, setup MM): PNG frames ``Image<timestamp_ns>.png``
and a JSON file with ``/FullPackage`` (pulse-oximeter samples, ~60 Hz, each with
``Timestamp`` in ns and ``Value.waveform``) and ``/Image`` (frame timestamps, ns).  Both
arrangements in circulation are read:

* ``root/NN-MM/NN-MM/Image*.png`` with ``root/NN-MM/NN-MM.json``, and
* ``root/NN-MM/Image*.png`` with ``root/NN-MM.json``.

Pulse times are taken relative to the first frame, the clock of the frame timestamps.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from pulsecl.data import Dataset, VideoRecord
from pulsecl.errors import DataError
from pulsecl.video.sources import IMAGE_EXTENSIONS
from pulsecl_datasets._common import visible_dirs

__all__ = ["PURE", "read_pure_json"]

_SESSION = re.compile(r"^(\d{2})-(\d{2})$")


def _has_images(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.iterdir())


def read_pure_json(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(t (N,) s from the first frame, waveform (N,))`` from a PURE session JSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"PURE ground truth '{path}' does not exist") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"PURE ground truth '{path}' is not readable JSON: {exc}") from None
    try:
        pulse = data["/FullPackage"]
        t = np.array([float(s["Timestamp"]) for s in pulse])
        v = np.array([float(s["Value"]["waveform"]) for s in pulse])
        images = data.get("/Image") or []
        t0 = float(images[0]["Timestamp"]) if images else float(t[0])
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise DataError(
            f"PURE ground truth '{path}': missing or malformed {exc} (expected /FullPackage "
            "entries with Timestamp and Value.waveform, and /Image entries with Timestamp)"
        ) from None
    return (t - t0) * 1e-9, v


class PURE(Dataset):
    """PURE: one record per session ``NN-MM``, subject ``NN``."""

    name = "pure"
    priority = 20
    literature_exclusions = ("07-02", "07-07")  # unreliable reference pulse: the usual test exclusions

    def __init__(self, root: str):
        super().__init__(root)

    @classmethod
    def matches(cls, root: Path) -> bool:
        return any(_SESSION.match(d.name) for d in visible_dirs(root)) and any(
            cls._locate(root, d) is not None for d in visible_dirs(root) if _SESSION.match(d.name)
        )

    @staticmethod
    def _locate(root: Path, d: Path) -> tuple[Path, Path] | None:
        """``(frames folder, json file)`` of session folder ``d``, or None."""
        inner = d / d.name
        frames = inner if _has_images(inner) else d if _has_images(d) else None
        if frames is None:
            return None
        for js in (d / f"{d.name}.json", root / f"{d.name}.json"):
            if js.is_file():
                return frames, js
        return frames, d / f"{d.name}.json"

    def records(self) -> list[VideoRecord]:
        out = []
        for d in visible_dirs(self.root):
            m = _SESSION.match(d.name)
            if not m:
                continue
            found = self._locate(self.root, d)
            if found is None:
                raise DataError(f"PURE session '{d}' has no frames (Image<timestamp>.png files)")
            frames, js = found
            if not js.is_file():
                raise DataError(
                    f"PURE session '{d.name}' has no ground truth: expected '{js}' or "
                    f"'{self.root / (d.name + '.json')}'"
                )
            out.append(
                VideoRecord(
                    id=d.name,
                    subject=m.group(1),
                    source=str(frames),
                    meta={"dataset": self.name, "setup": m.group(2), "synthetic": False},
                    loader=(lambda js=js: read_pure_json(js)),
                    label=str(js),
                )
            )
        if not out:
            raise DataError(f"'{self.root}' has no PURE sessions (folders named NN-MM with Image*.png frames)")
        return out
