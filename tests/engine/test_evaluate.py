"""Evaluation: numbers in the CSV agree with the pulse, heart rates match the truth."""

import csv
import json

import numpy as np
import pytest

from engine_settings import TINY
from pulsecl.cli import main
from pulsecl.config import load_config
from pulsecl.engine.clips import load_videos
from pulsecl.engine.evaluate import classical_pulse, evaluate_videos, write_results


@pytest.fixture(scope="module")
def videos(tiny_dataset):
    return load_videos(load_config(None, ["data.exclude=[]", "preprocess.size=16"]), tiny_dataset)


def test_pos_on_synthetic_videos_finds_the_heart_rate_put_in(videos, tiny_dataset, tmp_path):
    config = load_config(None, ["data.exclude=[]", "signal.window_s=4", "signal.stride_s=1"])
    result = evaluate_videos(videos, config, "pos", lambda v: classical_pulse("pos", v))
    for r in result.videos:
        truth = json.loads((tiny_dataset / r.video / "params.json").read_text())["hr_mean_bpm"]
        assert abs(r.hr_ref - truth) < 3.0, (r.video, r.hr_ref, truth)  # the reference pulse's HR
        assert abs(r.hr_pred - r.hr_ref) < 3.0, (r.video, r.hr_pred, r.hr_ref)
        assert r.snr_db > 0 and 0 < r.macc <= 1
        assert len(r.windows) == 3  # 6 s video, 4 s windows, 1 s stride
    paths = write_results(result, tmp_path / "ev")
    rows = list(csv.DictReader(open(paths["videos"])))
    errors = [abs(float(r["hr_pred"]) - float(r["hr_ref"])) for r in rows]
    summary = json.loads(paths["summary"].read_text())
    assert summary["metrics"]["mae"] == pytest.approx(np.mean(errors), abs=2e-3)
    assert summary["metrics"]["n"] == 2


def test_evaluate_cli_on_a_trained_checkpoint(tiny_dataset, tmp_path, capsys):
    from pulsecl.engine.trainer import train

    run = tmp_path / "run"
    train(load_config(None, [*TINY, "train.epochs=1", "train.steps_per_epoch=1"]), tiny_dataset, run, progress=False, log=None)
    out = tmp_path / "eval"
    # (this tiny model is collapsed, so the run has no best.pt: evaluate its last.pt)
    assert main(["evaluate", str(run / "last.pt"), "--data", str(tiny_dataset), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "summary: videos=2, labelled=2" in printed
    rows = list(csv.DictReader(open(out / "videos.csv")))
    assert [r["video"] for r in rows] == ["subject1", "subject2"]
    assert all(int(r["frames"]) == 180 for r in rows)
    assert main(["evaluate", str(tmp_path / "nope.pt"), "--data", str(tiny_dataset)]) == 2
    assert f"checkpoint '{tmp_path / 'nope.pt'}' does not exist" in capsys.readouterr().err
