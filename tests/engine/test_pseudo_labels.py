"""Pseudo-labels: a classical method's pulse on a training video's own crops as the target
of self-supervised training (``data.pseudo_labels``); the reference pulse is never read."""

import csv

import numpy as np
import pytest
import torch

import pulsecl
from engine_settings import PASS
from pulsecl.config import load_config
from pulsecl.engine.clips import Video, pseudo_labelled
from pulsecl.engine.trainer import train
from pulsecl.plugins import get_plugin_manager

FS = 30.0


def skin_video(hr_bpm: float, seconds: float = 12.0, seed: int = 0, size: int = 8) -> tuple[Video, np.ndarray]:
    """A skin-coloured crop whose colour darkens along the blood-volume direction with a
    sinusoidal pulse at ``hr_bpm``, plus sensor noise; its ``ppg`` is a decoy at another
    rate.  Returns the video and the pulse put in."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    pulse = np.sin(2 * np.pi * hr_bpm / 60.0 * t)
    skin = np.array([200.0, 140.0, 110.0])
    colour = skin * (1.0 - 0.01 * np.array([0.62, 1.0, 0.52]) * pulse[:, None])  # (T, 3)
    frames = colour[:, None, None, :] + rng.normal(0.0, 2.0, (t.size, size, size, 3))
    decoy = np.sin(2 * np.pi * 2.7 * t).astype(np.float32)
    video = Video(id="v", subject="s", frames=np.clip(frames, 0, 255).astype(np.uint8), timestamps=t, fs=FS, ppg=decoy)
    return video, pulse


def peak_bpm(x: np.ndarray) -> float:
    n = 8192
    p = np.abs(np.fft.rfft(x - x.mean(), n)) ** 2
    return float(np.fft.rfftfreq(n, 1 / FS)[np.argmax(p)] * 60.0)


@pytest.mark.parametrize("method", ["pos", "chrom"])
def test_a_pseudo_label_is_the_pulse_in_the_crops_not_the_reference(method):
    video, pulse = skin_video(84.0)
    (out,) = pseudo_labelled([video], method, (40.0, 250.0))
    assert out.ppg.shape == (video.n_frames,) and out.ppg.dtype == np.float32
    assert out.ppg.mean() == pytest.approx(0.0, abs=1e-4) and out.ppg.std() == pytest.approx(1.0, rel=1e-4)
    assert peak_bpm(out.ppg) == pytest.approx(84.0, abs=1.0)  # the decoy is at 162 bpm
    inner = slice(30, -30)  # the band-pass edges aside
    assert abs(np.corrcoef(out.ppg[inner], pulse[inner])[0, 1]) > 0.8
    assert video.ppg[0] == 0.0 and np.array_equal(out.frames, video.frames)  # the input is left as it was


def test_a_video_too_short_for_the_band_pass_gets_a_zero_pseudo_label():
    from pulsecl.engine.clips import PSEUDO_MIN_FRAMES

    video, _ = skin_video(84.0)
    short = Video(id="short", subject="s", frames=video.frames[:PSEUDO_MIN_FRAMES - 1],
                  timestamps=video.timestamps[:PSEUDO_MIN_FRAMES - 1], fs=FS)
    (out,) = pseudo_labelled([short], "pos", (40.0, 250.0))
    assert out.ppg.shape == (PSEUDO_MIN_FRAMES - 1,) and not out.ppg.any()
    (ok,) = pseudo_labelled([Video(id="ok", subject="s", frames=video.frames[:PSEUDO_MIN_FRAMES],
                                   timestamps=video.timestamps[:PSEUDO_MIN_FRAMES], fs=FS)], "pos", (40.0, 250.0))
    assert ok.ppg.std() == pytest.approx(1.0, rel=1e-3)


class _Spy(torch.nn.Module):
    """A loss that reads the target and records what it was given."""

    requires = ("signal", "target")
    seen: list = []

    def forward(self, inputs):
        _Spy.seen.append((inputs["signal"].detach().clone(), inputs["target"].clone()))
        return (inputs["signal"] * 0.0).sum() + 1.0


class _SpyPlugin:
    @pulsecl.hookimpl
    def pulsecl_register_losses(self, registry):
        registry.add("spy", _Spy)


PSEUDO = [*PASS, "data.pseudo_labels='pos'", "loss.weights={mvtl = 1.0, invariance = 1.0, neg_pearson = 1.0}"]


def test_training_with_pseudo_labels_reads_no_reference_and_fits_the_target(tiny_dataset, tmp_path, test_backbones, monkeypatch):
    """The trainer loads the videos without labels (a reference pulse would be an error to
    read) and gives every loss that reads a target the anchor's frames of the pseudo-label."""
    import pulsecl.engine.clips as clips

    real_load = clips.load_videos
    calls = []

    def load(*args, **kwargs):
        calls.append(kwargs.get("labels", True))
        return real_load(*args, **kwargs)

    monkeypatch.setattr("pulsecl.engine.trainer.load_videos", load)
    get_plugin_manager().register(_SpyPlugin(), "spy-loss")
    _Spy.seen = []
    try:
        config = load_config(None, [*PSEUDO, "loss.weights={mvtl = 1.0, invariance = 1.0, neg_pearson = 1.0, spy = 1.0}"])
        res = train(config, tiny_dataset, tmp_path / "run", progress=False, log=None)
    finally:
        get_plugin_manager().unregister(name="spy-loss")
    assert calls == [False] and res.steps == 4
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    assert all(0.0 <= float(r["neg_pearson"]) <= 2.0 for r in rows)
    assert len(_Spy.seen) == 4
    for signal, target in _Spy.seen:
        assert signal.shape == target.shape == (2, 64)  # the anchor's 64 frames, not the longer context
        # the pass-through backbone gives the green trace, which carries the synthetic pulse,
        # as does the POS pseudo-label of the same frames
        r = [abs(float(np.corrcoef(s.numpy(), t.numpy())[0, 1])) for s, t in zip(signal, target)]
        assert min(r) > 0.5


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            ["loss.weights={mvtl = 1.0, invariance = 1.0, neg_pearson = 1.0}"],
            "loss 'neg_pearson' compares the signal with a reference pulse, which self-supervised training "
            "never loads; set data.pseudo_labels = 'pos' (a classical method's pulse as the target), "
            "train.mode = 'supervised', or remove it from loss.weights",
        ),
        (
            ["data.pseudo_labels='posh'", "loss.weights={mvtl = 1.0, invariance = 1.0, neg_pearson = 1.0}"],
            "data.pseudo_labels = 'posh': not a classical method; give one of: ",
        ),
        (
            ["data.pseudo_labels='pos'"],
            "data.pseudo_labels = 'pos' makes a target that no loss in [loss] weights reads; add "
            "neg_pearson = 1.0 to loss.weights or set data.pseudo_labels = ''",
        ),
        (
            ["data.pseudo_labels='pos'", "train.mode=supervised", "loss.weights={neg_pearson = 1.0}", "views.augment=''"],
            "data.pseudo_labels = 'pos' is for self-supervised training; supervised training reads the "
            "reference pulse: set data.pseudo_labels = '' or train.mode = 'contrastive'",
        ),
    ],
)
def test_pseudo_labels_and_a_loss_that_reads_them_come_together(tiny_dataset, tmp_path, test_backbones, overrides, message):
    config = load_config(None, [*PASS, *overrides])
    with pytest.raises(pulsecl.ConfigError) as e:
        train(config, tiny_dataset, tmp_path / "x", progress=False, log=None)
    assert str(e.value).startswith(message)
    if "posh" in message:
        assert "pos" in str(e.value).split("give one of: ")[1].split(", ")
    assert not (tmp_path / "x" / "last.pt").exists()


