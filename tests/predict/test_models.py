"""Shipped models: listed by `pulsecl models`, loaded by name by predict and the CLI."""

from __future__ import annotations

import shutil

import pytest

import pulsecl
from pulsecl.cli import main
from pulsecl.errors import CheckpointError


@pytest.fixture
def shipped(tmp_path, monkeypatch, make_checkpoint):
    """A pretrained folder holding one model, 'tiny-net', with its card."""
    import pulsecl.models

    folder = tmp_path / "pretrained"
    folder.mkdir()
    shutil.copy(make_checkpoint(), folder / "tiny-net.pt")
    (folder / "tiny-net.md").write_text("# tiny-net: an untrained 4-channel PhysNet for tests\n\nData: none.\n")
    monkeypatch.setattr(pulsecl.models, "PRETRAINED_DIR", folder)
    return folder


def test_a_shipped_model_is_listed_and_loaded_by_name(shipped, small_frames):
    from pulsecl.models import list_models, load_model

    (m,) = list_models()
    assert (m.name, m.path, m.summary) == ("tiny-net", shipped / "tiny-net.pt", "tiny-net: an untrained 4-channel PhysNet for tests")
    model = load_model("tiny-net")
    assert model.name == "tiny-net" and model.label == "tiny-net" and model.clip_frames == 64
    frames, fs, _ = small_frames
    by_name = pulsecl.predict(frames, fs=fs, model="tiny-net")
    by_path = pulsecl.predict(frames, fs=fs, checkpoint=shipped / "tiny-net.pt")
    assert by_name.hr_bpm == pytest.approx(by_path.hr_bpm, abs=1e-9)
    assert by_name.checkpoint == "tiny-net" and by_name.summary()["checkpoint"] == "tiny-net"


def test_an_unknown_model_name_lists_the_shipped_ones(shipped):
    from pulsecl.models import load_model

    with pytest.raises(CheckpointError, match=r"no checkpoint 'tiny-nt' and no shipped model of that name.*did you mean 'tiny-net'.*shipped: tiny-net"):
        load_model("tiny-nt")


def test_models_command_lists_and_prints_cards(shipped, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tiny-net" in out and "an untrained 4-channel PhysNet" in out and "--model NAME" in out
    assert main(["models", "tiny-net"]) == 0
    assert "Data: none." in capsys.readouterr().out
    assert main(["models", "huge-net"]) == 2
    assert "no shipped model 'huge-net'" in capsys.readouterr().err


def test_predict_cli_takes_a_model_name(shipped, videos, capsys):
    assert main(["predict", str(videos["light-15fps"].path), "--model", "tiny-net", "--no-progress"]) == 0
    assert "tiny-net" in capsys.readouterr().out
