"""The momentum negative bank: FIFO order, size limit, checkpoints, hooks, ranks."""

from __future__ import annotations

import os

import pytest
import torch
import torch.multiprocessing as mp

import pulsecl
from pulsecl.config import load_config
from pulsecl.errors import CheckpointError, ConfigError, SignalError
from pulsecl.nn.spectral import band_grid
from pulsecl.plugins import get_plugin_manager
from pulsecl_bank.hooks import PLUGIN_NAME

G = 211  # bins of the default grid (40-250 bpm, 1 bpm steps)


def onehot(*indices):
    """Spectra with all mass at one bin each: row i peaks at indices[i].  (N, G)."""
    out = torch.zeros(len(indices), G)
    out[torch.arange(len(indices)), torch.tensor(indices)] = 1.0
    return out


def peaks(spectra):
    return spectra.argmax(-1).tolist()


def bank(size, **options):
    return pulsecl.build("negative_banks", "momentum", size=size, **options)


def test_fifo_order_and_size_limit():
    b = bank(5)
    grid = band_grid()
    assert b.negatives(grid) is None
    b.update(onehot(0, 1), onehot(2, 3), grid)  # anchors first, then negatives
    assert peaks(b.entries()) == [0, 1, 2, 3]
    b.update(onehot(4), onehot(5), grid)
    assert len(b) == 5
    assert peaks(b.entries()) == [1, 2, 3, 4, 5]  # oldest (0) dropped
    b.push(onehot(*range(10, 17)))  # more than the size in one push: newest 5 stay
    assert peaks(b.entries()) == [12, 13, 14, 15, 16]
    assert peaks(b.negatives(grid)) == [12, 13, 14, 15, 16]


def test_anchors_or_negatives_only():
    grid = band_grid()
    only_anchors = bank(8, use_negatives=False)
    only_anchors.update(onehot(1), onehot(2), grid)
    assert peaks(only_anchors.entries()) == [1]
    with pytest.raises(ConfigError, match="both false"):
        bank(8, use_anchors=False, use_negatives=False)


def test_entries_are_detached_and_normalised():
    b = bank(4)
    spectra = torch.rand(2, G, requires_grad=True)
    b.update(spectra * 3, None, band_grid())
    entries = b.entries()
    assert not entries.requires_grad
    assert torch.allclose(entries.sum(-1), torch.ones(2))


def test_spectra_on_another_grid_are_interpolated_onto_the_banks():
    b = bank(4)
    freqs = torch.linspace(0.5, 5.0, 91)  # 0.05 Hz steps
    spectra = torch.zeros(1, 91)
    spectra[0, 20] = 1.0  # 1.5 Hz = 90 bpm
    b.update(spectra, None, freqs)
    assert band_grid()[peaks(b.entries())[0]] * 60 == pytest.approx(90.0, abs=1.0)
    back = b.negatives(freqs)  # and onto the caller's grid
    assert back.shape == (1, 91) and peaks(back) == [20]


def test_no_update_in_eval_mode():
    b = bank(4)
    b.eval()
    b.update(onehot(1), onehot(2), band_grid())
    assert len(b) == 0


def test_save_restore_round_trip(tmp_path):
    grid = band_grid()
    b = bank(4)
    b.update(onehot(0, 1), onehot(2), grid)
    path = tmp_path / "bank.pt"
    torch.save(b.state_dict(), path)
    restored = bank(4)
    restored.load_state_dict(torch.load(path, weights_only=True))
    assert torch.equal(restored.entries(), b.entries())
    for x in (b, restored):  # the ring continues from the same place
        x.update(onehot(7, 8), None, grid)
    assert peaks(restored.entries()) == peaks(b.entries()) == [1, 2, 7, 8]


def test_restore_into_a_different_bank_is_a_checkpoint_error():
    state = bank(4).state_dict()
    with pytest.raises(CheckpointError, match="set bank.size"):
        bank(8).load_state_dict(state)
    with pytest.raises(CheckpointError, match="set bank.size"):
        bank(4, step_bpm=2.0).load_state_dict(state)


def test_off_at_size_zero():
    b = bank(0)
    b.update(onehot(1), onehot(2), band_grid())
    assert len(b) == 0 and b.negatives(band_grid()) is None
    pm = get_plugin_manager()
    pm.hook.pulsecl_configure(config=load_config(None, ["bank.size=0"]), manager=pm)
    assert not pm.has_plugin(PLUGIN_NAME)
    spectra = torch.rand(2, G)
    assert pm.hook.pulsecl_extra_negatives(spectra=spectra, freqs=band_grid(), step=0, groups=None) == []


def test_configure_registers_hooks_that_feed_and_read_the_bank():
    pm = get_plugin_manager()
    config = load_config(None, ["bank.size=3", "signal.band_bpm=[40, 250]"])
    pm.hook.pulsecl_configure(config=config, manager=pm)
    assert pm.has_plugin(PLUGIN_NAME)
    grid = band_grid()
    spectra = torch.rand(2, G)
    groups = torch.tensor([7, 8])
    assert pm.hook.pulsecl_extra_negatives(spectra=spectra, freqs=grid, step=0, groups=groups) == []  # empty yet
    outputs = {"loss": 0.1, "anchor_spectra": onehot(1, 2), "negative_spectra": onehot(3, 4), "freqs": grid,
               "groups": groups}
    pm.hook.pulsecl_train_step_end(step=0, outputs=outputs)
    ((extra, ids),) = pm.hook.pulsecl_extra_negatives(spectra=spectra.double(), freqs=grid, step=1, groups=groups)
    assert extra.dtype == torch.float64 and peaks(extra) == [2, 3, 4]
    assert ids.tolist() == [8, -1, -1]  # the anchor of group 8, then two negatives (no group)
    state = pm.get_plugin(PLUGIN_NAME).state_dict()
    assert state["queue"].shape == (3, G) and state["queue_groups"].shape == (3,)
    # configuring again with the bank off removes it
    pm.hook.pulsecl_configure(config=load_config(None, ["bank.size=0"]), manager=pm)
    assert not pm.has_plugin(PLUGIN_NAME)


