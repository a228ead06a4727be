"""A training recipe in a suite: trained once, labels never read, reused on rerun; the
same model given as a checkpoint gives the same numbers."""

import json
import shutil

import pytest

import pulsecl

from bench_helpers import TINY_RECIPE, TINY_SET, read_csv, render_tiny, table_rows, write_suite
from pulsecl.bench import load_records, load_suite, run_suite
from pulsecl.engine.checkpoint import load_checkpoint


@pytest.fixture(autouse=True)
def _recipe_backbone(test_backbones):
    """The recipe's pass-through backbone is registered for every test here."""


def _suite(folder, train, test, extra=""):
    recipe = ", ".join(json.dumps(s) for s in TINY_RECIPE)
    return write_suite(
        folder,
        f"""
        [suite]
        name = "recipe"
        set = {TINY_SET}
        [datasets.train]
        path = "{train}"
        evaluate = false
        [datasets.test]
        path = "{test}"
        [methods.ssl]
        kind = "recipe"
        set = [{recipe}]
        train_data = "train"
        """
        + extra,
    )


def test_a_recipe_trains_once_without_labels_and_a_checkpoint_of_it_scores_the_same(tmp_path):
    test = render_tiny(tmp_path / "test")
    train = tmp_path / "train"
    shutil.copytree(test, train)
    for gt in train.glob("*/ground_truth.txt"):
        gt.write_text("these labels must never be read\n")  # reading them would fail
    out = tmp_path / "out"
    suite = load_suite(_suite(tmp_path, train, test))
    result = run_suite(suite, out, progress=False, log=None)
    assert result.ran == ["test/ssl/s0"] and not result.failed
    (rec,) = load_records(out)
    run = out / "runs" / "ssl-s0"
    assert rec["train"]["steps"] == 2 and rec["train"]["labels_read"] is False
    assert rec["train"]["run_dir"] == str(run) and rec["model"]["checkpoint"] == str(run / "best.pt")
    assert rec["seed"] == 0 and rec["config"]["train"]["seed"] == 0
    assert rec["config"]["preprocess"]["size"] == 16 and rec["model"]["clip_frames"] == 64
    assert rec["provenance"]["device"]["type"] == "cpu"
    assert "## Training runs" in (out / "report" / "report.md").read_text()

    # A rerun that needs the model again reuses the run instead of training.
    best = (run / "best.pt").stat().st_mtime_ns
    (out / "cells" / "test--ssl--s0.json").unlink()
    again = run_suite(suite, out, progress=False, log=None)
    assert again.ran == ["test/ssl/s0"]
    (rec2,) = load_records(out)
    assert rec2["train"]["reused"] is True and (run / "best.pt").stat().st_mtime_ns == best
    assert rec2["metrics"] == rec["metrics"]

    # The trained run, given as a fixed checkpoint, evaluates to the same numbers.
    extra = f"""
        [methods.fixed]
        kind = "checkpoint"
        path = "{run / 'best.pt'}"
        """
    both = load_suite(_suite(tmp_path, train, test, extra))
    result = run_suite(both, out, progress=False, log=None)
    assert result.skipped == ["test/ssl/s0"] and result.ran == ["test/fixed"]
    table = table_rows(result.report["tables"]["test"])
    assert table["ssl"][1:] == table["fixed"][1:]
    rows = read_csv(out / "report" / "videos.csv")
    assert [r["hr_pred"] for r in rows if r["method"] == "ssl"] == [r["hr_pred"] for r in rows if r["method"] == "fixed"]


def test_a_run_trained_with_other_settings_is_not_reused(tmp_path):
    from pulsecl.errors import ConfigError

    test = render_tiny(tmp_path / "test")
    path = _suite(tmp_path, test, test)
    out = tmp_path / "out"
    run = out / "runs" / "ssl-s0"
    run.mkdir(parents=True)
    (run / "bench.json").write_text(json.dumps({"run_key": "something else"}))
    with pytest.raises(ConfigError, match="trained with other settings"):
        from pulsecl.bench.runner import _Context, train_recipe

        suite = load_suite(path)
        train_recipe(_Context(suite, out, {"train": test}), "ssl", 0, "ssl-s0")