def test_the_pseudo_labels_preset_trains_from_the_command_line(tiny_dataset, tmp_path):
    from engine_settings import TINY

    from pulsecl.cli import main

    run = tmp_path / "pl"
    assert main(["train", "pseudo-labels", "--data", str(tiny_dataset), "--out", str(run), "--no-progress",
                 *[a for s in TINY for a in ("--set", s)]]) == 0
    saved = load_config(run / "config.toml")
    assert saved.data.pseudo_labels == "pos" and saved.loss.weights == {"neg_pearson": 1.0}
    assert saved.views.augment == ""
    rows = list(csv.DictReader(open(run / "log.csv")))
    assert len(rows) == 4 and all(0.0 <= float(r["neg_pearson"]) <= 2.0 for r in rows)


def test_a_pseudo_label_does_not_depend_on_the_chunk_the_crops_are_read_in():
    video, _ = skin_video(96.0, seconds=10.0, seed=3)
    (whole,) = pseudo_labelled([video], "pos", (40.0, 250.0), chunk=10_000)
    (chunked,) = pseudo_labelled([video], "pos", (40.0, 250.0), chunk=37)
    np.testing.assert_allclose(chunked.ppg, whole.ppg, atol=1e-5)


def test_a_run_on_pseudo_labels_alone_makes_no_proxy_branches(tiny_dataset, tmp_path, test_backbones, monkeypatch):
    """No loss reads the frequency proxy's branches, so the trainer builds no proxy: one
    backbone pass per clip instead of three.  With the contrast in the loss it does."""
    from pulsecl.engine.trainer import Trainer

    calls = []
    import pulsecl_views.frequency as frequency

    real = frequency.FrequencyViews.__call__
    monkeypatch.setattr(frequency.FrequencyViews, "__call__", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    alone = load_config(None, [*PASS, "data.pseudo_labels='pos'", "loss.weights={neg_pearson = 1.0}", "views.augment=''"])
    trainer = Trainer(alone, tiny_dataset, tmp_path / "alone", log=None, progress=False)
    trainer._build()
    assert trainer.module.proxy is None and trainer.module.windows is None
    res = train(alone, tiny_dataset, tmp_path / "alone-run", progress=False, log=None)
    rows = list(csv.DictReader(open(tmp_path / "alone-run" / "log.csv")))
    assert res.steps == 4 and calls == [] and all(0.0 <= float(r["neg_pearson"]) <= 2.0 for r in rows)
    train(load_config(None, PSEUDO), tiny_dataset, tmp_path / "with-mvtl", progress=False, log=None)
    assert len(calls) == 4  # one proxy call per step
    # a negative bank has nothing to keep without the branches, and does not stop the run
    banked = load_config(None, [*PASS, "data.pseudo_labels='pos'", "loss.weights={neg_pearson = 1.0}",
                                "views.augment=''", "bank.size=16"])
    assert train(banked, tiny_dataset, tmp_path / "banked", progress=False, log=None).steps == 4