def test_configured_bank_takes_the_config_band_and_options():
    pm = get_plugin_manager()
    config = load_config(None, ["bank.size=2", "signal.band_bpm=[45, 180]", "bank.options.step_bpm=5.0"])
    pm.hook.pulsecl_configure(config=config, manager=pm)
    grid = pm.get_plugin(PLUGIN_NAME).bank.grid
    assert grid[0] * 60 == pytest.approx(45.0) and grid[-1] * 60 == pytest.approx(180.0)
    assert grid.numel() == 28
    with pytest.raises(ConfigError, match="bank.size, not in bank.options"):
        pm.hook.pulsecl_configure(config=load_config(None, ["bank.size=2", "bank.options.size=3"]), manager=pm)


def test_bank_negatives_feed_mvtl():
    """What the hook returns is what MVTL takes as extra negatives, and it changes the loss."""
    b = bank(8)
    grid = band_grid()
    b.update(onehot(30, 50), onehot(80), grid)
    g = torch.Generator().manual_seed(0)
    views = {k: torch.randn(2, 2, 64, generator=g) for k in ("anchor_views", "positive_views", "negative_views")}
    views["fs"] = torch.tensor([30.0, 25.0])
    loss = pulsecl.build("losses", "mvtl")
    plain = loss(views)
    with_bank = loss({**views, "extra_negatives": b.negatives(grid), "freqs": grid})
    assert torch.isfinite(with_bank) and float(with_bank) < float(plain)


def test_entries_keep_the_group_of_their_clip_and_negatives_have_none():
    b = bank(6)
    grid = band_grid()
    b.update(onehot(0, 1), onehot(2, 3), grid, groups=torch.tensor([4, 5]))
    b.update(onehot(6), onehot(7), grid)  # no groups given: none
    assert peaks(b.entries()) == [0, 1, 2, 3, 6, 7]
    assert b.entry_groups().tolist() == [4, 5, -1, -1, -1, -1]
    b.update(onehot(8), onehot(9), grid, groups=torch.tensor([3]))  # FIFO drops the oldest two
    assert b.entry_groups().tolist() == [-1, -1, -1, -1, 3, -1]
    with pytest.raises(SignalError, match="2 group ids for 1 spectra"):
        b.update(onehot(1), None, grid, groups=torch.tensor([1, 2]))


def test_a_bank_state_saved_without_groups_loads_with_none():
    b = bank(3)
    b.update(onehot(1), onehot(2), band_grid())
    state = {k: v for k, v in b.state_dict().items() if k != "queue_groups"}
    fresh = bank(3)
    fresh.load_state_dict(state)
    assert peaks(fresh.entries()) == [1, 2] and fresh.entry_groups().tolist() == [-1, -1]


def test_mvtl_never_contrasts_an_anchor_with_entries_of_its_own_group():
    """Bank entries of the anchor's own group do not change its loss; others' do."""
    grid = band_grid()
    g = torch.Generator().manual_seed(0)
    views = {k: torch.randn(2, 2, 64, generator=g) for k in ("anchor_views", "positive_views", "negative_views")}
    views["fs"] = torch.tensor([30.0, 30.0])
    views["groups"] = torch.tensor([0, 1])
    loss = pulsecl.build("losses", "mvtl")
    own = onehot(30, 31)  # two entries of group 0 (sample 0's own video)
    plain = loss({**views, "groups": torch.tensor([0, 0])})  # reference: no extras
    masked = loss({**views, "groups": torch.tensor([0, 0]), "extra_negatives": own, "freqs": grid,
                   "extra_negative_groups": torch.tensor([0, 0])})
    assert float(masked) == pytest.approx(float(plain), abs=1e-9)  # both anchors of group 0: no effect
    other = loss({**views, "groups": torch.tensor([1, 1]), "extra_negatives": own, "freqs": grid,
                  "extra_negative_groups": torch.tensor([0, 0])})
    assert float(other) < float(plain) - 1e-4  # anchors of group 1: they are negatives
    none = loss({**views, "groups": torch.tensor([0, 0]), "extra_negatives": own, "freqs": grid,
                 "extra_negative_groups": torch.tensor([-1, -1])})
    assert float(none) == pytest.approx(float(other), abs=1e-9)  # group -1: a negative for everyone


def _rank_main(rank, world, init_file, results):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        b = pulsecl.build("negative_banks", "momentum", size=16)
        grid = band_grid()
        n = rank + 1  # ranks with different batch sizes
        anchors = torch.zeros(n, G)
        anchors[:, 10 * rank] = 1.0
        negatives = torch.zeros(n, G)
        negatives[:, 10 * rank + 5] = 1.0
        b.update(anchors, negatives, grid, groups=torch.full((n,), 100 + rank))
        results[rank] = (b.entries().argmax(-1).tolist(), b.entry_groups().tolist())
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_all_gather_across_ranks(tmp_path):
    """Two gloo ranks: each bank holds both ranks' spectra, rank 0's first."""
    manager = mp.Manager()
    results = manager.dict()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    mp.spawn(_rank_main, args=(2, str(tmp_path / "init"), results), nprocs=2, join=True)
    expected = [0, 5, 10, 10, 15, 15]  # rank 0: 1 anchor, 1 negative; rank 1: 2 and 2
    ids = [100, -1, 101, 101, -1, -1]  # each anchor's group travels with it across ranks
    assert results[0] == (expected, ids) and results[1] == (expected, ids)
