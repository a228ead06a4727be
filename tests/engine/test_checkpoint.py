"""Checkpoints: atomic save, weights_only load, and the errors for bad files."""

import collections

import pytest
import torch

import pulsecl
from pulsecl.engine.checkpoint import _load_state, load_checkpoint, save_checkpoint
from pulsecl.errors import CheckpointError


def test_round_trip(tmp_path):
    net = torch.nn.Linear(3, 2)
    path = tmp_path / "run" / "last.pt"
    save_checkpoint(path, {"model": {"backbone": "x", "options": {}}, "state_dict": net.state_dict(), "fs": 30.0})
    data = load_checkpoint(path)
    assert data["format"] == "pulsecl-checkpoint"
    assert data["pulsecl_version"] == pulsecl.__version__
    assert data["fs"] == 30.0
    assert torch.equal(data["state_dict"]["weight"], net.weight.detach())
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temp files left
    assert load_checkpoint(path.parent)["fs"] == 30.0  # a run folder works too


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint '.*nope.pt' does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


def test_plain_state_dict_is_not_a_pulsecl_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert str(err.value).startswith(f"'{path}' is not a pulsecl checkpoint")


class Payload:
    """An arbitrary object: pickling it into a checkpoint is what tampering looks like."""

    def __reduce__(self):
        return (print, ("this would run on load",))


def test_tampered_checkpoint_is_refused_without_running_code(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "pulsecl-checkpoint", "model": {}, "state_dict": Payload()}, path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert str(err.value) == (
        f"'{path}' would run code when loaded (it calls builtins.print): refused, nothing was run "
        "(checkpoints load with weights_only=True); use only checkpoints written by pulsecl"
    )
    assert "this would run on load" not in capsys.readouterr().out


class Shell:
    """What a malicious checkpoint carries: unpickling it runs a shell command."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        import os

        return (os.system, (f"echo pwned > {self.target}",))


def _code_message(path):
    return (
        f"'{path}' would run code when loaded (it calls posix.system): refused, nothing was run "
        "(checkpoints load with weights_only=True); use only checkpoints written by pulsecl"
    )


@pytest.mark.parametrize("how", ["torch.save", "pickle.dump", "pickle.dump protocol 0", "torch.save legacy"])
def test_a_checkpoint_that_carries_code_is_refused_and_said_to_be_so(tmp_path, capfd, how):
    import os
    import pickle

    pwned = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    payload = {"format": "pulsecl-checkpoint", "model": {}, "state_dict": Shell(pwned)}
    if how == "torch.save":
        torch.save(payload, path)
    elif how == "torch.save legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        with open(path, "wb") as fh:
            pickle.dump(payload, fh, protocol=0 if "0" in how else pickle.HIGHEST_PROTOCOL)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert str(err.value) == _code_message(path)
    assert not pwned.exists()  # the command never ran
    assert capfd.readouterr().err == ""  # nor did torch print warnings about the file
    assert os.name != "posix" or "posix.system" in str(err.value)


def test_the_cli_refuses_a_code_carrying_checkpoint_in_one_line(tmp_path, capsys):
    from pulsecl.cli import main

    pwned = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    torch.save({"format": "pulsecl-checkpoint", "model": {}, "state_dict": Shell(pwned)}, path)
    assert main(["export", str(path), "--out", str(tmp_path / "x.torchscript.pt")]) == 2
    assert capsys.readouterr().err == f"pulsecl: error: {_code_message(path)}\n"
    assert not pwned.exists() and not (tmp_path / "x.torchscript.pt").exists()


def test_garbage_file(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="is not a readable checkpoint"):
        load_checkpoint(path)


def test_state_from_a_different_model_is_named():
    small, big = torch.nn.Linear(3, 2), torch.nn.Linear(4, 2)
    with pytest.raises(CheckpointError) as err:
        _load_state(small, big.state_dict(), "backbone 'lin'", "ck.pt")
    assert str(err.value) == (
        "checkpoint 'ck.pt' does not fit backbone 'lin': shape mismatch at weight: (2, 4) vs "
        "(2, 3); it comes from a different backbone or options"
    )
    other = collections.OrderedDict(bias=torch.zeros(2), extra=torch.zeros(1))
    with pytest.raises(CheckpointError, match=r"missing 1 \(e.g. weight\); unexpected 1 \(e.g. extra\)"):
        _load_state(small, other, "backbone 'lin'", "ck.pt")


def test_checkpoints_record_every_option_and_old_ones_keep_their_padding(tmp_path):
    """Format 2 records the backbone's defaults too; a format-1 PhysNet checkpoint (options
    as the config gave them) is rebuilt with the zero time padding it was trained with."""
    import pulsecl
    from pulsecl.engine.checkpoint import FORMAT_VERSION, build_from_checkpoint, resolved_options

    net = pulsecl.build("backbones", "physnet", channels=4)
    options = resolved_options(net, {"channels": 4})
    assert options == {"channels": 4, "norm": "zscore", "dropout": 0.0, "time_padding": "replicate"}
    assert FORMAT_VERSION == 2
    data = {"model": {"backbone": "physnet", "options": {"channels": 4}}, "state_dict": net.state_dict()}
    old, _ = build_from_checkpoint({**data, "format_version": 1})
    new, _ = build_from_checkpoint({**data, "format_version": 2})
    assert (old.time_padding, new.time_padding) == ("zeros", "replicate")


def test_peek_config_reads_the_config_without_torch(tmp_path):
    """What predict reads while torch is still being imported (pulsecl.video.worker)."""
    import json
    import subprocess
    import sys

    from pulsecl.config import Config, config_to_dict

    config = Config()
    config.preprocess.size = 24
    config.preprocess.roi = "full"
    path = tmp_path / "run" / "best.pt"
    net = torch.nn.Conv3d(3, 2, 1)
    save_checkpoint(path, {"model": {"backbone": "x", "options": {}}, "state_dict": net.state_dict(),
                           "config": config_to_dict(config), "fs": 15.0})
    script = (
        "import json, sys\n"
        "from pulsecl.engine.checkpoint import peek_config\n"
        f"raw = peek_config({str(path.parent)!r})\n"  # a run folder: its best.pt
        "print(json.dumps({'torch': 'torch' in sys.modules, 'preprocess': raw['preprocess']}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    assert report == {"torch": False, "preprocess": config_to_dict(config)["preprocess"]}


def test_peek_config_gives_none_for_what_is_not_a_pulsecl_checkpoint_and_runs_nothing(tmp_path):
    from pulsecl.engine.checkpoint import peek_config

    weights = tmp_path / "weights.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), weights)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00" * 64)
    pwned = tmp_path / "PWNED"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "pulsecl-checkpoint", "config": {}, "state_dict": Shell(pwned)}, evil)
    no_config = tmp_path / "no-config.pt"
    save_checkpoint(no_config, {"model": {"backbone": "x", "options": {}}, "state_dict": {}})
    for path in (weights, garbage, evil, no_config, tmp_path / "missing.pt"):
        assert peek_config(path) is None, path
    assert not pwned.exists()  # the shell command never ran
