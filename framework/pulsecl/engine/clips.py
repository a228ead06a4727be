"""Training and evaluation data: videos -> cached face crops -> random clips.

:func:`load_videos` resolves ``--data PATH`` to a dataset plugin (or a folder of
unlabelled videos), splits it by subject, and runs every video through the video
pipeline (cached on disk, memory-mapped).  :class:`ClipSampler` then draws fixed-length
training clips, deterministically from a ``torch.Generator``: the same seed gives the same
clips, whether in one process or sliced across ranks.  Every clip carries a *group*: the
index of its video's subject among the sampler's subjects.  Clips of one group share a
pulse (the same video, or patches of one recording), so a loss that takes other clips of
the batch as negatives must skip those of the anchor's own group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pulsecl.config import Config
from pulsecl.errors import DataError

__all__ = ["SAMPLING", "Video", "load_videos", "pseudo_labelled", "ClipSampler", "Batch"]


@dataclass
class Video:
    """One preprocessed video: uint8 RGB face crops (T, S, S, 3) and what goes with them."""

    id: str
    subject: str
    frames: np.ndarray
    timestamps: np.ndarray
    fs: float
    ppg: np.ndarray | None = None  # reference pulse on the frame timestamps (T,), if labelled
    frames_without_face: int = 0
    source: str = ""
    hr: float | None = None  # mean reference heart rate in bpm, when known

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])


def load_videos(
    config: Config,
    root: str | Path,
    split: str = "all",
    labels: bool = True,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> list[Video]:
    """Preprocess (or reuse the cache of) every video of ``split`` under ``root``.

    ``split``: ``all`` | ``train`` | ``val`` | ``test``, subject-wise, following
    ``data.exclude``, ``data.folds``/``data.fold`` and ``data.val_fraction``
    (:func:`pulsecl.data.select_split`).  ``labels=False`` never reads a reference pulse
    (self-supervised training).
    """
    from pulsecl.data import open_dataset, select_split
    from pulsecl.video import preprocess

    root = Path(root)
    if not root.exists():
        raise DataError(f"data path '{root}' does not exist")
    dataset = open_dataset(root, config.data.dataset)
    records = select_split(dataset.records(), config.data, split, seed=config.train.seed,
                           literature=dataset.literature_exclusions)
    if not records:
        raise DataError(f"'{root}' has no videos in split '{split}' (after exclusions {config.data.exclude})")
    cache = Path(config.data.cache) if config.data.cache else root / ".pulsecl-cache"
    videos = []
    for rec in records:
        clip = preprocess(rec.source, config.preprocess, cache_dir=cache, progress=progress)
        ppg = None
        if labels and rec.labelled:
            ppg = np.asarray(rec.reference(np.asarray(clip.timestamps)), dtype=np.float32)
        hr = rec.meta.get("hr") if labels else None
        videos.append(
            Video(
                id=str(rec.id),
                subject=str(rec.subject),
                frames=clip.frames,
                timestamps=np.asarray(clip.timestamps),
                fs=float(clip.fs),
                ppg=ppg,
                frames_without_face=int(clip.frames_without_face),
                source=str(rec.source),
                hr=float(hr) if hr is not None else None,
            )
        )
        if log:
            log(f"{rec.id}: {clip.n_frames} frames at {clip.fs:.2f} fps")
    return videos


#: How :class:`ClipSampler` picks clips (``data.sampling``).
SAMPLING = ("uniform", "subjects")


@dataclass
class Batch:
    """A batch of clips.  x: (B, 3, T, H, W) float in [0, 1]; fs: (B,); target: (B, T) or
    None; groups: (B,) int64, the subject index of each clip's video (:attr:`ClipSampler.groups`)."""

    x: "torch.Tensor"  # noqa: F821
    fs: "torch.Tensor"  # noqa: F821
    target: "torch.Tensor | None"  # noqa: F821
    video_index: list[int]
    start: list[int]
    groups: "torch.Tensor | None" = None  # noqa: F821


#: Videos shorter than this get a zero pseudo-label (the band-pass needs this many frames).
PSEUDO_MIN_FRAMES = 16


def pseudo_labelled(
    videos: Sequence[Video], method: str, band_bpm: Sequence[float], despike: bool = True, chunk: int = 300
) -> list[Video]:
    """Each video with its ``ppg`` replaced by a classical method's pulse on its own crops:
    pseudo-labels for self-supervised training (``data.pseudo_labels``).

    The trace is the one ``predict`` gives the method (skin pixels of each crop, or the whole
    crop when skin is scarce; despiked unless ``despike=False``), band-passed to
    ``band_bpm`` and scaled to zero mean and unit variance, on the frames' timestamps.
    Nothing of the videos' own reference pulses is read.  The crops are read ``chunk``
    frames at a time (they are memory-mapped from the cache).  A video of fewer than
    :data:`PSEUDO_MIN_FRAMES` frames, too short for the band-pass (and for a training clip),
    gets zeros.
    """
    import dataclasses

    from pulsecl.extractors import TracePulse, uniform_grid
    from pulsecl.signal.common import band_hz as to_hz
    from pulsecl.signal.processing import bandpass

    band_hz = to_hz(band_bpm, "signal.band_bpm")
    out = []
    for v in videos:
        if v.n_frames < PSEUDO_MIN_FRAMES:  # too short for the band-pass, and for any training clip
            out.append(dataclasses.replace(v, ppg=np.zeros(v.n_frames, np.float32)))
            continue
        ts = np.asarray(v.timestamps, dtype=np.float64)
        extractor = TracePulse(method, band_bpm=band_bpm, despike=despike)
        for start in range(0, v.n_frames, chunk):  # a chunk of crops in memory at a time
            extractor.feed(np.asarray(v.frames[start : start + chunk]), ts[start : start + chunk])
        extractor.finish()
        grid, fs = uniform_grid(ts)
        pulse = bandpass(extractor.pulse(grid, fs), fs, band_hz)
        pulse = (pulse - pulse.mean()) / max(float(pulse.std()), 1e-12)
        out.append(dataclasses.replace(v, ppg=np.interp(ts, grid, pulse).astype(np.float32)))
    return out


