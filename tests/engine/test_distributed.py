"""Multi-process training: 2 CPU processes (gloo, DistributedDataParallel) against one
process with the same total batch give the same weights."""

import os
import subprocess
import sys

import pytest
import torch

from pulsecl.engine.checkpoint import load_checkpoint

pytestmark = pytest.mark.slow

# A backbone without BatchNorm, so per-rank batches normalise exactly as the full batch.
FLAT = '''
import torch
from torch import nn
from pulsecl import hookimpl


class Flat3d(nn.Module):
    def __init__(self, channels: int = 4):
        super().__init__()
        self.conv = nn.Conv3d(3, channels, (3, 3, 3), padding=1)
        self.head = nn.Conv1d(channels, 1, 3, padding=1, bias=False)  # Pearson ignores a bias

    def forward(self, x):
        x = x / x.mean(dim=2, keepdim=True).clamp_min(1e-6) - 1.0
        h = torch.tanh(self.conv(x)).mean(dim=(-2, -1))  # (B, C, T)
        return self.head(h).squeeze(1)


@hookimpl
def pulsecl_register_backbones(registry):
    registry.add("flat3d", Flat3d)
'''

COMMON = [
    "model.backbone=flat3d", "model.options={channels = 4}", "preprocess.size=16",
    "data.clip_frames=64", "data.exclude=[]", "data.val_fraction=0.5", "train.mode=supervised",
    "loss.weights={neg_pearson = 1.0}", "train.epochs=1", "train.steps_per_epoch=3", "train.lr=0.01",
]


def _train(site, data, out, batch, nproc):
    env = dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               OMP_NUM_THREADS="1")
    sets = [a for s in [*COMMON, f"train.batch_size={batch}"] for a in ("--set", s)]
    cmd = ["-m", "pulsecl", "train", "--data", str(data), "--out", str(out), "--no-progress", *sets]
    if nproc > 1:
        cmd = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *cmd]
    done = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return load_checkpoint(out / "last.pt")


def test_two_processes_equal_one_with_the_same_total_batch(tiny_dataset, make_dist, tmp_path):
    site = make_dist("flat-backbone", "0.1", {"flat": "flat_backbone"}, {"flat_backbone": FLAT})
    one = _train(site, tiny_dataset, tmp_path / "one", batch=4, nproc=1)
    two = _train(site, tiny_dataset, tmp_path / "two", batch=2, nproc=2)
    assert one["train_state"]["step"] == two["train_state"]["step"] == 3
    for key, value in one["state_dict"].items():
        torch.testing.assert_close(two["state_dict"][key], value, rtol=1e-4, atol=1e-5)
    # the weights did move: both optimisers took 3 steps with real gradients
    for run in (one, two):
        states = run["train_state"]["optimizer"]["state"].values()
        assert all(int(s["step"]) == 3 and s["exp_avg"].abs().max() > 0 for s in states)
    assert one["train_state"]["best"] == pytest.approx(two["train_state"]["best"], abs=1e-3)
