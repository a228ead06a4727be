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


def _train(site, data, out, batch, nproc, extra=()):
    env = dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               OMP_NUM_THREADS="1")
    sets = [a for s in [*COMMON, f"train.batch_size={batch}", *extra] for a in ("--set", s)]
    cmd = ["-m", "pulsecl", "train", "--data", str(data), "--out", str(out), "--no-progress", *sets]
    if nproc > 1:
        cmd = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *cmd]
    done = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return load_checkpoint(out / "last.pt")


def test_two_processes_equal_one_with_the_same_total_batch(tiny_dataset, make_dist, tmp_path):
    site = make_dist("flat-backbone", "0.1", {"flat": "flat_backbone"}, {"flat_backbone": FLAT})
    one = _train(site, tiny_dataset, tmp_path / "one", batch=4, nproc=1)
    # on a cache of its own, cold: rank 0 builds its entries (one process at a time
    # builds an entry, issue 30), the other rank then reads them
    two = _train(site, tiny_dataset, tmp_path / "two", batch=2, nproc=2, extra=[f"data.cache='{tmp_path / 'cache'}'"])
    assert one["train_state"]["step"] == two["train_state"]["step"] == 3
    for key, value in one["state_dict"].items():
        torch.testing.assert_close(two["state_dict"][key], value, rtol=1e-4, atol=1e-5)
    # the weights did move: both optimisers took 3 steps with real gradients
    for run in (one, two):
        states = run["train_state"]["optimizer"]["state"].values()
        assert all(int(s["step"]) == 3 and s["exp_avg"].abs().max() > 0 for s in states)
    assert one["train_state"]["best"] == pytest.approx(two["train_state"]["best"], abs=1e-3)


# Every built-in backbone under DDP: 2 processes, each on half of a batch, two steps.
# DDP raises on the second step if a parameter got no gradient on the first (unused
# parameters); without BatchNorm the averaged gradient equals one process's on the
# whole batch.
DDP_GRADIENTS = '''
import copy, json, sys
import torch
import torch.distributed as dist
import pulsecl

torch.set_num_threads(1)
dist.init_process_group("gloo")
rank = dist.get_rank()
out = {}
for name, options in json.loads(sys.argv[1]):
    torch.manual_seed(0)
    net = pulsecl.build("backbones", name, **options)
    whole = copy.deepcopy(net)
    ddp = torch.nn.parallel.DistributedDataParallel(net)
    g = torch.Generator().manual_seed(1)
    errors = []
    for step in range(2):
        x = 0.3 + 0.4 * torch.rand(4, 3, 21, 8, 8, generator=g)  # the same on both ranks
        target = torch.randn(4, 21, generator=g)
        mine = slice(2 * rank, 2 * rank + 2)
        ddp.zero_grad(set_to_none=True)
        whole.zero_grad(set_to_none=True)
        (ddp(x[mine]) - target[mine]).square().mean().backward()
        (whole(x) - target).square().mean().backward()
        for (key, p), q in zip(net.named_parameters(), whole.parameters()):
            if p.grad is None:
                errors.append(f"{key} got no gradient")
                continue
            errors.append([float((p.grad - q.grad).abs().max()), float(q.grad.abs().max())])
    out[name] = errors
if rank == 0:
    print("RESULT " + json.dumps(out))
dist.destroy_process_group()
'''


def test_builtin_backbones_work_under_ddp(tmp_path):
    import json

    cases = [("physnet", {"channels": 4}), ("tscan", {"channels": 4}), ("physformer_lite", {"channels": 8, "heads": 2})]
    script = tmp_path / "ddp_gradients.py"
    script.write_text(DDP_GRADIENTS)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(script),
           json.dumps(cases)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    for name, _ in cases:
        problems = [e for e in result[name] if isinstance(e, str)]
        assert not problems, f"{name}: {problems}"
    for name in ("tscan", "physformer_lite"):  # no BatchNorm: the gradient of the whole batch
        diff, scale = (max(e[i] for e in result[name]) for i in (0, 1))
        assert diff < 1e-4 * scale, (name, diff, scale)