class _StopAt:
    """Ctrl-C after training step ``n``."""

    def __init__(self, n):
        self.n = n

    @pulsecl.hookimpl
    def pulsecl_train_step_end(self, step):
        if step == self.n:
            raise KeyboardInterrupt


def test_a_suite_interrupted_after_the_first_epoch_resumes_its_run_and_reports(tmp_path):
    """Ctrl-C after epoch 1 left best.pt and last.pt but no bench.json; every rerun then
    failed with "KeyError: 'train'" (the training data was not prepared)."""
    from pulsecl.plugins import get_plugin_manager

    test = render_tiny(tmp_path / "test")
    suite = load_suite(_suite(tmp_path, test, test))
    out = tmp_path / "out"
    run = out / "runs" / "ssl-s0"
    pm = get_plugin_manager()
    pm.register(_StopAt(2), "stop")
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, out, progress=False, log=None)
    pm.unregister(name="stop")
    assert (run / "best.pt").is_file() and not (run / "bench.json").exists()
    assert load_checkpoint(run / "last.pt")["train_state"]["step"] == 2

    result = run_suite(suite, out, progress=False, log=None)
    assert result.ran == ["test/ssl/s0"] and not result.failed
    (rec,) = load_records(out)
    assert rec["train"]["resumed"] is True and rec["train"]["steps"] == 2 and rec["train"]["epochs"] == 2
    assert "## Training runs" in (out / "report" / "report.md").read_text()


_KILLED_AFTER_EPOCH_1 = """
import os, sys, time
from pathlib import Path
from pulsecl.engine import trainer

real = trainer.Trainer._save


def save_then_wait(self, name, train_state=True):
    real(self, name, train_state)
    if name == "best.pt" and self.epoch == 1:
        Path(sys.argv[1]).touch()
        time.sleep(120)  # killed here


trainer.Trainer._save = save_then_wait
import pulsecl.plugins

pulsecl.plugins.BUILTIN_PLUGINS["test-backbones"] = "pulsecl_test_backbones"  # the recipe's pass-through
from pulsecl.cli import main

sys.exit(main(["bench", sys.argv[2], "--out", sys.argv[3], "--no-progress"]))
"""


_TEST_BACKBONES = """
from pulsecl import hookimpl


@hookimpl
def pulsecl_register_backbones(registry):
    from pulsecl.testing import PassThroughBackbone

    registry.add("pass-through", PassThroughBackbone, description="test: the mean green trace")
"""


def test_a_bench_killed_after_the_first_epoch_finishes_on_the_next_run(tmp_path, capsys, monkeypatch):
    import os
    import signal
    import subprocess
    import sys
    import time

    import pulsecl.plugins
    from pulsecl.cli import main

    # The recipe's pass-through backbone, as a plugin module that this process and the
    # killed one both load (the CLI starts from a fresh plugin manager).
    (tmp_path / "pulsecl_test_backbones.py").write_text(_TEST_BACKBONES)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(pulsecl.plugins.BUILTIN_PLUGINS, "test-backbones", "pulsecl_test_backbones")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))

    test = render_tiny(tmp_path / "test")
    path = _suite(tmp_path, test, test)
    out = tmp_path / "out"
    mark = tmp_path / "epoch1.mark"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_AFTER_EPOCH_1, str(mark), str(path), str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )
    try:
        for _ in range(3000):  # until epoch 1 is saved (no timing is asserted)
            if mark.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert mark.exists(), proc.stderr.read().decode() if proc.poll() is not None else "no epoch"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    run = out / "runs" / "ssl-s0"
    assert (run / "best.pt").is_file() and not (run / "bench.json").exists()

    assert main(["bench", str(path), "--out", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "failed" not in captured.err and "KeyError" not in captured.err
    assert "ssl (seed 0): resuming the interrupted training run in" in captured.out
    assert "1 cells run, 0 already done, 0 failed" in captured.out
    (rec,) = load_records(out)
    assert rec["train"]["resumed"] is True and rec["train"]["steps"] == 2
