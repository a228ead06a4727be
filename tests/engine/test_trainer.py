"""Training: it runs, leaves its files, resumes exactly, and refuses bad set-ups."""

import csv
import subprocess
import sys

import pytest
import torch

import pulsecl
from engine_settings import PASS, TINY
from pulsecl.cli import main
from pulsecl.config import load_config
from pulsecl.engine.checkpoint import load_checkpoint
from pulsecl.engine.trainer import train
from pulsecl.plugins import get_plugin_manager


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_contrastive_run_leaves_checkpoints_config_and_logs(tiny_dataset, tmp_path, test_backbones):
    run = tmp_path / "run"
    res = train(load_config(None, PASS), tiny_dataset, run, progress=False, log=None)
    assert (res.epochs, res.steps, res.interrupted) == (2, 4, False)
    for name in ("last.pt", "best.pt", "config.toml", "log.csv", "epochs.csv", "run.json"):
        assert (run / name).is_file(), name
    assert load_config(run / "config.toml") == load_config(None, PASS)
    rows = list(csv.DictReader(open(run / "log.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert {"loss", "mvtl", "bandwidth", "sparsity", "invariance", "clips_per_s"} <= set(rows[0])
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    assert [int(r["epoch"]) for r in epochs] == [1, 2] and "ipr" in epochs[0]
    # with the motion augmentation, best.pt is chosen by IPR + invariance
    for e in epochs:
        assert float(e["ipr+invariance"]) == pytest.approx(float(e["ipr"]) + float(e["invariance"]), rel=1e-9)
        assert 0.0 <= float(e["invariance"]) <= 2.0
        # the pass-through model follows its input: not collapsed
        assert e["collapsed"] == "False" and float(e["probe_noise_r"]) < 0.5 and float(e["probe_grey_r"]) == 0.0
    best_epoch = min(epochs, key=lambda e: float(e["ipr+invariance"]))
    assert res.best_score == pytest.approx(float(best_epoch["ipr+invariance"]), rel=1e-9)
    best = load_checkpoint(run / "best.pt")
    assert best["train_state"] is None  # best.pt is for inference
    assert best["model"]["backbone"] == "pass-through"
    assert best["clip_frames"] == 64 and best["fs"] == pytest.approx(30.0, abs=0.1)
    assert best["collapsed"] is False and set(best["probe"]) == {
        "probe_cross_r", "probe_noise_r", "probe_grey_r", "probe_rate_spread", "probe_pos_spread", "probe_still_db",
        "probe_same_rate", "collapsed"}


ZERO_PADDED = [*TINY, "model.options={channels = 4, norm = 'temporal', time_padding = 'zeros'}"]


def test_an_untrained_physnet_is_collapsed_and_never_best(tiny_dataset, tmp_path, capsys):
    """A 4-channel PhysNet with the paper's zero time padding returns, after two steps,
    the same waveform for any input (its output is set by biases and padding): the probe
    says so, warns once, and no best.pt is written; the run folder then refuses to stand
    for a model."""
    run = tmp_path / "run"
    lines = []
    train(load_config(None, ZERO_PADDED), tiny_dataset, run, progress=False, log=lines.append)
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    assert [e["collapsed"] for e in epochs] == ["True", "True"]
    assert all(float(e["probe_noise_r"]) > 0.5 and float(e["probe_grey_r"]) > 0.5 for e in epochs)
    assert [e["best"] for e in epochs] == ["False", "False"]
    assert not (run / "best.pt").exists() and (run / "last.pt").is_file()
    warnings = [line for line in lines if "looks collapsed" in line]
    assert len(warnings) == 1 and "\n" not in warnings[0]  # once, one line
    assert lines[-1] == (
        f"no best.pt: the model of every epoch looked collapsed (probe_* in {run / 'epochs.csv'}); "
        f"{run / 'last.pt'} holds the last one"
    )
    assert load_checkpoint(run / "last.pt")["collapsed"] is True
    with pytest.raises(pulsecl.CheckpointError, match="has no best.pt: the model of every epoch looked collapsed"):
        load_checkpoint(run)
    assert main(["evaluate", str(run), "--data", str(tiny_dataset), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"give '{run / 'last.pt'}' to use it anyway" in err[0]


def test_with_the_default_time_padding_a_grey_clip_gets_no_wave(tiny_dataset, tmp_path):
    """The same two steps with the default replicate padding: the grey clip's output is
    flat (probe_grey_r 0, a constant counts as 0), so the output's waves come from the
    input."""
    run = tmp_path / "run"
    train(load_config(None, TINY), tiny_dataset, run, progress=False, log=None)
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    assert [float(e["probe_grey_r"]) for e in epochs] == [0.0, 0.0]
    assert load_checkpoint(run / "last.pt")["model"]["options"]["time_padding"] == "replicate"


class Switch(torch.nn.Module):
    """The fixed-wave backbone until 3 training steps are done, then the
    pass-through one.  The fixed wave has the best unlabelled score there is (a pure
    in-band sinusoid: IPR ~0, invariance 0)."""

    def __init__(self):
        super().__init__()
        from pulsecl.testing import FixedWaveBackbone, PassThroughBackbone

        self.fixed, self.passing = FixedWaveBackbone(5.0), PassThroughBackbone()
        self.steps = 0

    def forward(self, x):
        return (self.fixed if self.steps < 3 else self.passing)(x)  # epoch 1 and its probe: fixed


class CountSteps:
    def __init__(self, module):
        self.module = module

    @pulsecl.hookimpl
    def pulsecl_train_step_end(self, step):
        self.module.steps = step


def test_selection_never_picks_a_collapsed_epoch_even_with_the_best_score(tiny_dataset, tmp_path):
    switch = Switch()

    class Plugin:
        @staticmethod
        def pulsecl_register_backbones(registry):
            registry.add("switch", lambda: switch)

    pm = get_plugin_manager()
    pm.register(Plugin(), "switch-backbone")
    pm.register(CountSteps(switch), "count-steps")
    try:
        run = tmp_path / "run"
        res = train(load_config(None, [*TINY, "model.backbone='switch'", "model.options={}", "train.steps_per_epoch=2"]),
                    tiny_dataset, run, progress=False, log=None)
    finally:
        pm.unregister(name="switch-backbone")
        pm.unregister(name="count-steps")
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    first, second = epochs
    assert first["collapsed"] == "True" and float(first["probe_noise_r"]) == pytest.approx(1.0)
    assert second["collapsed"] == "False"
    assert float(first["ipr+invariance"]) < float(second["ipr+invariance"])  # the trivial model scores better
    assert (first["best"], second["best"]) == ("False", "True")
    assert res.best_score == pytest.approx(float(second["ipr+invariance"]), rel=1e-9)


class StopAt:
    """Raises KeyboardInterrupt after step ``n``, as a Ctrl-C would."""

    def __init__(self, n):
        self.n = n

    @pulsecl.hookimpl
    def pulsecl_train_step_end(self, step):
        if step == self.n:
            raise KeyboardInterrupt


def test_interrupt_and_resume_gives_the_same_weights(tiny_dataset, tmp_path):
    config = load_config(None, [*TINY, "model.options.dropout=0.2"])
    full = train(config, tiny_dataset, tmp_path / "full", progress=False, log=None)
    assert full.steps == 4

    pm = get_plugin_manager()
    pm.register(StopAt(3), "stop-at-3")
    part = train(config, tiny_dataset, tmp_path / "part", progress=False, log=None)
    pm.unregister(name="stop-at-3")
    assert part.interrupted and part.steps == 3
    assert load_checkpoint(tmp_path / "part" / "last.pt")["train_state"]["step"] == 3

    resumed = train(config, tiny_dataset, tmp_path / "part", resume=True, progress=False, log=None)
    assert (resumed.steps, resumed.interrupted) == (4, False)
    a = load_checkpoint(tmp_path / "full" / "last.pt")
    b = load_checkpoint(tmp_path / "part" / "last.pt")
    assert states_equal(a["state_dict"], b["state_dict"])
    assert a["train_state"]["best"] == b["train_state"]["best"]
    steps = [int(r["step"]) for r in csv.DictReader(open(tmp_path / "part" / "log.csv"))]
    assert steps == [1, 2, 3, 4] or steps == [1, 2, 4]  # no step logged twice
    assert len(steps) == len(set(steps))


class CtrlCAt:
    """Presses Ctrl-C (SIGINT to this process) during step ``n``: training stops after
    that step, as it does for a user."""

    def __init__(self, n):
        self.n = n

    @pulsecl.hookimpl
    def pulsecl_train_step_end(self, step):
        if step == self.n:
            import signal

            signal.raise_signal(signal.SIGINT)


def test_ctrl_c_then_resume_logs_the_same_epoch_losses_as_an_uninterrupted_run(tiny_dataset, tmp_path, test_backbones):
    """Issue 30, case 5: the epoch interrupted after its last step logged ``loss nan``
    on resume (its steps' losses were no longer in memory), and one interrupted in its
    middle the mean of the resumed steps only."""
    config = load_config(None, PASS)
    train(config, tiny_dataset, tmp_path / "full", progress=False, log=None)

    def losses(run, name):
        return [(r["epoch"], r["step"], r["loss"]) for r in csv.DictReader(open(run / name))]

    pm = get_plugin_manager()
    for stop_at in (2, 3):  # the last step of epoch 1; the middle of epoch 2
        part = tmp_path / f"part{stop_at}"
        pm.register(CtrlCAt(stop_at), "ctrl-c")
        try:
            res = train(config, tiny_dataset, part, progress=False, log=None)
        finally:
            pm.unregister(name="ctrl-c")
        assert res.interrupted and res.steps == stop_at
        train(config, tiny_dataset, part, resume=True, progress=False, log=None)
        assert losses(part, "log.csv") == losses(tmp_path / "full", "log.csv")
        assert [int(s) for _, s, _ in losses(part, "log.csv")] == [1, 2, 3, 4]
        assert losses(part, "epochs.csv") == losses(tmp_path / "full", "epochs.csv"), stop_at
        assert all(loss != "nan" for _, _, loss in losses(part, "epochs.csv"))


def test_a_second_train_on_a_run_folder_in_use_stops_and_a_killed_runs_lock_does_not(tiny_dataset, tmp_path, capsys, hold_lock):
    """Issue 30, case 1: two trainings in one run folder both ran and mixed their logs
    and checkpoints."""
    run = tmp_path / "run"
    sets = [a for s in [*TINY, "train.epochs=1", "train.steps_per_epoch=1"] for a in ("--set", s)]
    argv = ["train", "--data", str(tiny_dataset), "--out", str(run), "--no-progress", *sets]
    holder = hold_lock(run)  # another pulsecl process is training there
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"pulsecl: error: run folder '{run}' is in use by another pulsecl process (pid {holder.pid}); "
        "wait for it to finish or choose another --out\n"
    )
    assert [p.name for p in run.iterdir()] == [".pulsecl.lock"]  # nothing of ours was written
    holder.kill()  # kill -9: the lock file stays, its holder is gone
    holder.wait()
    assert main(argv) == 0
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "config.toml", "epochs.csv", "last.pt", "log.csv", "run.json"]


def test_a_clip_longer_than_the_videos_reports_the_length_that_was_set(tiny_dataset, tmp_path, capsys):
    """Issue 30, case 7: the error said "no video has 300 frames" for data.clip_frames =
    200 (the frequency proxy draws 1.5 times the clip for its negatives)."""
    sets = [a for s in [*TINY, "data.clip_frames=200"] for a in ("--set", s)]
    assert main(["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "r"), "--no-progress", *sets]) == 2
    assert capsys.readouterr().err == (
        "pulsecl: error: no video is long enough for a training clip of data.clip_frames = 200 (longest: 180 frames; "
        "the frequency proxy draws 300 frames per clip for its longer negatives); lower data.clip_frames to at most "
        "120 or give longer videos\n"
    )
    sets = [a for s in [*TINY, "data.clip_s=7.0"] for a in ("--set", s)]
    assert main(["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "r"), "--no-progress", *sets]) == 2
    assert capsys.readouterr().err == (
        "pulsecl: error: no video is long enough for a training clip of data.clip_s = 7 (210 frames at 30 fps) "
        "(longest: 180 frames; the frequency proxy draws 315 frames per clip for its longer negatives); lower "
        "data.clip_s to at most 4.00 or give longer videos\n"
    )
    assert not (tmp_path / "r").exists()


def test_supervised_selects_best_by_validation_mae(tiny_dataset, tmp_path):
    config = load_config(None, [*TINY, "train.mode=supervised", "loss.weights={neg_pearson = 1.0}", "data.val_fraction=0.5"])
    res = train(config, tiny_dataset, tmp_path / "sup", progress=False, log=None)
    assert res.steps == 4
    epochs = list(csv.DictReader(open(tmp_path / "sup" / "epochs.csv")))
    assert "val_mae" in epochs[0] and float(epochs[0]["val_mae"]) >= 0
    assert res.best_score == min(float(e["val_mae"]) for e in epochs)


def test_supervised_without_a_supervised_loss_is_a_config_error(tiny_dataset, tmp_path):
    config = load_config(None, [*TINY, "train.mode=supervised"])
    with pytest.raises(pulsecl.ConfigError, match="needs a supervised loss"):
        train(config, tiny_dataset, tmp_path / "x", progress=False, log=None)


def test_cli_refuses_to_overwrite_a_run_and_to_resume_nothing(tiny_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    sets = [a for s in TINY for a in ("--set", s)] + ["--set", "train.epochs=1", "--set", "train.steps_per_epoch=1"]
    assert main(["train", "--data", str(tiny_dataset), "--out", str(run), "--no-progress", *sets]) == 0
    assert main(["train", "--data", str(tiny_dataset), "--out", str(run), "--no-progress", *sets]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        f"pulsecl: error: run folder '{run}' already holds a checkpoint; use --resume to "
        "continue it or choose another --out"
    )
    assert main(["train", "--resume", str(tmp_path / "nothing"), "--data", str(tiny_dataset)]) == 2
    assert capsys.readouterr().err == (
        f"pulsecl: error: cannot resume '{tmp_path / 'nothing'}': no such folder; give the --out folder of an "
        "earlier pulsecl train\n"
    )
    # issue 30, case 7: a folder that is not a run said "give a TOML file or a preset"
    (tmp_path / "videos").mkdir()
    assert main(["train", "--resume", str(tmp_path / "videos"), "--data", str(tiny_dataset)]) == 2
    assert capsys.readouterr().err == (
        f"pulsecl: error: cannot resume '{tmp_path / 'videos'}': it is not a run folder (no config.toml); give the "
        "--out folder of an earlier pulsecl train, or start a new run with --out\n"
    )
    assert main(["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r2")]) == 2
    assert capsys.readouterr().err.strip() == f"pulsecl: error: data path '{tmp_path / 'missing'}' does not exist"


def test_resume_with_another_config_is_refused(tiny_dataset, tmp_path):
    config = load_config(None, [*TINY, "train.epochs=1", "train.steps_per_epoch=1"])
    train(config, tiny_dataset, tmp_path / "r", progress=False, log=None)
    other = load_config(None, [*TINY, "train.epochs=1", "train.steps_per_epoch=1", "train.lr=0.5", "train.seed=5"])
    with pytest.raises(pulsecl.ConfigError) as err:
        train(other, tiny_dataset, tmp_path / "r", resume=True, progress=False, log=None)
    # issue 30, case 7: the message names the keys that differ
    assert str(err.value) == (
        f"cannot resume '{tmp_path / 'r'}': the config differs from the run's config.toml in train.lr (0.001 in the "
        f"run, 0.5 now), train.seed (0 in the run, 5 now); resume with the same config (pulsecl train --resume "
        f"{tmp_path / 'r'}, without --set or a config file)"
    )


def test_augmented_branch_is_the_backbone_on_the_augmented_clip():
    from pulsecl.engine.trainer import TrainingModule

    torch.manual_seed(0)
    backbone = pulsecl.build("backbones", "physnet", channels=4, norm="temporal").eval()
    sampler = pulsecl.build("samplers", "identity")
    proxy = pulsecl.build("proxy_tasks", "frequency", crop_negatives=True)
    windows = pulsecl.build("view_windows", "windows", n_views=2)
    augment = pulsecl.build("augmentations", "motion")
    module = TrainingModule(backbone, sampler, proxy, windows, augment)
    x = torch.rand(2, 3, 64, 16, 16, generator=torch.Generator().manual_seed(1))
    fs = torch.tensor([30.0, 25.0])
    out = module(x, fs, torch.Generator().manual_seed(5))
    assert out["augmented"].shape == out["signal"].shape == (2, 64)
    moved = augment(x, fs, generator=torch.Generator().manual_seed(5))  # drawn first
    assert not torch.allclose(moved, x, atol=1e-3)
    with torch.no_grad():
        expected = backbone(moved)
    assert torch.allclose(out["augmented"], expected, atol=1e-6)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            ["loss.weights={mvtl = 1.0, bandwidth = 1.0}"],
            "views.augment = 'motion' makes an augmented copy of every clip that no loss in [loss] "
            "weights reads; add invariance = 1.0 to loss.weights or set views.augment = ''",
        ),
        (
            ["views.augment=''"],
            "loss 'invariance' compares the signal of augmented clips, but views.augment is ''; "
            "remove it from loss.weights or set views.augment = 'motion'",
        ),
        (
            ["train.mode=supervised", "loss.weights={neg_pearson = 1.0, invariance = 1.0}"],
            "loss 'invariance' compares the signal of augmented clips, but supervised training "
            "makes none; remove it from loss.weights",
        ),
        (
            ["views.augment='windows'"],
            "views.augment = 'windows' is one of the view windows, not of the augmentations; give "
            "one of: motion (or '' for none)",
        ),
    ],
)
def test_augmentation_and_its_loss_must_come_together(tiny_dataset, tmp_path, overrides, message):
    config = load_config(None, [*TINY, *overrides])
    with pytest.raises(pulsecl.ConfigError) as e:
        train(config, tiny_dataset, tmp_path / "x", progress=False, log=None)
    assert str(e.value) == message
    assert not (tmp_path / "x" / "last.pt").exists()


def test_without_augmentation_best_is_chosen_by_ipr_alone(tiny_dataset, tmp_path, test_backbones):
    config = load_config(None, [*PASS, "train.epochs=1", "views.augment=''", "loss.weights={mvtl = 1.0}"])
    res = train(config, tiny_dataset, tmp_path / "r", progress=False, log=None)
    epochs = list(csv.DictReader(open(tmp_path / "r" / "epochs.csv")))
    assert set(epochs[0]) == {"epoch", "step", "loss", "ipr", "probe_cross_r", "probe_noise_r", "probe_grey_r", "probe_rate_spread",
                              "probe_pos_spread", "probe_still_db", "probe_same_rate", "collapsed", "best"}
    assert res.best_score == pytest.approx(float(epochs[0]["ipr"]), rel=1e-9)


class _OwnLosses:
    """A third-party plugin that brings its own losses (the built-in ones are disabled)."""

    class PeakShare(torch.nn.Module):
        """1 - the largest bin's share of the signal's power spectrum."""

        requires = ("signal",)

        def forward(self, inputs):
            power = torch.fft.rfft(inputs["signal"] - inputs["signal"].mean(-1, keepdim=True)).abs().square()
            return (1.0 - power.max(-1).values / power.sum(-1).clamp_min(1e-12)).mean()

    class Match(torch.nn.Module):
        requires = ("signal", "target")

        def forward(self, inputs):
            return (inputs["signal"] - inputs["target"]).square().mean()

    @pulsecl.hookimpl
    def pulsecl_register_losses(self, registry):
        registry.add("peak_share", self.PeakShare)
        registry.add("match", self.Match)

    @pulsecl.hookimpl
    def pulsecl_register_backbones(self, registry):
        from pulsecl.testing import PassThroughBackbone

        registry.add("pass-through", PassThroughBackbone)  # learns nothing, never collapses


@pytest.mark.parametrize("mode, loss", [("contrastive", "peak_share"), ("supervised", "match")])
def test_training_needs_no_built_in_loss_plugin(tiny_dataset, tmp_path, monkeypatch, mode, loss):
    from pulsecl.plugins import reset_plugin_manager

    monkeypatch.setenv("PULSECL_DISABLE_PLUGINS", "losses")
    reset_plugin_manager()
    pm = get_plugin_manager()
    assert "mvtl" not in pm.components("losses")
    pm.register(_OwnLosses(), "own-losses")
    config = load_config(None, [*PASS, f"train.mode={mode}", f"loss.weights={{{loss} = 1.0}}", "views.augment=''",
                                "data.val_fraction=0.5"])
    res = train(config, tiny_dataset, tmp_path / mode, progress=False, log=None)
    assert res.steps == 4 and (tmp_path / mode / "best.pt").is_file()
    rows = list(csv.DictReader(open(tmp_path / mode / "log.csv")))
    assert loss in rows[0] and float(rows[0][loss]) >= 0




def test_resume_drops_a_half_written_last_log_row(tiny_dataset, tmp_path):
    """A kill while log.csv was being appended leaves a cut-off last line: resuming
    drops it (a line cut after its first field gave TypeError in _truncate_csv) and
    logs no step twice."""
    config = load_config(None, TINY)
    run = tmp_path / "run"
    pm = get_plugin_manager()
    pm.register(StopAt(3), "stop-at-3")
    part = train(config, tiny_dataset, run, progress=False, log=None)
    pm.unregister(name="stop-at-3")
    assert part.interrupted and part.steps == 3
    with open(run / "log.csv", "a", newline="") as fh:
        fh.write("2")
    with open(run / "epochs.csv", "a", newline="") as fh:
        fh.write("2")
    res = train(config, tiny_dataset, run, resume=True, progress=False, log=None)
    assert (res.steps, res.interrupted) == (4, False)
    rows = list(csv.DictReader(open(run / "log.csv")))
    assert [int(r["step"]) for r in rows] in ([1, 2, 3, 4], [1, 2, 4])
    assert all(None not in r and "" not in r.values() for r in rows)
    assert [int(r["epoch"]) for r in csv.DictReader(open(run / "epochs.csv"))] == [1, 2]


@pytest.mark.parametrize(
    "tail", ["3", "3,", "2,3,0.12", "x,y,z,w\n", "2,3,0.1\n", "2,3,0.1,0.2,0.3\n", "2,2.5e"]
)
def test_truncate_csv_drops_malformed_rows_and_keeps_the_rest(tmp_path, tail):
    from pulsecl.engine.runlog import truncate_csv as _truncate_csv

    path = tmp_path / "log.csv"
    path.write_text("epoch,step,loss,clips_per_s\r\n1,1,0.5,3.0\r\n1,2,0.4,3.1\r\n2,3,0.3,2.9\r\n" + tail)
    _truncate_csv(path, 3)
    rows = list(csv.DictReader(open(path, newline="")))
    assert rows == [
        {"epoch": "1", "step": "1", "loss": "0.5", "clips_per_s": "3.0"},
        {"epoch": "1", "step": "2", "loss": "0.4", "clips_per_s": "3.1"},
        {"epoch": "2", "step": "3", "loss": "0.3", "clips_per_s": "2.9"},
    ]
    _truncate_csv(path, 2)
    assert [r["step"] for r in csv.DictReader(open(path, newline=""))] == ["1", "2"]


def test_a_full_disk_is_found_before_the_first_step(tiny_dataset, tmp_path, capsys, disk_full, monkeypatch):
    """Issue 30, case 7: with room for config.toml and run.json but not for a checkpoint,
    training used to run a whole epoch before it failed; now it does not start."""
    import pulsecl.engine.trainer as trainer_mod
    from pulsecl.engine.clips import load_videos

    steps = []
    monkeypatch.setattr(trainer_mod.Trainer, "_train_step", lambda self, stop: steps.append(1) or {"loss": 0.0})
    run = tmp_path / "run"
    sets = [*TINY, "train.epochs=1", f"data.cache={tmp_path / 'cache'}"]
    load_videos(load_config(None, sets), tiny_dataset, labels=False)  # the cache is built before the disk fills
    state = disk_full(20_000)  # config.toml and run.json fit, a checkpoint does not
    args = ["train", "--data", str(tiny_dataset), "--out", str(run), "--no-progress"]
    assert main([*args, *[a for s in sets for a in ("--set", s)]]) == 2
    assert state["failures"] == 1 and steps == []
    assert capsys.readouterr().err == (
        f"pulsecl: error: '{run / 'last.pt'}': no space left on device; nothing was written; "
        "free space or choose another --out\n"
    )
    assert sorted(p.name for p in run.iterdir()) == ["config.toml", "run.json"]


def test_a_full_disk_during_training_is_one_line_and_leaves_no_half_checkpoint(tiny_dataset, tmp_path, capsys, disk_full, monkeypatch):
    import pulsecl.engine.trainer as trainer_mod
    from pulsecl.engine.clips import load_videos

    monkeypatch.setattr(trainer_mod, "check_room", lambda path, nbytes: None)  # the disk fills up later
    run = tmp_path / "run"
    sets = [*TINY, "train.epochs=1", f"data.cache={tmp_path / 'cache'}"]
    load_videos(load_config(None, sets), tiny_dataset, labels=False)  # the cache is built before the disk fills
    state = disk_full(20_000)  # config.toml and run.json fit, a checkpoint does not
    args = ["train", "--data", str(tiny_dataset), "--out", str(run), "--no-progress"]
    assert main([*args, *[a for s in sets for a in ("--set", s)]]) == 2
    assert state["failures"] == 1
    assert capsys.readouterr().err == (
        f"pulsecl: error: '{run / 'last.pt'}': no space left on device; nothing was written; "
        "free space or choose another --out\n"
    )
    assert sorted(p.name for p in run.iterdir()) == ["config.toml", "epochs.csv", "log.csv", "run.json"]


class FakeClock:
    """time.perf_counter for the trainer: 10 s pass with every training step, and no
    other time passes (so the budget is counted in steps, whatever the machine)."""

    def __init__(self, stop_at=None):
        self.now = 1000.0
        self.stop_at = stop_at

    def perf_counter(self):
        return self.now

    @pulsecl.hookimpl
    def pulsecl_train_step_end(self, step):
        self.now += 10.0
        if step == self.stop_at:
            raise KeyboardInterrupt


def test_a_resumed_run_spends_only_the_time_budget_it_had_left(tiny_dataset, tmp_path, monkeypatch):
    import pulsecl.engine.trainer as trainer_mod

    config = load_config(None, [*TINY, "train.epochs=100", "train.time_budget_s=35"])
    pm = get_plugin_manager()

    clock = FakeClock()
    monkeypatch.setattr(trainer_mod.time, "perf_counter", clock.perf_counter)
    pm.register(clock, "clock")
    whole = train(config, tiny_dataset, tmp_path / "whole", progress=False, log=None)
    pm.unregister(name="clock")
    assert (whole.steps, whole.epochs, whole.seconds) == (4, 2, 40.0)  # 40 s >= 35 s after step 4

    clock = FakeClock(stop_at=3)  # Ctrl-C after the first epoch, 30 s into the budget
    monkeypatch.setattr(trainer_mod.time, "perf_counter", clock.perf_counter)
    pm.register(clock, "clock")
    part = train(config, tiny_dataset, tmp_path / "part", progress=False, log=None)
    pm.unregister(name="clock")
    assert part.interrupted and part.steps == 3
    assert load_checkpoint(tmp_path / "part" / "last.pt")["train_state"]["elapsed_s"] == 30.0

    clock = FakeClock()  # a new process: its clock starts anywhere
    clock.now = 5.0
    monkeypatch.setattr(trainer_mod.time, "perf_counter", clock.perf_counter)
    pm.register(clock, "clock")
    resumed = train(config, tiny_dataset, tmp_path / "part", resume=True, progress=False, log=None)
    pm.unregister(name="clock")
    assert (resumed.steps, resumed.epochs, resumed.interrupted, resumed.seconds) == (4, 2, False, 40.0)


def test_a_fresh_run_drops_the_logs_of_a_run_killed_before_its_first_checkpoint(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "log.csv").write_text("epoch,step,loss,clips_per_s\r\n1,1,9.0,1.0\r\n1,2,9.0,1.0\r\n1,3,9.")
    config = load_config(None, [*TINY, "train.epochs=1"])
    train(config, tiny_dataset, run, progress=False, log=None)
    rows = list(csv.DictReader(open(run / "log.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2] and all(float(r["loss"]) != 9.0 for r in rows)


class Recorder(torch.nn.Module):
    """Spatial-mean backbone that records the clips it is given."""

    def __init__(self):
        super().__init__()
        self.seen = []
        self.w = torch.nn.Parameter(torch.ones(()))

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.w * x.mean(dim=(1, 3, 4))


def _module(fraction=1.0):
    from pulsecl.engine.trainer import TrainingModule

    backbone = Recorder()
    proxy = pulsecl.build("proxy_tasks", "frequency")
    module = TrainingModule(
        backbone, pulsecl.build("samplers", "identity"), proxy,
        pulsecl.build("view_windows", "windows", n_views=2), pulsecl.build("augmentations", "motion"),
        augment_fraction=fraction,
    )
    module.clip_frames = 64
    return module, backbone, proxy


def test_equal_length_step_runs_every_clip_at_the_anchor_length_in_one_call():
    module, backbone, proxy = _module()
    x = torch.rand(4, 3, proxy.context_frames(64), 8, 8, generator=torch.Generator().manual_seed(1))
    assert x.shape[2] == 96  # ceil(64 * 1.5)
    out = module(x, torch.full((4,), 30.0), torch.Generator().manual_seed(2))
    copy, main_call = backbone.seen  # the augmented copy, then anchors + negatives together
    assert copy.shape == (4, 3, 64, 8, 8)
    assert main_call.shape == (8, 3, 64, 8, 8)  # 2B clips, every one of T frames
    assert torch.equal(main_call[:4], x[:, :, :64])  # the anchors: the context's first T frames
    assert out["signal"].shape == out["augmented"].shape == out["negative"].shape == (4, 64)


def test_augmented_copy_of_a_share_of_the_batch():
    module, backbone, proxy = _module(fraction=0.5)
    x = torch.rand(4, 3, 96, 8, 8)
    out = module(x, torch.full((4,), 30.0), torch.Generator().manual_seed(2))
    assert backbone.seen[0].shape[0] == 2 and out["augmented"].shape == (2, 64)


def test_the_trainer_builds_the_copy_the_config_asks_for(tmp_path):
    """The trainer hands views.augment_fraction to its module (the default: a copy of every
    clip); the options measured and dropped are refused with what replaced them."""
    from pulsecl.config import load_config
    from pulsecl.engine.trainer import Trainer
    from pulsecl.errors import ConfigError

    trainer = Trainer(load_config(None, list(TINY)), None, tmp_path / "a", log=None)
    trainer._build()
    assert trainer.module.augment_fraction == 1.0
    trainer = Trainer(load_config(None, [*TINY, "views.augment_fraction=0.25"]), None, tmp_path / "b", log=None)
    trainer._build()
    assert trainer.module.augment_fraction == 0.25
    for key, why in (("views.augment_on='negatives'", "motion on the negatives or on the anchor lost"),
                     ("views.augment_scale=0.5", "the half-size copy lost the motion result")):
        with pytest.raises(ConfigError, match=f"unknown key '{key.split('=')[0]}': .*{why}"):
            load_config(None, [key])


def test_trainer_draws_the_context_and_gives_groups(tiny_dataset, tmp_path, test_backbones):
    """The sampler draws context_frames(T) frames; the losses get each clip's group."""
    seen = {}

    class Spy:
        @pulsecl.hookimpl
        def pulsecl_extra_negatives(self, spectra, groups):
            seen.setdefault("groups", []).append(groups.tolist())

    pm = get_plugin_manager()
    pm.register(Spy(), "spy")
    try:
        from pulsecl.engine.trainer import Trainer

        trainer = Trainer(load_config(None, [*PASS, "train.epochs=1", "train.steps_per_epoch=2"]), tiny_dataset,
                          tmp_path / "r", progress=False, log=None)
        trainer.fit()
    finally:
        pm.unregister(name="spy")
    assert trainer.sampler_data.clip_frames == 96 and trainer.clip_frames == 64
    assert trainer.groups == [0, 1]  # subject1, subject2
    assert len(seen["groups"]) == 2 and all(set(g) <= {0, 1} and len(g) == 2 for g in seen["groups"])


@pytest.mark.parametrize("on", [True, False])
def test_channels_last_layout_of_the_conv_weights(tmp_path, on):
    from pulsecl.engine.trainer import Trainer

    trainer = Trainer(load_config(None, [*TINY, f"train.channels_last={str(on).lower()}"]), None, tmp_path / "r", log=None)
    trainer._build()
    conv = trainer.module.backbone.stem[0].weight  # (C, 3, 1, 5, 5)
    assert conv.is_contiguous(memory_format=torch.channels_last_3d) is on
    assert conv.is_contiguous() is not on


@pytest.mark.parametrize(
    "setting, extra, on",
    [
        ("true", [], True),
        ("false", [], False),
        ("'auto'", [], True),  # the tiny clips: far under the small default's volume
        # the paper's size (batch 4 x 300 frames x 64^2, 4.7x the small default): off
        ("'auto'", ["train.batch_size=4", "data.clip_frames=300", "preprocess.size=64"], False),
        ("true", ["train.batch_size=4", "data.clip_frames=300", "preprocess.size=64"], True),
    ],
)
def test_keep_memory_asks_malloc_to_keep_freed_memory_when_set_or_clips_are_small(
    tmp_path, monkeypatch, setting, extra, on
):
    import pulsecl.engine.trainer as trainer_module

    calls = []
    monkeypatch.setattr(trainer_module, "keep_freed_memory", lambda: calls.append(1) or True)
    trainer = trainer_module.Trainer(
        load_config(None, [*TINY, *extra, f"train.keep_memory={setting}"]), None, tmp_path / "r", log=None
    )
    trainer._build()
    assert trainer.keeps_memory is on
    assert len(calls) == (1 if on else 0)


def test_keep_memory_auto_covers_up_to_twice_the_small_default():
    from pulsecl.engine.device import keeps_memory_by_default

    assert keeps_memory_by_default(8, 128, 32)  # the small default
    assert keeps_memory_by_default(16, 128, 32)  # twice its volume
    assert not keeps_memory_by_default(17, 128, 32)
    assert not keeps_memory_by_default(4, 300, 64)  # the paper's size: 18.8 GB peak with it on
    assert load_config(None, []).train.keep_memory == "auto"


def test_keep_memory_rejects_other_words():
    from pulsecl.errors import ConfigError

    with pytest.raises(ConfigError, match=r"train.keep_memory = 'maybe': use true, false or 'auto'"):
        load_config(None, ["train.keep_memory=maybe"])


_RSS_AFTER_FREE = r"""
import numpy as np
from pulsecl.engine.device import keep_freed_memory

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

def kept_after_free():
    base = rss_mb()
    a = np.ones(64 * 1024 * 1024 // 8)  # 64 MB, every page touched
    del a
    return rss_mb() - base

before = kept_after_free()
took = keep_freed_memory()
after = kept_after_free()
print(before, took, after)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_keeps_a_freed_64_mb_block_resident():
    # glibc's default hands a 64 MB block back to the system on free (RSS falls back);
    # after keep_freed_memory() the block stays in the heap, mapped, for the next step.
    out = subprocess.run([sys.executable, "-c", _RSS_AFTER_FREE], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    before, took, after = out.stdout.split()
    assert took == "True"
    assert float(before) < 8
    assert float(after) > 56


# ---------------------------------------------------------------------------------------
# --init: fine-tuning a shipped model or a checkpoint on one's own unlabelled videos
# ---------------------------------------------------------------------------------------

PHYSNET4 = [*TINY, "model.options={channels = 4, norm = 'chromatic'}"]
TUNE = [o for o in TINY if not o.startswith("model.")]  # the data and training settings only


@pytest.fixture(scope="module")
def start_run(tiny_dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("start") / "run"
    train(load_config(None, PHYSNET4), tiny_dataset, run, progress=False, log=None)
    return run


def test_init_starts_from_the_weights_and_keeps_the_start_when_nothing_beats_it(tiny_dataset, tmp_path, start_run,
                                                                                  monkeypatch):
    from pulsecl.engine.trainer import Trainer

    real = Trainer._score
    scores = []

    def score(self):  # the start's own score, then epochs that only tie it
        name, value, parts = real(self)
        scores.append(value)
        return name, scores[0], parts

    monkeypatch.setattr(Trainer, "_score", score)
    start = load_checkpoint(start_run / "last.pt")
    run, lines = tmp_path / "tuned", []
    train(load_config(None, [*TUNE, f"train.init='{start_run / 'last.pt'}'"]), tiny_dataset, run,
          progress=False, log=lines.append)
    best = load_checkpoint(run / "best.pt")
    assert states_equal(best["state_dict"], start["state_dict"])
    assert best["model"] == start["model"] and best["init"] == str(start_run / "last.pt")
    assert load_config(run / "config.toml").model == load_config(None, PHYSNET4).model  # the start's architecture
    assert lines[1].startswith(f"start {start_run / 'last.pt'}: ipr+invariance ")
    assert lines[-1] == f"best.pt is the start ({start_run / 'last.pt'}): no epoch did better by the unlabelled criteria"


def test_a_start_that_adaptation_worsens_is_kept(tiny_dataset, tmp_path, start_run, monkeypatch):
    from pulsecl.engine.trainer import Trainer

    scores = iter([0.50, 0.70, 0.60])  # the start, then two epochs that score worse

    monkeypatch.setattr(Trainer, "_score", lambda self: ("ipr", next(scores), {}))
    run = tmp_path / "tuned"
    train(load_config(None, [*TUNE, f"train.init='{start_run}'", "train.lr=0.05"]), tiny_dataset, run,
          progress=False, log=None)
    best, last = load_checkpoint(run / "best.pt"), load_checkpoint(run / "last.pt")
    start = load_checkpoint(start_run / "best.pt")
    assert states_equal(best["state_dict"], start["state_dict"])  # best.pt is the start, bit for bit
    assert not states_equal(last["state_dict"], start["state_dict"])  # the epochs did change the weights
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    assert [e["best"] for e in epochs] == ["False", "False"]


def test_an_epoch_that_beats_the_start_replaces_it(tiny_dataset, tmp_path, start_run, monkeypatch):
    from pulsecl.engine.trainer import Trainer

    from pulsecl.engine.probe import ProbeResult

    scores = iter([0.50, 0.40, 0.45])
    monkeypatch.setattr(Trainer, "_score", lambda self: ("ipr", next(scores), {}))
    # a clean probe for the start and every epoch: what this test is about is the score (the
    # tiny model's own probe sits near the noise limit, and which side depended on the order
    # the tests ran in)
    clean = ProbeResult(0.1, 0.1, 0.0, 4, rate_spread=20.0, pos_spread=20.0, still_db=-5.0)
    monkeypatch.setattr(Trainer, "_probe", lambda self: clean)
    run = tmp_path / "tuned"
    res = train(load_config(None, [*TUNE, f"train.init='{start_run}'", "train.lr=0.05"]), tiny_dataset, run,
                progress=False, log=None)
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    assert [e["best"] for e in epochs] == ["True", "False"] and res.best_score == 0.40


def test_init_with_another_architecture_or_crop_is_one_line_error(tiny_dataset, tmp_path, start_run, capsys):
    argv = ["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "r"), "--no-progress", "--init", str(start_run)]
    for key in ("model.options={channels = 8}", "preprocess.size=24"):
        assert main([*argv, *[x for o in TUNE for x in ("--set", o)], "--set", key]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "fine-tuning keeps the starting model's architecture and crops" in err[0]
        assert key.split("=")[0] in err[0]
    assert main(["train", "--resume", str(start_run), "--init", "pulsecl-small"]) == 2
    assert "--init starts a new run" in capsys.readouterr().err


def test_init_takes_a_shipped_model_by_name(tiny_dataset, tmp_path, monkeypatch):
    from pulsecl.engine.trainer import Trainer
    from pulsecl.models import load_model

    scores = iter([0.5, 0.9])
    monkeypatch.setattr(Trainer, "_score", lambda self: ("ipr", next(scores), {}))
    run = tmp_path / "tuned"
    train(load_config(None, ["data.exclude=[]", "train.init='pulsecl-small'", "train.epochs=1", "data.clip_frames=64",
                             "train.steps_per_epoch=1", "train.batch_size=2"]),
          tiny_dataset, run, progress=False, log=None)
    shipped = load_model("pulsecl-small")
    best = load_checkpoint(run / "best.pt")
    assert states_equal(best["state_dict"], shipped.net.backbone.state_dict()) and best["init"] == "pulsecl-small"


def test_snapshots_are_saved_when_the_training_time_passes_them(tiny_dataset, tmp_path, monkeypatch, test_backbones):
    from pulsecl.engine.trainer import Trainer

    clock = iter(range(0, 1000, 10))  # each look at the clock: 10 s later
    monkeypatch.setattr(Trainer, "_elapsed", lambda self: float(next(clock)))
    run, lines = tmp_path / "run", []
    train(load_config(None, [*PASS, "train.snapshots_s=[15, 35, 5000]"]), tiny_dataset, run, progress=False,
          log=lines.append)
    assert (run / "snapshot-15s.pt").is_file() and (run / "snapshot-35s.pt").is_file()
    assert not (run / "snapshot-5000s.pt").exists()
    snap = load_checkpoint(run / "snapshot-15s.pt")
    assert snap["train_state"] is None and snap["model"]["backbone"] == "pass-through"
    assert sum("snapshot after" in line for line in lines) == 2
    with pytest.raises(pulsecl.ConfigError, match="train.snapshots_s"):
        load_config(None, ["train.snapshots_s=[0]"])


def test_an_epoch_that_scores_better_but_makes_a_stronger_still_face_rhythm_does_not_replace_the_start(
        tiny_dataset, tmp_path, start_run, monkeypatch):
    from pulsecl.engine.probe import ProbeResult
    from pulsecl.engine.trainer import START_STILL_TOLERANCE_DB, Trainer

    scores = iter([0.50, 0.30, 0.20])  # both epochs score better than the start ...
    stills = iter([-3.0, -3.0 + START_STILL_TOLERANCE_DB + 0.1, -3.0 + START_STILL_TOLERANCE_DB])  # ... the first drifts
    monkeypatch.setattr(Trainer, "_score", lambda self: ("ipr", next(scores), {}))
    monkeypatch.setattr(Trainer, "_probe", lambda self: ProbeResult(0.1, 0.1, 0.0, 4, 20.0, 25.0, next(stills)))
    run = tmp_path / "tuned"
    train(load_config(None, [*TUNE, f"train.init='{start_run}'"]), tiny_dataset, run, progress=False, log=None)
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    assert [e["best"] for e in epochs] == ["False", "True"]  # the drifting epoch is passed over


def test_an_epoch_that_draws_the_faces_rates_together_does_not_replace_the_start(
        tiny_dataset, tmp_path, start_run, monkeypatch):
    from pulsecl.engine.probe import ProbeResult
    from pulsecl.engine.trainer import Trainer

    scores = iter([0.50, 0.30, 0.20])
    spreads = iter([26.0, 0.4, 14.0])  # the start's rates spread 26 bpm; epoch 1 gives both faces one rate
    monkeypatch.setattr(Trainer, "_score", lambda self: ("ipr", next(scores), {}))
    monkeypatch.setattr(Trainer, "_probe", lambda self: ProbeResult(0.1, 0.1, 0.0, 2, next(spreads), 5.0, -6.0))
    run = tmp_path / "tuned"
    train(load_config(None, [*TUNE, f"train.init='{start_run}'"]), tiny_dataset, run, progress=False, log=None)
    epochs = list(csv.DictReader(open(run / "epochs.csv")))
    assert [e["best"] for e in epochs] == ["False", "True"]


def test_batch_loss_is_the_training_steps_loss_and_changes_no_weight(tiny_dataset, tmp_path):
    # benchmarks/objective_terms.py scores models with batch_loss: it must be the very loss
    # a training step optimises on the same batch and draws, and must not train
    from pulsecl.engine.trainer import Trainer, _StopFlag

    trainer = Trainer(load_config(None, list(TINY)), tiny_dataset, tmp_path / "r", progress=False, log=None)
    trainer._build()
    trainer._load_data()
    trainer.epoch, trainer.step = 0, 0
    before = {k: v.clone() for k, v in trainer.module.state_dict().items()}
    trainer.generator.manual_seed(11)
    batch = trainer.sampler_data.draw(trainer.config.train.batch_size, trainer.generator, 0, 1)
    trainer.module.train()
    with torch.no_grad():
        total, terms, spectra, freqs, groups = trainer.batch_loss(batch)
    assert set(terms) == {"mvtl", "bandwidth", "sparsity", "invariance"}
    assert spectra["anchor"].shape[0] == batch.x.shape[0] and freqs.ndim == 1
    assert all(torch.equal(p, before[k]) for k, p in trainer.module.named_parameters())  # no weight moved
    trainer.module.load_state_dict(before)  # train-mode BatchNorm moved its running statistics
    trainer.generator.manual_seed(11)
    row = trainer._train_step(_StopFlag())
    assert row["loss"] == pytest.approx(float(total), rel=1e-5, abs=1e-6)
    assert row["mvtl"] == pytest.approx(float(terms["mvtl"]), rel=1e-5, abs=1e-6)
    assert any(not torch.equal(v, before[k]) for k, v in trainer.module.state_dict().items())  # the step trained
