"""The trainer: self-supervised (frequency contrast) or supervised rPPG training.

One :class:`TrainingModule` holds the sampler and the backbone and runs the whole
forward pass of a step (sampler -> proxy views -> backbone on anchor and negatives ->
windows), so DistributedDataParallel wraps a module that is called once per step.

Self-supervised training reads no reference pulse.  With ``data.pseudo_labels = "pos"``
(or another classical method) each training video's own POS pulse, computed from its
crops when the videos are loaded (:func:`pulsecl.engine.clips.pseudo_labelled`), is the
``"target"`` of the losses that read one (``neg_pearson``), for the anchor's frames.

Determinism and exact resume: all randomness of a step (clip choice, resampling factors,
view offsets) comes from one ``torch.Generator``; dropout uses torch's global RNG.  Both
states are saved with the model and optimiser, so resuming from ``last.pt`` continues
exactly as an uninterrupted run would.  ``last.pt`` is written after every epoch and when
training is interrupted (Ctrl-C stops at the end of the current step; a second Ctrl-C
stops at once, still saving the state as of the last finished step).  An epoch's loss
in ``epochs.csv`` is the mean over all its steps, those logged before a resume included.

The run folder is one process's while it trains (:class:`pulsecl.io.FolderLock`): a
second ``train`` on it stops at once with an error naming the folder and the pid that
holds it.  Before the first step the trainer writes ``config.toml`` and ``run.json`` and
checks that a checkpoint fits in the folder (:func:`pulsecl.io.check_room`), so a full
disk is found before training, not after the first epoch.

The pieces of a step (:class:`TrainingModule`, the losses, the config checks) are in
:mod:`pulsecl.engine.step`; the run folder's CSV logs in :mod:`pulsecl.engine.runlog`;
the collapse probe in :mod:`pulsecl.engine.probe`.
"""

from __future__ import annotations

import copy
import math
import types
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import pulsecl
from pulsecl.config import Config, config_hash, config_to_dict, dump_toml
from pulsecl.engine import distributed
from pulsecl.engine.checkpoint import load_checkpoint, resolved_options, save_checkpoint
from pulsecl.engine.clips import ClipSampler, Video, load_videos, pseudo_labelled
from pulsecl.engine.device import autocast, choose_device, keep_freed_memory, keeps_memory_by_default
from pulsecl.errors import CheckpointError, ConfigError, DataError
from pulsecl.io import FolderLock, check_room, write_json, write_text
from pulsecl.engine.runlog import append_csv_rows, drop_orphan_logs, epoch_losses, truncate_csv
from pulsecl.engine.step import (
    PROXY_KEYS,
    TrainingModule, build_losses, build_view, check_augment, check_pseudo_labels, extra_negatives,
)
from pulsecl.plugins import get_plugin_manager

__all__ = ["START_STILL_TOLERANCE_DB", "TrainingModule", "Trainer", "TrainResult", "train"]

#: With --init, an epoch whose output for a still face stands more than this (dB) above the
#: start's never replaces the start as best.pt.
START_STILL_TOLERANCE_DB = 0.5


def band_hz(config: Config) -> tuple[float, float]:
    lo, hi = config.signal.band_bpm
    return lo / 60.0, hi / 60.0


@dataclass
class TrainResult:
    run_dir: Path
    epochs: int
    steps: int
    best_score: float
    interrupted: bool
    seconds: float = 0.0  # training time, summed over every resume (what time_budget_s counts)


class _StopFlag:
    """First Ctrl-C: stop after this step.  Second: KeyboardInterrupt at once."""

    def __init__(self):
        self.requested = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\npulsecl: stopping after this step (Ctrl-C again to stop now)", flush=True)

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


