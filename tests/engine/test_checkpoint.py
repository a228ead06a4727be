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
    assert "holds objects other than tensors and plain data" in str(err.value)
    assert "this would run on load" not in capsys.readouterr().out


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
