"""Datasets as lists of videos, and subject-wise splits.

A dataset plugin (``datasets`` table) is built with ``pulsecl.build("datasets", name,
root=...)`` and returns a :class:`Dataset`, whose ``records()`` lists
:class:`VideoRecord`s: an id, a subject, a source (video file or folder of frames) and,
when labelled, a reference pulse that :meth:`VideoRecord.reference` resamples onto the
frame timestamps of the preprocessed video.

Splits are by **subject**, so no subject is in both training and test:
:func:`subject_split` (a held-out fraction, seeded) and :func:`kfold` (k folds of
subjects).  :func:`exclude` leaves out subjects or videos by name; the name
``"literature"`` stands for the exclusions usual in the literature for the dataset,
which its plugin declares (:attr:`Dataset.literature_exclusions`), and is the default of
``data.exclude``.

:func:`guess_dataset` names the dataset plugin whose layout a folder has (``data.dataset
= "auto"``): every dataset class may say whether a folder ``matches`` its layout, with a
``priority`` to prefer specific layouts over generic ones.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pulsecl.errors import ConfigError, DataError, did_you_mean

__all__ = [
    "LITERATURE",
    "Dataset",
    "VideoRecord",
    "exclude",
    "guess_dataset",
    "kfold",
    "natural_key",
    "open_dataset",
    "resample_reference",
    "select_split",
    "subject_split",
    "subjects",
]

#: The token in ``data.exclude`` that stands for the dataset's
#: :attr:`Dataset.literature_exclusions`.
LITERATURE = "literature"


def natural_key(text: str) -> list[Any]:
    """Sort key that orders ``subject2`` before ``subject10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


# ----------------------------------------------------------------------------------------
# Records
# ----------------------------------------------------------------------------------------