class ClipSampler:
    """Draws clips of ``clip_frames`` frames from the videos.

    ``sampling="uniform"``: every valid (video, start) is equally likely, so long videos
    give most clips.  ``sampling="subjects"``: the clips of a batch come from distinct
    subjects while there are subjects left (each subject equally likely), and from a
    uniform (video, start) of that subject; a batch larger than the number of subjects
    starts another round.  Distinct subjects give a loss that contrasts clips of other
    videos (``mvtl`` ``cross_weight``) the most negatives per batch.

    Sampling depends only on the generator's state, so a saved generator state replays
    the same clips (exact resume), and ranks that share a seed draw the same global batch
    and keep their own slice (multi-process training).  :attr:`groups` gives each video's
    subject index (sorted subject names), the same on every rank.
    """

    def __init__(
        self, videos: Sequence[Video], clip_frames: int, need_target: bool = False, sampling: str = "uniform"
    ):
        if sampling not in SAMPLING:
            raise DataError(f"data.sampling = '{sampling}': use one of {', '.join(SAMPLING)}")
        self.sampling = sampling
        self.videos = list(videos)
        self.clip_frames = int(clip_frames)
        if need_target:
            missing = [v.id for v in self.videos if v.ppg is None]
            if missing:
                raise DataError(
                    f"supervised training needs a reference pulse, but video '{missing[0]}' has "
                    "none; use a labelled dataset or train.mode = 'contrastive'"
                )
        self.need_target = need_target
        usable = [v for v in self.videos if v.n_frames >= self.clip_frames]
        if not usable:
            longest = max((v.n_frames for v in self.videos), default=0)
            raise DataError(
                f"no video has {self.clip_frames} frames for a training clip (longest: "
                f"{longest}); lower data.clip_frames or give longer videos"
            )
        self._counts = np.array([max(0, v.n_frames - self.clip_frames + 1) for v in self.videos])
        self._cum = np.cumsum(self._counts)
        names = sorted({str(v.subject) for v in self.videos})
        self.subjects = names
        self.groups = [names.index(str(v.subject)) for v in self.videos]  # video -> group
        # per usable subject: its videos' start counts, for "subjects" sampling
        self._by_subject = []
        for g in range(len(names)):
            idx = [i for i, v in enumerate(self.videos) if self.groups[i] == g and self._counts[i] > 0]
            if idx:
                self._by_subject.append((np.array(idx), np.cumsum(self._counts[idx])))

    @property
    def total_starts(self) -> int:
        return int(self._cum[-1])

    def epoch_steps(self, batch_size: int) -> int:
        """Steps for one pass over the data's frames (at least 1)."""
        frames = sum(v.n_frames for v in self.videos if v.n_frames >= self.clip_frames)
        return max(1, frames // (self.clip_frames * batch_size))

    def draw(self, batch_size: int, generator, rank: int = 0, world_size: int = 1) -> Batch:
        """The global batch of ``batch_size * world_size`` clips; this rank's slice."""
        import torch

        total = batch_size * world_size
        picks = self._picks(total, generator)[rank * batch_size : (rank + 1) * batch_size]
        xs, fss, targets, vids, starts = [], [], [], [], []
        for vi, start in picks:
            v = self.videos[vi]
            clip = np.asarray(v.frames[start : start + self.clip_frames])  # (T, H, W, 3)
            xs.append(torch.from_numpy(np.array(clip)))  # a writable copy
            fss.append(v.fs)
            vids.append(vi)
            starts.append(start)
            if self.need_target:
                targets.append(torch.from_numpy(np.asarray(v.ppg[start : start + self.clip_frames], np.float32)))
        x = torch.stack(xs).permute(0, 4, 1, 2, 3).float().div_(255.0)  # b t h w c -> b c t h w
        target = torch.stack(targets) if self.need_target else None
        groups = torch.tensor([self.groups[vi] for vi in vids], dtype=torch.long)
        return Batch(x, torch.tensor(fss, dtype=torch.float32), target, vids, starts, groups)

    def _picks(self, total: int, generator) -> list[tuple[int, int]]:
        """``total`` (video index, start) pairs, from the generator alone."""
        import torch

        if self.sampling == "uniform":
            out = []
            for p in torch.randint(0, self.total_starts, (total,), generator=generator).tolist():
                vi = int(np.searchsorted(self._cum, p, side="right"))
                out.append((vi, p - (int(self._cum[vi - 1]) if vi else 0)))
            return out
        n = len(self._by_subject)
        order: list[int] = []
        while len(order) < total:  # rounds of distinct subjects
            order += torch.randperm(n, generator=generator).tolist()
        out = []
        for g in order[:total]:
            idx, cum = self._by_subject[g]
            p = int(torch.randint(0, int(cum[-1]), (1,), generator=generator))
            k = int(np.searchsorted(cum, p, side="right"))
            out.append((int(idx[k]), p - (int(cum[k - 1]) if k else 0)))
        return out
