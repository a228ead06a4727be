"""Shipped models: listed by `pulsecl models`, loaded by name by predict and the CLI."""

from __future__ import annotations

import shutil

import numpy as np

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


def test_a_local_folder_does_not_shadow_a_shipped_model(shipped, small_frames, tmp_path, monkeypatch):
    """Issue 30, case 2: `mkdir tiny-net; pulsecl predict v --model tiny-net` said "'tiny-net'
    is a folder without best.pt"; --model names a shipped model only."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny-net").mkdir()
    frames, fs, _ = small_frames
    by_name = pulsecl.predict(frames, fs=fs, model="tiny-net")
    assert by_name.checkpoint == "tiny-net"


def test_a_path_given_to_model_says_to_use_checkpoint(shipped, tmp_path, capsys):
    ck = shipped / "tiny-net.pt"
    assert main(["predict", "v.mp4", "--model", str(ck), "--no-crop-process", "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        f"pulsecl: error: --model takes the name of a model shipped with pulsecl, not a path: '{ck}' is a file or "
        "folder; give it with --checkpoint (shipped: tiny-net)\n"
    )
    run = tmp_path / "myrun"
    run.mkdir()
    with pytest.raises(CheckpointError, match=r"'.*myrun' is a file or folder; give it with --checkpoint"):
        pulsecl.predict(np.zeros((10, 8, 8, 3), np.uint8), fs=30.0, model=str(run))


def test_a_shipped_name_given_to_checkpoint_says_to_use_model(shipped, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no file or folder called tiny-net here
    assert main(["predict", "v.mp4", "--checkpoint", "tiny-net", "--no-crop-process", "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        "pulsecl: error: --checkpoint takes a checkpoint file or run folder, and 'tiny-net' is neither; it is the "
        "name of a shipped model: use --model tiny-net\n"
    )


def test_a_broken_plugin_is_named_and_the_shipped_model_is_not_blamed(shipped, monkeypatch, capsys):
    """Issue 30, case 4: with the plugin that provides a shipped model's backbone broken,
    --model says so, and does not call the shipped file a bad checkpoint."""
    import sys

    monkeypatch.setitem(sys.modules, "pulsecl_physnet", None)  # its import fails, as a broken install's would
    assert main(["predict", "v.mp4", "--model", "tiny-net", "--no-crop-process", "--no-progress"]) == 2
    warning, error = capsys.readouterr().err.splitlines()
    assert warning.startswith("pulsecl: warning: error importing built-in plugin 'physnet' (distribution pulsecl ")
    assert error.startswith("pulsecl: error: shipped model 'tiny-net': cannot rebuild its model: unknown backbones "
                            "'physnet'")
    assert error.endswith(f"; plugin 'physnet' (pulsecl {pulsecl.__version__}) failed to load (ModuleNotFoundError: "
                          "import of pulsecl_physnet halted; None in sys.modules), and may provide it")
    assert "tiny-net.pt" not in error