def resample_reference(
    t_ref: np.ndarray | None,
    values: np.ndarray,
    timestamps: np.ndarray,
    label: str,
    tolerance_s: float = 1.0,
) -> np.ndarray:
    """Resample a reference pulse onto frame ``timestamps`` (T,) s: returns (T,) float64.

    ``t_ref`` (N,) seconds on the same clock as the frames, or None when the reference
    has one sample per frame (then N must equal T).  A reference that does not cover the
    video (beyond ``tolerance_s`` at either end), has non-finite values or times that go
    backwards raises :class:`DataError` naming ``label`` (the ground-truth file).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    ts = np.asarray(timestamps, dtype=np.float64).ravel()
    if v.size < 2:
        raise DataError(f"ground truth '{label}' has {v.size} sample(s); a reference pulse needs many")
    if not np.all(np.isfinite(v)):
        raise DataError(f"ground truth '{label}' has non-numeric or infinite pulse values")
    if t_ref is None:
        if v.size != ts.size:
            raise DataError(
                f"ground truth '{label}' has {v.size} samples but the video has {ts.size} frames; "
                "give one sample per frame, or timestamps for the samples"
            )
        return v.copy()
    t = np.asarray(t_ref, dtype=np.float64).ravel()
    if t.size != v.size:
        raise DataError(f"ground truth '{label}' has {v.size} pulse samples but {t.size} timestamps")
    if not np.all(np.isfinite(t)):
        raise DataError(f"ground truth '{label}' has non-numeric timestamps")
    steps = np.diff(t)
    if np.any(steps < 0):
        raise DataError(f"ground truth '{label}': timestamps go backwards at sample {int(np.argmax(steps < 0)) + 1}")
    keep = np.concatenate([[True], steps > 0])  # drop repeated times
    t, v = t[keep], v[keep]
    if ts.size and (ts[0] < t[0] - tolerance_s or ts[-1] > t[-1] + tolerance_s):
        raise DataError(
            f"ground truth '{label}' covers {t[0]:.2f}-{t[-1]:.2f} s but the video runs "
            f"{ts[0]:.2f}-{ts[-1]:.2f} s: wrong length (truncated, or from another video)"
        )
    return np.interp(ts, t, v)


@dataclass
class VideoRecord:
    """One video of a dataset.

    ``id``: unique within the dataset (e.g. ``subject3``, ``07-02``); ``subject``: who is
    filmed (splits never separate a subject's videos); ``source``: a video file or a
    folder of frames (anything :func:`pulsecl.video.open_source` opens); ``meta``: what
    else the loader knows (``dataset``, ``synthetic``, ``hr`` mean bpm, ...);
    ``loader``: returns ``(t_ref (N,) s or None, ppg (N,))`` for labelled videos, None for
    unlabelled ones; ``label``: the ground-truth file, for messages.
    """

    id: str
    subject: str
    source: str
    meta: dict[str, Any] = field(default_factory=dict)
    loader: Callable[[], tuple[np.ndarray | None, np.ndarray]] | None = field(default=None, repr=False)
    label: str = ""

    @property
    def labelled(self) -> bool:
        return self.loader is not None

    def reference_signal(self) -> tuple[np.ndarray | None, np.ndarray] | None:
        """The reference as stored: ``(t_ref (N,) s or None, ppg (N,))``, or None."""
        return None if self.loader is None else self.loader()

    def reference(self, timestamps: np.ndarray) -> np.ndarray | None:
        """The reference pulse resampled onto ``timestamps`` (T,) s -> (T,), or None when
        the video is unlabelled."""
        if self.loader is None:
            return None
        t_ref, ppg = self.loader()
        return resample_reference(t_ref, ppg, timestamps, self.label or self.id)


class Dataset(ABC):
    """Base class of dataset plugins: ``records()`` lists the videos under ``root``.

    Class attributes used by :func:`guess_dataset`: ``priority`` (higher wins when
    several layouts match) and :meth:`matches`.  ``name`` is the registry name;
    ``literature_exclusions`` the video ids or subjects the literature usually leaves
    out of this dataset (unreliable reference), what ``data.exclude = ["literature"]``
    drops (never from synthetic data in the dataset's layout).
    """

    name: str = ""
    priority: int = 0
    literature_exclusions: tuple[str, ...] = ()

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        if not self.root.exists():
            raise DataError(f"dataset folder '{self.root}' does not exist")
        if not self.root.is_dir():
            raise DataError(f"dataset root '{self.root}' is a file; give the folder that holds the dataset")

    @abstractmethod
    def records(self) -> list[VideoRecord]:
        """Every video of the dataset, sorted by id."""

    @classmethod
    def matches(cls, root: Path) -> bool:
        """Whether ``root`` has this dataset's layout (cheap: looks at names only)."""
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"


# ----------------------------------------------------------------------------------------
# Choosing and opening a dataset
# ----------------------------------------------------------------------------------------


def _component_class(component: Any) -> Any:
    """The class behind a registry entry (a :func:`pulsecl.registry.lazy` factory is
    resolved: the dataset modules are light)."""
    factory = component.factory
    try:
        return getattr(factory, "resolved", factory)
    except Exception:  # noqa: BLE001 - a plugin whose module fails to import cannot match
        return None


def guess_dataset(root: str | os.PathLike[str]) -> str:
    """Name of the dataset plugin whose layout ``root`` has (highest priority wins)."""
    from pulsecl.plugins import get_plugin_manager

    path = Path(root)
    if not path.exists():
        raise DataError(f"data folder '{path}' does not exist")
    if not path.is_dir():
        raise DataError(f"data path '{path}' is a file, not a dataset folder; preprocess or predict a single video directly")
    table = get_plugin_manager().table("datasets")
    found: list[tuple[int, str]] = []
    for name in table.names():
        cls = _component_class(table.get(name))
        test = getattr(cls, "matches", None)
        if callable(test) and test(path):
            found.append((int(getattr(cls, "priority", 0)), name))
    if not found:
        raise DataError(
            f"'{path}' has no videos in a layout pulsecl knows (no video files, no UBFC-rPPG "
            f"or PURE folders); set data.dataset to one of: {', '.join(table.names())}"
        )
    found.sort(key=lambda pn: (-pn[0], pn[1]))
    return found[0][1]


def open_dataset(root: str | os.PathLike[str], name: str = "auto", **options: Any) -> Dataset:
    """Build dataset plugin ``name`` (or the guessed one for ``"auto"``) on ``root``."""
    import pulsecl

    if name == "auto":
        name = guess_dataset(root)
    return pulsecl.build("datasets", name, root=str(root), **options)


# ----------------------------------------------------------------------------------------
# Exclusions and splits
# ----------------------------------------------------------------------------------------


def subjects(records: Sequence[VideoRecord]) -> list[str]:
    """Distinct subjects, naturally sorted."""
    return sorted({str(r.subject) for r in records}, key=natural_key)


def exclude(
    records: Sequence[VideoRecord], names: Sequence[str], literature: Sequence[str] = ()
) -> list[VideoRecord]:
    """Records whose id and subject are not in ``names``.

    ``"literature"`` in ``names`` adds ``literature``, the dataset's usual exclusions
    (:attr:`Dataset.literature_exclusions`; never applied to synthetic records).  Any
    other name that matches no record id or subject is a :class:`ConfigError` (a typo
    would otherwise keep a video silently).
    """
    explicit = {str(n) for n in names if str(n) != LITERATURE}
    use_literature = LITERATURE in {str(n) for n in names}
    known = {str(r.id) for r in records} | {str(r.subject) for r in records}
    for name in sorted(explicit):
        if name not in known:
            raise ConfigError(
                f"data.exclude: '{name}' is no video id or subject of this dataset"
                f"{did_you_mean(name, sorted(known))}"
            )
    out = []
    for r in records:
        drop = set(explicit)
        if use_literature and not r.meta.get("synthetic"):
            drop |= {str(n) for n in literature}
        if str(r.id) in drop or str(r.subject) in drop:
            continue
        out.append(r)
    return out


def subject_split(
    records: Sequence[VideoRecord], val_fraction: float, seed: int = 0
) -> tuple[list[VideoRecord], list[VideoRecord]]:
    """``(train, held_out)`` with a ``val_fraction`` of the subjects held out.

    Subjects are shuffled with ``seed``; at least one subject lands on each side when
    ``0 < val_fraction < 1`` and there are two or more subjects.  ``val_fraction = 0``
    holds out nothing.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"data.val_fraction = {val_fraction}: give a fraction in [0, 1)")
    subs = subjects(records)
    if val_fraction == 0.0:
        return list(records), []
    if len(subs) < 2:
        raise DataError(
            f"only {len(subs)} subject ({', '.join(subs) or 'none'}): cannot hold out subjects "
            "for validation; add subjects or set data.val_fraction = 0"
        )
    order = np.random.default_rng(seed).permutation(len(subs))
    n_held = int(np.clip(round(val_fraction * len(subs)), 1, len(subs) - 1))
    held = {subs[i] for i in order[:n_held]}
    return [r for r in records if r.subject not in held], [r for r in records if r.subject in held]


def kfold(
    records: Sequence[VideoRecord], k: int, fold: int, seed: int | None = None
) -> tuple[list[VideoRecord], list[VideoRecord]]:
    """``(train, test)`` for fold ``fold`` of ``k`` folds of subjects.

    Subjects are naturally sorted (shuffled first when ``seed`` is given) and cut into
    ``k`` contiguous groups of near-equal size; fold ``i`` tests on group ``i``.
    """
    subs = subjects(records)
    if not isinstance(k, int) or k < 2:
        raise ConfigError(f"data.folds = {k!r}: k-fold needs k >= 2 (0 turns k-fold off)")
    if k > len(subs):
        raise ConfigError(f"data.folds = {k}: only {len(subs)} subjects; use at most {len(subs)} folds")
    if not isinstance(fold, int) or not 0 <= fold < k:
        raise ConfigError(f"data.fold = {fold!r}: give a fold in 0-{k - 1}")
    if seed is not None:
        subs = [subs[i] for i in np.random.default_rng(seed).permutation(len(subs))]
    held = set(np.array_split(np.array(subs, dtype=object), k)[fold].tolist())
    return [r for r in records if r.subject not in held], [r for r in records if r.subject in held]


def select_split(
    records: Sequence[VideoRecord], data: Any, split: str | None = None, seed: int = 0, literature: Sequence[str] = ()
) -> list[VideoRecord]:
    """The records of ``split`` (default ``data.split``) under a ``DataConfig``.

    ``all``: everything; with ``data.folds = k > 0``: ``train`` = the other folds,
    ``test``/``val`` = fold ``data.fold``; otherwise ``train`` / ``val``/``test`` by
    :func:`subject_split` with ``data.val_fraction`` and ``seed``.  Exclusions are
    applied first (``literature``: the dataset's usual ones, see :func:`exclude`).
    """
    split = data.split if split is None else split
    if split not in ("all", "train", "val", "test"):
        raise ConfigError(f"data.split = '{split}': use all, train, val or test")
    records = exclude(records, data.exclude, literature)
    if split == "all":
        return records
    if data.folds:
        train, held = kfold(records, data.folds, data.fold)
    else:
        train, held = subject_split(records, data.val_fraction, seed=seed)
    return train if split == "train" else held