class Trainer:
    """Build everything from a config and train.

    ``data``: a dataset root or a folder of videos; ``run_dir`` receives ``last.pt``,
    ``best.pt``, ``config.toml``, ``log.csv``, ``epochs.csv`` and ``run.json``.
    ``resume=True`` continues from ``run_dir/last.pt``.
    """

    def __init__(
        self,
        config: Config,
        data: str | Path,
        run_dir: str | Path,
        resume: bool = False,
        progress: bool = True,
        log: Callable[[str], None] | None = print,
        videos: list[Video] | None = None,
        val_videos: list[Video] | None = None,
    ):
        self.config = config
        self.data = Path(data) if data else None
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.progress = progress
        self.dist = distributed.setup(choose_device(config.train.device).type)
        self.log = log if (log and self.dist.is_main) else (lambda *_: None)
        self._videos = videos
        self._val_videos = val_videos

    # ------------------------------------------------------------------ set-up
    def _check_run_dir(self) -> None:
        last = self.run_dir / "last.pt"
        if self.resume:
            if not last.is_file():
                raise CheckpointError(f"cannot resume: '{last}' does not exist; start without --resume")
        elif last.exists():
            raise DataError(
                f"run folder '{self.run_dir}' already holds a checkpoint; use --resume to "
                "continue it or choose another --out"
            )

    def _build(self) -> None:
        cfg = self.config
        tcfg = cfg.train
        self.device = choose_device(tcfg.device)
        # glibc hands large freed blocks back at once; each CPU step would fault them in anew
        keep = tcfg.keep_memory
        if keep == "auto":
            frames = cfg.data.clip_frames if not cfg.data.clip_s else int(round(cfg.data.clip_s * 30))
            keep = keeps_memory_by_default(tcfg.batch_size, frames, cfg.preprocess.size)
        self.keeps_memory = bool(keep and self.device.type == "cpu" and keep_freed_memory())
        self.pm = get_plugin_manager()
        self.supervised = tcfg.mode == "supervised"
        torch.manual_seed(tcfg.seed)
        backbone = pulsecl.build("backbones", cfg.model.backbone, **cfg.model.options)
        sampler = pulsecl.build("samplers", cfg.model.sampler, **cfg.model.sampler_options)
        proxy = windows = augment = None
        self.losses = build_losses(cfg).to(self.device)
        if not self.supervised:
            # the proxy's branches cost two or three backbone passes: made only when a loss
            # reads them (a run on pseudo-labels alone needs none of them)
            if set(self.losses.requires + self.losses.optional) & PROXY_KEYS:
                proxy = build_view("proxy_tasks", "proxy", cfg.views.proxy, cfg.views.proxy_options)
                windows = build_view("view_windows", "windows", cfg.views.windows, cfg.views.windows_options)
            if cfg.views.augment:
                augment = build_view("augmentations", "augment", cfg.views.augment, cfg.views.augment_options)
        check_augment(cfg, augment, self.losses, self.supervised, proxy)
        check_pseudo_labels(cfg, self.losses)
        self.module = TrainingModule(
            backbone, sampler, proxy, windows, augment, augment_fraction=cfg.views.augment_fraction,
        ).to(self.device)
        from pulsecl.nn.layout import channels_last_3d, has_conv3d

        # Clips in the channels-last layout only feed a model with 3-D convolutions.
        self.channels_last = bool(tcfg.channels_last and has_conv3d(self.module))
        if self.channels_last:
            channels_last_3d(self.module)  # 5-D weights only; the rest as is
        self.pm.hook.pulsecl_configure(config=cfg, manager=self.pm)
        self.net = self.module
        if self.dist.enabled:
            self.net = nn.parallel.DistributedDataParallel(
                self.module, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        self.optimizer = torch.optim.AdamW(
            [p for p in self.module.parameters() if p.requires_grad],
            lr=tcfg.lr,
            weight_decay=tcfg.weight_decay,
        )
        self.amp = bool(tcfg.amp and self.device.type == "cuda")
        self.scaler = torch.amp.GradScaler("cuda") if self.amp else None
        self.generator = torch.Generator().manual_seed(tcfg.seed)

    def _load_data(self) -> None:
        cfg = self.config
        if self._videos is None:
            if self.data is None:
                raise ConfigError("no training data: give --data PATH")
            # Rank 0 builds the preprocessing cache, then the other ranks read it: a cache
            # entry is built by one process at a time (pulsecl.video.cache).
            if not self.dist.is_main:
                distributed.barrier(self.dist)
            try:
                split = "train" if self.supervised and cfg.data.split == "all" else cfg.data.split
                self._videos = load_videos(cfg, self.data, split=split, labels=self.supervised, progress=self.progress and self.dist.is_main)
                if self.supervised and self._val_videos is None:
                    held = "val" if split == "train" else None
                    self._val_videos = load_videos(cfg, self.data, split=held, labels=True) if held else []
            finally:
                if self.dist.is_main:
                    distributed.barrier(self.dist)  # also on an error: the others then meet it themselves
        self.videos = self._videos
        if cfg.data.pseudo_labels:
            self.log(f"pseudo-labels: the {cfg.data.pseudo_labels} pulse of each of {len(self.videos)} training videos")
            self.videos = pseudo_labelled(self.videos, cfg.data.pseudo_labels, cfg.signal.band_bpm, cfg.signal.despike)
        self.val_videos = self._val_videos or []
        clip = cfg.data.clip_frames
        if cfg.data.clip_s:
            clip = int(round(cfg.data.clip_s * float(np.median([v.fs for v in self.videos]))))
        self.clip_frames = clip
        proxy = self.module.proxy
        # an equal-length proxy cuts its negatives from a longer context than the anchor
        drawn = int(proxy.context_frames(clip)) if proxy is not None and hasattr(proxy, "context_frames") else clip
        self.module.clip_frames = clip
        _check_clip_length(cfg, self.videos, clip, drawn, proxy)
        self.sampler_data = ClipSampler(self.videos, drawn, need_target=self.supervised or bool(cfg.data.pseudo_labels),
                                        sampling=cfg.data.sampling)
        self.groups = self.sampler_data.groups  # video index -> subject index
        self.steps_per_epoch = cfg.train.steps_per_epoch or self.sampler_data.epoch_steps(
            cfg.train.batch_size * self.dist.world_size
        )
        self.fs = float(np.median([v.fs for v in self.videos]))

    # ------------------------------------------------------------------ state
    def _payload(self, train_state: bool = True) -> dict[str, Any]:
        cfg = self.config
        payload: dict[str, Any] = {
            "model": {
                "backbone": cfg.model.backbone,
                # Every constructor option, defaults included: a checkpoint rebuilds the
                # same model when a later pulsecl changes a default.
                "options": resolved_options(self.module.backbone, cfg.model.options),
                "sampler": cfg.model.sampler,
                "sampler_options": resolved_options(self.module.sampler, cfg.model.sampler_options),
            },
            "state_dict": self.module.backbone.state_dict(),
            "sampler_state_dict": self.module.sampler.state_dict(),
            "config": config_to_dict(cfg),
            "fs": self.fs,
            "clip_frames": self.clip_frames,
            "probe": dict(self.probe_row),
            "collapsed": bool(self.probe_row.get("collapsed", False)),
            "init": self.config.train.init or None,
            "train_state": None,
        }
        if train_state:
            payload["train_state"] = {
                "epoch": self.epoch,
                "step": self.step,
                "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "best": self.best,
                "best_epoch": self.best_epoch,
                "start_kept": self.start_kept,
                "start_still_db": (float(self.start_probe.still_db) if getattr(self, "start_probe", None) is not None
                                   else None),
                "start_rate_spread": (float(self.start_probe.rate_spread)
                                      if getattr(self, "start_probe", None) is not None else None),
                "plugins": _plugin_states(self.pm),
                "config_hash": config_hash(cfg),
                "elapsed_s": self._elapsed(),  # training time so far: a resumed budget goes on from here
            }
        return payload

    def _restore(self) -> None:
        data = load_checkpoint(self.run_dir / "last.pt")
        state = data.get("train_state")
        if not state:
            raise CheckpointError(f"'{self.run_dir / 'last.pt'}' has no training state to resume from")
        if state.get("config_hash") != config_hash(self.config):
            raise ConfigError(
                f"cannot resume '{self.run_dir}': the config differs from the run's "
                f"config.toml{_config_changes(data.get('config'), config_to_dict(self.config))}; resume with the "
                f"same config (pulsecl train --resume {self.run_dir}, without --set or a config file)"
            )
        self.module.backbone.load_state_dict(data["state_dict"])
        self.module.sampler.load_state_dict(data["sampler_state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch, self.step, self.best = int(state["epoch"]), int(state["step"]), float(state["best"])
        self._elapsed_before = float(state.get("elapsed_s", 0.0))
        self.best_epoch = int(state.get("best_epoch", 0))
        self.start_kept = bool(state.get("start_kept", False))
        self.init_label = self.config.train.init
        if state.get("start_still_db") is not None:
            from pulsecl.engine.probe import ProbeResult

            self.start_probe = ProbeResult(float("nan"), float("nan"), float("nan"), 0,
                                           rate_spread=float(state.get("start_rate_spread", float("nan"))),
                                           still_db=float(state["start_still_db"]))
        self.probe_row = dict(data.get("probe") or {})
        _restore_plugin_states(self.pm, state.get("plugins", {}))
        truncate_csv(self.run_dir / "log.csv", self.step)
        truncate_csv(self.run_dir / "epochs.csv", self.epoch, key="epoch")

    def _save(self, name: str, train_state: bool = True) -> None:
        if self.dist.is_main:
            save_checkpoint(self.run_dir / name, self._payload(train_state))

    # ------------------------------------------------------------------ steps
    def _train_step(self, stop: _StopFlag) -> dict[str, float]:
        cfg = self.config
        batch = self.sampler_data.draw(cfg.train.batch_size, self.generator, self.dist.rank, self.dist.world_size)
        self.module.train()
        self.optimizer.zero_grad(set_to_none=True)
        total, terms, spectra, freqs, groups = self.batch_loss(batch)
        reg = self.module.sampler.regularization()
        total = total + reg
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            total.backward()
            self.optimizer.step()
        self.step += 1  # the step is done: from here on an interrupt keeps it
        loss = float(total.detach())
        if not math.isfinite(loss):
            raise DataError(
                f"training diverged at step {self.step} (loss {loss}); lower train.lr "
                f"(now {cfg.train.lr}) or check the data"
            )
        outputs: dict[str, Any] = {"loss": loss, "terms": {k: float(v) for k, v in terms.items()}}
        if spectra is not None:
            outputs.update(anchor_spectra=spectra["anchor"].detach(), negative_spectra=spectra["negative"].detach(), freqs=freqs)
            outputs["groups"] = groups
        self.pm.hook.pulsecl_train_step_end(step=self.step, outputs=outputs)
        row = {"loss": loss, "sampler_reg": float(reg.detach()) if torch.is_tensor(reg) else float(reg)}
        row.update(outputs["terms"])
        return row

    def batch_loss(self, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor], Any, Any, Any]:
        """The recipe's loss on one drawn batch, as a training step computes it (the model
        in whatever mode the caller set; no backward, no optimiser step): ``(total, terms,
        spectra, freqs, groups)``, ``spectra`` / ``freqs`` None when the run makes no proxy
        branches (supervised, or no loss reads them).  Also
        what ``benchmarks/objective_terms.py`` scores models with."""
        x = batch.x.to(self.device, non_blocking=True)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        fs = batch.fs.to(self.device)
        with autocast(self.device, self.amp):
            out = self.net(x, fs, self.generator)
        inputs = {k: (v.float() if torch.is_tensor(v) else v) for k, v in out.items()}
        inputs["fs"] = fs
        groups = batch.groups.to(self.device) if batch.groups is not None else None
        if groups is not None:
            inputs["groups"] = groups
        if batch.target is not None:  # the anchor's frames of a (possibly longer) context
            inputs["target"] = batch.target[:, : inputs["signal"].shape[-1]].to(self.device)
        spectra = freqs = None
        if "negative" in inputs:  # the proxy's branches were made
            spectra, freqs = self._spectra(inputs)
            results = self.pm.hook.pulsecl_extra_negatives(
                spectra=spectra["anchor"].detach(), freqs=freqs, step=self.step, groups=groups
            )
            extra = extra_negatives(results, self.device)
            if extra is not None:
                inputs["extra_negatives"], inputs["extra_negative_groups"] = extra
                inputs["freqs"] = freqs
        total, terms = self.losses(inputs)
        return total, terms, spectra, freqs, groups

    def _spectra(self, inputs: dict) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Anchor and negative spectra on the band's standard grid (for the bank)."""
        from pulsecl.nn import spectral

        band = band_hz(self.config)
        freqs = spectral.band_grid(band, device=self.device)
        fs = inputs["fs"]
        anchor = spectral.spectrum_on_grid(inputs["signal"], fs, freqs, band=band)
        negative = spectral.spectrum_on_grid(inputs["negative"], fs, freqs, band=band)
        return {"anchor": anchor, "negative": negative}, freqs

    # ------------------------------------------------------------------ selection
    def _score(self) -> tuple[str, float, dict[str, float]]:
        """Model-selection score, lower is better, and its parts: validation MAE (labels);
        else IPR (DC left out; a flat output scores 1) on fixed clips of the training
        videos, plus, with an augmentation, the
        invariance loss ``1 - r`` between each clip's signal and its augmented copy's
        (fixed draws).  IPR alone does not see in-band motion: on the proof's motion
        clips it chose an epoch whose MAE was 11.7 bpm where the last epoch's was 0.06."""
        from pulsecl.signal.common import pearson
        from pulsecl.signal.quality import ipr

        self.module.eval()
        lo, hi = band_hz(self.config)
        if self.supervised and self.val_videos:
            return "val_mae", self._val_mae(), {}
        # on fixed clips of the training videos: no labels needed
        augment = self.module.augment
        scores, changes = [], []
        with torch.no_grad():
            for i, v in enumerate(self.videos[:32]):
                if v.n_frames < self.clip_frames:
                    continue
                start = (v.n_frames - self.clip_frames) // 2
                clip = np.asarray(v.frames[start : start + self.clip_frames])
                x = torch.from_numpy(np.array(clip)).permute(3, 0, 1, 2)[None].float().div(255).to(self.device)
                y = self.module.backbone(self.module.sampler(x))[0].float().cpu().numpy()
                # DC left out: with replicate time padding a model's output carries an
                # offset from its biases, which says nothing about its pulse (with DC
                # in, IPR read ~1.0 for every epoch on semi-real video).
                scores.append(ipr(y, v.fs, (lo, hi), demean=True) if np.ptp(y) > 0 else 1.0)
                if augment is not None:
                    fs = torch.tensor([float(v.fs)], device=self.device)
                    moved = augment(x, fs, generator=torch.Generator().manual_seed(self.config.train.seed + i))
                    y_aug = self.module.backbone(self.module.sampler(moved))[0].float().cpu().numpy()
                    changes.append(1.0 - pearson(y_aug, y))
        if not scores:
            return "ipr", float("inf"), {}
        if augment is None:
            return "ipr", float(np.mean(scores)), {}
        parts = {"ipr": float(np.mean(scores)), "invariance": float(np.mean(changes))}
        return "ipr+invariance", parts["ipr"] + parts["invariance"], parts

    def _val_mae(self) -> float:
        """Mean |HR error| (bpm) on the validation videos, by the route ``evaluate``
        takes (the model's windows, the heart-rate analysis of predict)."""
        from pulsecl.engine.evaluate import score_pulse, video_pulse
        from pulsecl.extractors import ModelPulse
        from pulsecl.models import PulseModel, PulseNet

        net = PulseNet(self.module.sampler, self.module.backbone).eval()
        model = PulseModel(net, self.config, self.clip_frames, self.fs, f"{self.run_dir} (training)", {}, device=self.device)
        errors = []
        for v in self.val_videos:
            pulse, _ = video_pulse(ModelPulse(model, overlap=self.config.eval.overlap, optimise=False), v)
            r = score_pulse(pulse, v, self.config)
            if r.hr_ref is None:
                raise DataError(f"video '{v.id}' has no reference pulse; validation needs labels")
            errors.append(abs(r.hr_pred - r.hr_ref))
        return float(np.mean(errors))

    # ------------------------------------------------------------------ main loop
    def fit(self) -> TrainResult:
        """Train (see the class docstring), holding the run folder's lock throughout."""
        if not self.dist.is_main:  # the main process holds the lock for all of them
            return self._fit()
        hint = "wait for it to finish before resuming" if self.resume else "wait for it to finish or choose another --out"
        with FolderLock(self.run_dir, "run folder", hint=hint):
            return self._fit()

    def _checkpoint_bytes(self) -> int:
        """About the size of ``last.pt``: the weights and buffers, AdamW's two moments
        per trained weight, and 256 KiB for the config, RNG states and pickling."""
        weights = sum(t.numel() * t.element_size() for t in self.module.state_dict().values())
        moments = sum(2 * p.numel() * p.element_size() for p in self.module.parameters() if p.requires_grad)
        return int(weights + moments + (256 << 10))

    def _adopt_init(self) -> dict[str, Any] | None:
        """With ``train.init`` (a new run): the starting model's model and preprocessing
        settings become the run's, and its weights are returned to load once the model is
        built.  A setting of those two sections that the config changed from its default
        to something other than the start's is a one-line ConfigError (settings left at
        their defaults simply take the start's)."""
        source = self.config.train.init
        if not source or self.resume:
            return None
        from pulsecl.config import Config
        from pulsecl.engine.checkpoint import checkpoint_file
        from pulsecl.models import load_model, resolve

        path, name = resolve(source)
        start = load_model(source)
        defaults, clashes = Config(), []
        for section in ("model", "preprocess"):
            mine, theirs, default = (getattr(c, section) for c in (self.config, start.config, defaults))
            for key in vars(mine):
                asked = getattr(mine, key)
                if asked != getattr(default, key) and asked != getattr(theirs, key):
                    clashes.append(f"{section}.{key} ({asked!r} asked, {getattr(theirs, key)!r} in the start)")
            setattr(self.config, section, copy.deepcopy(theirs))
        if clashes:
            raise ConfigError(
                f"--init {source}: fine-tuning keeps the starting model's architecture and crops, but the config "
                f"asks for {', '.join(clashes)}; drop those settings or train from scratch"
            )
        self.init_label = name or str(checkpoint_file(path))
        return {"backbone": start.net.backbone.state_dict(), "sampler": start.net.sampler.state_dict()}

    def _worse_than_start(self, probe: Any) -> bool:
        """With ``--init``: the probe says this epoch is worse than the start: its output
        for a still face stands more than :data:`START_STILL_TOLERANCE_DB` higher than the
        start's (a rhythm of its own growing: on 2 subjects' videos it grew from -2.5 to
        -0.8 dB while IPR improved, and the heart rates got worse), or its heart rates over
        the probe's faces spread less than half as much as the start's (on 2 other
        subjects, 66 and 114 bpm, the spread fell from 27 to 0.4 bpm in one epoch as IPR
        improved); docs/measurements.md, "Learning on real faces"."""
        from pulsecl.engine.probe import POS_SPREAD_MIN, SPREAD_SHARE

        start = getattr(self, "start_probe", None)
        if start is None:
            return False
        if np.isfinite(start.still_db) and np.isfinite(probe.still_db):
            if probe.still_db > start.still_db + START_STILL_TOLERANCE_DB:
                return True
        # the faces' rates drawn together: under half the start's spread (the probe's own
        # same-rate test needs 4 clips; this one compares with the start, so 2 suffice)
        return bool(np.isfinite(start.rate_spread) and start.rate_spread >= POS_SPREAD_MIN
                    and not probe.rate_spread >= SPREAD_SHARE * start.rate_spread)

    def _start_as_best(self) -> None:
        """Measure the starting model (``--init``) by the unlabelled criteria and the
        collapse probe, and keep it as ``best.pt`` (epoch 0) unless it is collapsed: an
        epoch replaces it only by scoring better, not collapsing, and making no stronger
        rhythm of a still face than the start (:meth:`_worse_than_start`)."""
        name, score, _ = self._score()
        probe = self._probe()
        self.probe_row = probe.as_row()
        state = f"{name} {score:.4f}, probe: {probe.describe()}"
        if probe.collapsed:
            self.log(f"start {self.init_label}: {state}; it looks collapsed, so the first sound epoch becomes best.pt")
            return
        self.best, self.best_epoch, self.start_kept = score, 0, True
        self.start_probe = probe
        self._save("best.pt", train_state=False)
        self.log(f"start {self.init_label}: {state}; best.pt holds it until an epoch does better")

    def _fit(self) -> TrainResult:
        self._check_run_dir()
        init = self._adopt_init()
        self._build()
        if init is not None:
            self.module.backbone.load_state_dict(init["backbone"])
            self.module.sampler.load_state_dict(init["sampler"])
        self._load_data()
        self.epoch, self.step, self.best = 0, 0, float("inf")
        self._elapsed_before, self._t_start = 0.0, time.perf_counter()
        self.best_epoch = 0  # 0 = no best.pt yet (or, with start_kept, the --init start)
        self.start_kept = False
        self.start_probe = None  # the --init start's probe
        self.probe_row: dict[str, Any] = {}
        self._warned_collapse = False
        if self.resume:
            self._restore()
        elif self.dist.is_main:
            drop_orphan_logs(self.run_dir)
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_text(self.run_dir / "config.toml", dump_toml(self.config))
            write_json(
                self.run_dir / "run.json",
                {
                    "header": self.pm.report_header(self.config),
                    "config_hash": config_hash(self.config),
                    "data": str(self.data) if self.data else None,
                    "videos": [v.id for v in self.videos],
                    "device": str(self.device),
                    "world_size": self.dist.world_size,
                    "clip_frames": self.clip_frames,
                    "steps_per_epoch": self.steps_per_epoch,
                },
            )
            # a full disk now, not when the first epoch's checkpoint is written
            check_room(self.run_dir / "last.pt", self._checkpoint_bytes())
        epochs = self.config.train.epochs
        interrupted = False
        self.log(
            f"training {self.config.model.backbone} ({self.config.train.mode}) on {len(self.videos)} videos, "
            f"{epochs} epochs x {self.steps_per_epoch} steps, batch {self.config.train.batch_size}"
            f"{' x ' + str(self.dist.world_size) + ' ranks' if self.dist.enabled else ''}, device {self.device}"
        )
        if init is not None and self.dist.is_main:
            self._start_as_best()
        self._t_start = time.perf_counter()
        with _StopFlag() as stop:
            try:
                while self.epoch < epochs and not stop.requested and not self._over_budget():
                    interrupted = self._run_epoch(stop)
                    if interrupted:
                        break
            except KeyboardInterrupt:
                interrupted = True
            if interrupted or stop.requested:
                interrupted = True
                self._save("last.pt")
                self.log(f"interrupted at step {self.step}: saved {self.run_dir / 'last.pt'}; continue with --resume")
        if self.start_kept and self.best_epoch == 0:
            self.log(f"best.pt is the start ({self.init_label}): no epoch did better by the unlabelled criteria")
        elif self.best_epoch == 0 and self.epoch > 0 and not (self.supervised and self.val_videos):
            self.log(
                f"no best.pt: the model of every epoch looked collapsed (probe_* in "
                f"{self.run_dir / 'epochs.csv'}); {self.run_dir / 'last.pt'} holds the last one"
            )
        distributed.teardown(self.dist)
        return TrainResult(self.run_dir, self.epoch, self.step, self.best, interrupted, seconds=self._elapsed())

    def _run_epoch(self, stop: _StopFlag) -> bool:
        from pulsecl.progress import bar as progress_bar

        first = self.step - self.epoch * self.steps_per_epoch
        bar = progress_bar(
            total=self.steps_per_epoch, initial=first, desc=f"epoch {self.epoch + 1}/{self.config.train.epochs}",
            disable=not (self.progress and self.dist.is_main), unit="step", leave=False,
        )
        # the losses of this epoch's steps before a resume: in log.csv, not in memory
        earlier = epoch_losses(self.run_dir / "log.csv", self.epoch + 1) if first > 0 and self.dist.is_main else []
        rows = []
        with bar:
            try:
                for _ in range(first, self.steps_per_epoch):
                    t0 = time.perf_counter()
                    row = self._train_step(stop)
                    dt = time.perf_counter() - t0
                    clips_s = self.config.train.batch_size * self.dist.world_size / max(dt, 1e-9)
                    row = {"epoch": self.epoch + 1, "step": self.step, **row, "clips_per_s": round(clips_s, 3)}
                    rows.append(row)
                    bar.set_postfix(loss=f"{row['loss']:.4f}", clips_s=f"{clips_s:.2f}")
                    bar.update(1)
                    self._snapshots()
                    if stop.requested:
                        self._append_csv("log.csv", rows)
                        return True
                    if self._over_budget():
                        self.log(f"time budget of {self.config.train.time_budget_s:g} s reached at step {self.step}")
                        break
            except KeyboardInterrupt:  # a second Ctrl-C: the steps done so far are kept in the log too
                self._append_csv("log.csv", rows)
                raise
        self._append_csv("log.csv", rows)
        self.epoch += 1
        name, score, parts = self._score()
        score = distributed.all_reduce_mean(score, self.dist)
        parts = {k: distributed.all_reduce_mean(v, self.dist) for k, v in parts.items()}
        probe = self._probe()  # the same fixed clips on every rank: no reduction needed
        self.probe_row = probe.as_row()
        # without labels, a collapsed model is never chosen, however good its score looks,
        # nor (with --init) one that makes a stronger rhythm of a still face than the start
        eligible = (not probe.collapsed and not self._worse_than_start(probe)) or (self.supervised and bool(self.val_videos))
        improved = eligible and score < self.best
        if improved:
            self.best = score
            self.best_epoch = self.epoch
        if probe.collapsed and not self._warned_collapse:
            self._warned_collapse = True
            self.log(
                f"pulsecl: warning: the model of epoch {self.epoch} looks collapsed ({probe.describe()}); "
                "such epochs are never saved as best.pt"
            )
        losses = [*earlier, *(r["loss"] for r in rows)]
        loss = float(np.mean(losses)) if losses else float("nan")
        self._append_csv("epochs.csv", [{
            "epoch": self.epoch, "step": self.step, "loss": loss, **parts, name: score,
            **self.probe_row, "best": improved,
        }])
        self._save("last.pt")
        if improved:
            self._save("best.pt", train_state=False)
        flag = " (best)" if improved else (" (collapsed)" if probe.collapsed else "")
        self.log(f"epoch {self.epoch}: loss {loss:.4f}, {name} {score:.4f}, probe noise r {probe.noise_r:.2f}, "
                 f"rates spread {probe.rate_spread:.0f} bpm (POS {probe.pos_spread:.0f}), still face "
                 f"{probe.still_db:+.0f} dB{flag}")
        return False

    def _elapsed(self) -> float:
        """Training time in seconds, including the time before a resume."""
        return self._elapsed_before + time.perf_counter() - self._t_start

    def _probe(self):
        """The collapse probe (:mod:`pulsecl.engine.probe`) on fixed clips of up to 8
        training videos of distinct subjects, with the model in eval mode."""
        from pulsecl.engine.probe import collapse_probe, probe_clips

        if not hasattr(self, "_probe_set"):
            self._probe_set, self._probe_fs, _ = probe_clips(self.videos, self.clip_frames, self.groups)
        self.module.eval()
        with torch.no_grad():
            result = collapse_probe(
                lambda x: self.module.backbone(self.module.sampler(x)), self._probe_set,
                device=self.device, seed=self.config.train.seed, fs=self._probe_fs,
                band_bpm=self.config.signal.band_bpm,
            )
        return result

    def _snapshots(self) -> None:
        """Save ``snapshot-<s>s.pt`` (weights) for each ``train.snapshots_s`` the training
        time has just passed."""
        elapsed = self._elapsed()
        for s in sorted(float(v) for v in self.config.train.snapshots_s):
            name = f"snapshot-{s:g}s.pt"
            if elapsed >= s and not (self.run_dir / name).exists():
                self._save(name, train_state=False)
                self.log(f"snapshot after {s:g} s of training (step {self.step}): {self.run_dir / name}")

    def _over_budget(self) -> bool:
        budget = self.config.train.time_budget_s
        return bool(budget) and self._elapsed() >= budget

    def _append_csv(self, name: str, rows: list[dict]) -> None:
        if self.dist.is_main:
            append_csv_rows(self.run_dir / name, rows)


def _check_clip_length(cfg: Config, videos: list[Video], clip: int, drawn: int, proxy: Any) -> None:
    """A clip longer than every video is a DataError that reports the length the user
    set (``data.clip_frames``, or ``data.clip_s`` and its frames), not the longer
    context the proxy draws for it (1.5 times as long with equal-length negatives), and
    says how long a clip the videos allow."""
    longest = max((v.n_frames for v in videos), default=0)
    if drawn <= longest:
        return
    fit = clip
    while fit > 1 and (int(proxy.context_frames(fit)) if drawn != clip else fit) > longest:
        fit -= 1
    if cfg.data.clip_s:
        fs = float(np.median([v.fs for v in videos])) if videos else 0.0
        asked = f"data.clip_s = {cfg.data.clip_s:g} ({clip} frames at {fs:.3g} fps)"
        most = f"data.clip_s to at most {fit / fs:.2f}" if fs > 0 else "data.clip_s"
    else:
        asked, most = f"data.clip_frames = {clip}", f"data.clip_frames to at most {fit}"
    context = f"; the {cfg.views.proxy} proxy draws {drawn} frames per clip for its longer negatives" if drawn != clip else ""
    raise DataError(
        f"no video is long enough for a training clip of {asked} (longest: {longest} frames{context}); "
        f"lower {most} or give longer videos"
    )


def _config_changes(saved: Any, now: dict[str, Any], most: int = 4) -> str:
    """`` in train.lr (0.001 in the run, 0.5 now)``: the keys whose values differ between
    the run's config (``saved``, as stored in its checkpoint) and ``now``; empty when the
    run's config cannot be read."""
    import json

    if not isinstance(saved, dict):
        return ""

    def flat(d: Any, prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            if isinstance(v, dict) and v and prefix.count(".") < 1:  # sections, then their keys
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = json.loads(json.dumps(v, default=str))  # tuples as lists
        return out

    a, b = flat(saved), flat(now)
    keys = [k for k in sorted(set(a) | set(b)) if a.get(k, "<unset>") != b.get(k, "<unset>")]
    if not keys:
        return ""
    shown = [f"{k} ({json.dumps(a.get(k))} in the run, {json.dumps(b.get(k))} now)" for k in keys[:most]]
    more = f" and {len(keys) - most} more" if len(keys) > most else ""
    return f" in {', '.join(shown)}{more}"


def _plugin_states(pm) -> dict[str, Any]:
    out = {}
    for name, plugin in pm.list_name_plugin():
        if plugin is None or isinstance(plugin, types.ModuleType) or not hasattr(plugin, "state_dict"):
            continue
        out[name] = plugin.state_dict()
    return out


def _restore_plugin_states(pm, states: dict[str, Any]) -> None:
    for name, state in states.items():
        plugin = pm.get_plugin(name)
        if plugin is not None and hasattr(plugin, "load_state_dict"):
            plugin.load_state_dict(state)


def train(config: Config, data, run_dir, resume: bool = False, **kwargs) -> TrainResult:
    """Train and return a summary; see :class:`Trainer`."""
    return Trainer(config, data, run_dir, resume=resume, **kwargs).fit()
