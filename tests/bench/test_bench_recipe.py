"""A training recipe in a suite: trained once, labels never read, reused on rerun; the
same model given as a checkpoint gives the same numbers."""

import json
import shutil

import pytest

from bench_helpers import TINY_RECIPE, TINY_SET, read_csv, render_tiny, table_rows, write_suite
from pulsecl.bench import load_records, load_suite, run_suite


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
