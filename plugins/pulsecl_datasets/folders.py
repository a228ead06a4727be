"""Folders of videos: labelled (a CSV of the reference pulse beside each video) and
unlabelled (for self-supervised training).

Videos are found up to three folders down (hidden folders skipped).  The subject of a
video is the first folder under the root it sits in, or, for videos directly in the
root, group 1 of ``subject_pattern`` matched on the file name without extension
(default: everything before the first ``_``; ``alice_02.mp4`` -> ``alice``).

Labelled: ``clip.mp4`` + ``clip.csv``.  The CSV has a pulse column (header ``ppg``,
``bvp``, ``pulse``, ``signal``, ``value`` or ``waveform``) and optionally a time column
(``time``, ``t``, ``timestamp``, ``seconds`` in s, or ``time_ms``/``timestamp_ms`` in ms);
without a header, two columns are (time s, pulse) and one column is the pulse.  Without
times, samples are at ``reference_fs`` Hz when given, else one per frame.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from pulsecl.data import Dataset, VideoRecord
from pulsecl.errors import ConfigError, DataError
from pulsecl.video.sources import VIDEO_EXTENSIONS
from pulsecl_datasets._common import find_videos, has_video

__all__ = ["LabelledFolder", "UnlabelledFolder", "read_pulse_csv"]

_PULSE_NAMES = ("ppg", "bvp", "pulse", "signal", "value", "waveform")
_TIME_S = ("time", "t", "timestamp", "timestamps", "seconds", "time_s")
_TIME_MS = ("time_ms", "timestamp_ms", "ms")


def read_pulse_csv(path: Path, reference_fs: float | None = None) -> tuple[np.ndarray | None, np.ndarray]:
    """``(t (N,) s or None, pulse (N,))`` from a reference CSV (see the module docstring)."""
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except FileNotFoundError:
        raise DataError(f"reference pulse '{path}' does not exist") from None
    except OSError as exc:
        raise DataError(f"reference pulse '{path}' cannot be read: {exc.strerror}") from None
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise DataError(f"reference pulse '{path}' is empty")
    split = lambda ln: [c.strip() for c in re.split(r"[,;\t ]+", ln) if c.strip()]  # noqa: E731
    header = split(lines[0])
    t_col, t_scale, v_col = None, 1.0, None
    if any(re.search(r"[A-Za-z]", h) and not _is_number(h) for h in header):
        names = [h.lower() for h in header]
        lines = lines[1:]
        for i, n in enumerate(names):
            if n in _TIME_S and t_col is None:
                t_col = i
            elif n in _TIME_MS and t_col is None:
                t_col, t_scale = i, 1e-3
            elif n in _PULSE_NAMES and v_col is None:
                v_col = i
        if v_col is None:
            raise DataError(
                f"reference pulse '{path}': no pulse column in header {header}; name it one of "
                f"{', '.join(_PULSE_NAMES)}"
            )
    if not lines:
        raise DataError(f"reference pulse '{path}' has a header but no samples")
    try:
        table = np.array([[float(c) for c in split(ln)] for ln in lines], dtype=np.float64)
    except ValueError:
        raise DataError(f"reference pulse '{path}': a row is not numeric, or rows differ in length") from None
    if table.ndim != 2:
        raise DataError(f"reference pulse '{path}': rows differ in length")
    if v_col is None:  # no header
        if table.shape[1] == 1:
            v_col = 0
        elif table.shape[1] == 2:
            t_col, v_col = 0, 1
        else:
            raise DataError(
                f"reference pulse '{path}' has {table.shape[1]} unnamed columns; add a header "
                "naming the time and pulse columns (e.g. time,ppg)"
            )
    if max(v_col, t_col or 0) >= table.shape[1]:
        raise DataError(f"reference pulse '{path}': rows are shorter than the header")
    values = table[:, v_col]
    if t_col is not None:
        return table[:, t_col] * t_scale, values
    if reference_fs is not None:
        return np.arange(values.size) / float(reference_fs), values
    return None, values


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _VideoFolder(Dataset):
    def __init__(self, root: str, subject_pattern: str = r"^([^_]+)"):
        super().__init__(root)
        try:
            self._pattern = re.compile(subject_pattern)
        except re.error as exc:
            raise ConfigError(f"{self.name}: subject_pattern '{subject_pattern}' is not a regular expression: {exc}") from None
        if self._pattern.groups < 1:
            raise ConfigError(f"{self.name}: subject_pattern '{subject_pattern}' needs a group (...) that captures the subject")

    def _videos(self) -> list[Path]:
        videos = find_videos(self.root)
        if not videos:
            raise DataError(
                f"folder '{self.root}' has no videos ({', '.join(VIDEO_EXTENSIONS)}); "
                "give the folder that holds them"
            )
        return videos

    def _id_subject(self, video: Path) -> tuple[str, str]:
        rel = video.relative_to(self.root)
        vid = rel.with_suffix("").as_posix()
        if len(rel.parts) > 1:
            return vid, rel.parts[0]
        m = self._pattern.search(video.stem)
        return vid, (m.group(1) if m and m.group(1) else video.stem)


class LabelledFolder(_VideoFolder):
    """Videos each with a CSV of the reference pulse (same name, ``.csv``)."""

    name = "labelled-folder"
    priority = 10

    def __init__(self, root: str, reference_fs: float | None = None, subject_pattern: str = r"^([^_]+)"):
        super().__init__(root, subject_pattern)
        if reference_fs is not None and not reference_fs > 0:
            raise ConfigError(f"labelled-folder: reference_fs = {reference_fs!r}: give the CSV's sample rate in Hz")
        self.reference_fs = reference_fs

    @classmethod
    def matches(cls, root: Path) -> bool:
        videos = find_videos(root, depth=2)
        return bool(videos) and all(v.with_suffix(".csv").is_file() for v in videos)

    def records(self) -> list[VideoRecord]:
        out = []
        for video in self._videos():
            csv = video.with_suffix(".csv")
            if not csv.is_file():
                raise DataError(
                    f"labelled folder: video '{video}' has no reference pulse '{csv.name}' beside it; "
                    "add it, or use the 'unlabelled-folder' dataset"
                )
            vid, subject = self._id_subject(video)
            out.append(
                VideoRecord(
                    id=vid,
                    subject=subject,
                    source=str(video),
                    meta={"dataset": self.name, "synthetic": False},
                    loader=(lambda csv=csv: read_pulse_csv(csv, self.reference_fs)),
                    label=str(csv),
                )
            )
        return out


class UnlabelledFolder(_VideoFolder):
    """Videos without reference pulse (self-supervised training, prediction)."""

    name = "unlabelled-folder"
    priority = 0

    @classmethod
    def matches(cls, root: Path) -> bool:
        return has_video(root, depth=2)

    def records(self) -> list[VideoRecord]:
        out = []
        for video in self._videos():
            vid, subject = self._id_subject(video)
            out.append(VideoRecord(id=vid, subject=subject, source=str(video), meta={"dataset": self.name, "synthetic": False}))
        return out
