"""A momentum bank of negatives: a FIFO queue of past spectra.

Contrastive rPPG with only the in-batch resampled negative rewards any periodic signal
that scales with resampling, head motion included (docs/background.md).  Contrast-Phys (Sun & Li,
ECCV 2022) draws negatives from *other videos*; MoCo (He et al., CVPR 2020) keeps
a queue of past samples' embeddings so that there are many of them at little cost.
This bank does the MoCo thing with power spectra.

What "momentum" means here
    The bank is MoCo's *queue*, without MoCo's momentum encoder.  Its entries are the
    online model's spectra from past steps, detached: the anchors' spectra (other clips,
    mostly of other videos, with other heart rates) and the negatives' spectra (pulses
    moved by the resampling factor).  They change slowly because the model changes
    slowly between steps; the oldest entry is dropped when the queue is full (FIFO).
    There is no exponential moving average of entries or of weights: keeping an EMA
    copy of the backbone is the trainer's business, and its spectra can be pushed here
    the same way.

Entries live on one frequency grid, :func:`pulsecl.nn.spectral.band_grid` of the band
(``step_bpm`` spacing), each normalised to sum 1, so clips of any length and frame rate
can be compared.  Spectra given on another grid are interpolated onto it.

Interface (what :mod:`pulsecl_bank.hooks` relies on; a third-party bank implements it)::

    bank = MomentumBank(size=1024)
    bank.update(anchor_spectra, negative_spectra, freqs, groups=None)  # (B, F), (B, F), (F,) Hz, (B,)
    bank.negatives(freqs, device=None, dtype=None)        # (K, F) oldest first, or None
    bank.entry_groups(device=None)                        # (K,) group id of each entry, oldest first
    bank.state_dict(); bank.load_state_dict(state)        # nn.Module's, checked

``update`` pushes nothing while the bank is in eval mode (``bank.eval()``) or has size 0.
Under ``torch.distributed`` (initialised), ``update`` gathers the spectra and their group
ids of every rank, rank 0's first, so that every rank's bank holds the same entries;
ranks may have batches of different sizes.

Video identity: every entry carries the group id of the clip it came from (the trainer
gives the clip's subject index, the same on every rank), in the buffer ``queue_groups``.
Anchors' spectra take their clip's group; negatives' spectra (pulses moved by the
resampling factor, so no longer the video's own rate) and entries pushed without groups
take -1, "no group".  The loss (:class:`pulsecl_losses.contrastive.MVTL`) gives each
anchor only the entries of other groups and of none, so an earlier clip of the anchor's
own video (same heart rate) is never its negative.  What remains: two *different*
people with the same heart rate are still each other's negatives.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pulsecl.errors import CheckpointError, ConfigError, SignalError
from pulsecl.nn.spectral import band_grid, band_hz, resample_spectrum

__all__ = ["MomentumBank", "all_gather_rows"]

#: Group id of entries that belong to no group (a negative for every anchor).
NO_GROUP = -1


def all_gather_rows(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (N_r, F) of every rank along rows, rank 0 first.

    Returns ``x`` itself when torch.distributed is not initialised (or has one rank).
    Ranks may hold different N_r.  Shape: (N_r, F) -> (sum_r N_r, F).
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    world = dist.get_world_size()
    home = x.device
    if dist.get_backend() == "nccl" and x.device.type != "cuda":  # NCCL moves CUDA tensors only
        x = x.to(torch.device("cuda", torch.cuda.current_device()))
    count = torch.tensor([x.shape[0]], device=x.device, dtype=torch.long)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count)
    most = int(max(int(c) for c in counts))
    padded = x.new_zeros((most, *x.shape[1:]))  # (N_max, F), all_gather needs equal shapes
    padded[: x.shape[0]] = x
    gathered = [torch.zeros_like(padded) for _ in range(world)]
    dist.all_gather(gathered, padded)
    return torch.cat([g[: int(c)] for g, c in zip(gathered, counts)]).to(home)


class MomentumBank(nn.Module):
    """FIFO queue of ``size`` past spectra on a fixed grid (module docstring).

    Args:
        size: spectra kept; 0 turns the bank off.
        band_bpm: band of the grid, bpm.
        step_bpm: spacing of the grid, bpm.
        use_anchors: push the anchors' spectra (other clips) at each update.
        use_negatives: push the negatives' spectra (resampled pulses) at each update.

    Buffers: ``grid`` (G,) Hz, ``queue`` (size, G), ``queue_groups`` (size,) int64 (group
    id of each entry, -1 = none), ``head`` (next slot) and ``count``.
    """

    def __init__(
        self,
        size: int = 1024,
        band_bpm: Sequence[float] = (40.0, 250.0),
        step_bpm: float = 1.0,
        use_anchors: bool = True,
        use_negatives: bool = True,
    ):
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ConfigError(f"bank size = {size!r}: give an integer >= 0 (0 turns the bank off)")
        if not float(step_bpm) > 0:
            raise ConfigError(f"bank step_bpm = {step_bpm!r}: must be > 0")
        if not (use_anchors or use_negatives):
            raise ConfigError("bank: use_anchors and use_negatives are both false; the bank would stay empty")
        self.size = size
        self.use_anchors = bool(use_anchors)
        self.use_negatives = bool(use_negatives)
        band = band_hz(band_bpm)
        grid = band_grid(band, float(step_bpm) / 60.0)
        self.band = band
        self.register_buffer("grid", grid)  # (G,) Hz
        self.register_buffer("queue", torch.zeros(size, grid.numel()))  # (size, G)
        self.register_buffer("queue_groups", torch.full((size,), NO_GROUP, dtype=torch.long))  # (size,)
        self.register_buffer("head", torch.zeros((), dtype=torch.long))  # next slot to write
        self.register_buffer("count", torch.zeros((), dtype=torch.long))  # filled slots

    def __len__(self) -> int:
        return int(self.count)

    def extra_repr(self) -> str:
        return f"size={self.size}, bins={self.grid.numel()}, filled={len(self)}"

    # -- writing ----------------------------------------------------------------------------
    def _on_grid(self, spectra: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
        """``spectra`` (N, F) on ``freqs`` (F,) -> (N, G) on the bank's grid, detached."""
        spectra = spectra.detach()
        if spectra.dim() != 2 or freqs.dim() != 1 or spectra.shape[1] != freqs.shape[0]:
            raise SignalError(
                f"bank: spectra {tuple(spectra.shape)} and freqs {tuple(freqs.shape)} must be (N, F) and (F,)"
            )
        grid = self.grid
        freqs = freqs.detach().to(grid.device, grid.dtype)
        spectra = spectra.to(grid.device, grid.dtype)
        if freqs.shape == grid.shape and torch.allclose(freqs, grid):
            return spectra / spectra.sum(-1, keepdim=True).clamp_min(1e-12)
        if spectra.shape[0] == 0:
            return spectra.new_zeros((0, grid.numel()))
        return resample_spectrum(spectra, freqs, grid, self.band)

    def push(
        self, spectra: torch.Tensor, freqs: torch.Tensor | None = None, groups: torch.Tensor | None = None
    ) -> None:
        """Append spectra (N, F) (on ``freqs`` (F,), default the bank's grid) with their
        group ids ``groups`` (N,) (default -1, none), oldest dropped first when full.
        No gradient flows into the bank."""
        if self.size == 0:
            return
        rows = self._on_grid(spectra, self.grid if freqs is None else freqs)  # (N, G)
        ids = self._ids(groups, rows.shape[0])
        rows, ids = rows[-self.size :], ids[-self.size :]  # only the newest `size` can stay
        n = rows.shape[0]
        if n == 0:
            return
        slots = (int(self.head) + torch.arange(n)) % self.size  # (N,) ring positions
        with torch.no_grad():
            self.queue[slots.to(self.queue.device)] = rows
            self.queue_groups[slots.to(self.queue.device)] = ids.to(self.queue_groups.device)
        self.head.fill_((int(self.head) + n) % self.size)
        self.count.fill_(min(int(self.count) + n, self.size))

    def _ids(self, groups: torch.Tensor | None, n: int) -> torch.Tensor:
        if groups is None:
            return torch.full((n,), NO_GROUP, dtype=torch.long, device=self.queue.device)
        ids = torch.as_tensor(groups).detach().long().reshape(-1).to(self.queue.device)
        if ids.shape[0] != n:
            raise SignalError(f"bank: {ids.shape[0]} group ids for {n} spectra")
        return ids

    def update(
        self,
        anchor_spectra: torch.Tensor | None,
        negative_spectra: torch.Tensor | None,
        freqs: torch.Tensor,
        groups: torch.Tensor | None = None,
    ) -> None:
        """Push this step's spectra (B, F) on ``freqs`` (F,), gathered across ranks:
        anchors first (with their clips' ``groups`` (B,), default none), then negatives
        (group none: their pulse is no longer their video's).  Nothing happens in eval
        mode or at size 0."""
        if self.size == 0 or not self.training:
            return
        parts, ids = [], []
        if self.use_anchors and anchor_spectra is not None:
            parts.append(anchor_spectra)
            ids.append(self._ids(groups, anchor_spectra.shape[0]))
        if self.use_negatives and negative_spectra is not None:
            parts.append(negative_spectra)
            ids.append(self._ids(None, negative_spectra.shape[0]))
        if not parts:
            return
        rows = self._on_grid(torch.cat([p.detach() for p in parts]), freqs)  # (N, G)
        ids_all = torch.cat(ids)  # (N,)
        self.push(all_gather_rows(rows), groups=all_gather_rows(ids_all[:, None])[:, 0])

    # -- reading ----------------------------------------------------------------------------
    def _order(self) -> torch.Tensor:
        n = int(self.count)
        start = (int(self.head) - n) % self.size if self.size else 0
        return ((start + torch.arange(n)) % max(self.size, 1)).to(self.queue.device)

    def entries(self) -> torch.Tensor:
        """The stored spectra, oldest first.  Shape: (len(self), G)."""
        return self.queue[self._order()]

    def entry_groups(self, device: torch.device | None = None) -> torch.Tensor:
        """The group id of every stored spectrum (-1 = none), oldest first, in the order
        of :meth:`entries` and :meth:`negatives`.  Shape: (len(self),) int64."""
        ids = self.queue_groups[self._order()]
        return ids.to(device or ids.device)

    def negatives(
        self,
        freqs: torch.Tensor | None = None,
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> torch.Tensor | None:
        """Stored spectra as extra negatives, oldest first, on ``freqs`` (F,) (default the
        bank's grid), or None when empty.  Shape: (K, F)."""
        if len(self) == 0:
            return None
        rows = self.entries()  # (K, G)
        if freqs is not None:
            freqs = freqs.detach().to(self.grid.device, self.grid.dtype)
            if not (freqs.shape == self.grid.shape and torch.allclose(freqs, self.grid)):
                rows = resample_spectrum(rows, self.grid, freqs)
        return rows.to(device=device or rows.device, dtype=dtype or rows.dtype)

    # -- checkpoints --------------------------------------------------------------------------
    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # type: ignore[override]
        """nn.Module's, after checking the saved queue and grid fit this bank."""
        queue, grid = state_dict.get("queue"), state_dict.get("grid")
        if queue is not None and "queue_groups" not in state_dict:  # saved before group ids
            state_dict = {**state_dict, "queue_groups": torch.full((queue.shape[0],), NO_GROUP, dtype=torch.long)}
        if queue is None or grid is None:
            raise CheckpointError("negative bank state lacks 'queue' or 'grid': not a momentum bank's state")
        if tuple(queue.shape) != tuple(self.queue.shape) or tuple(grid.shape) != tuple(self.grid.shape) or not torch.allclose(
            grid.to(self.grid.dtype), self.grid
        ):
            raise CheckpointError(
                f"negative bank state holds a queue of {tuple(queue.shape)} on a {grid.numel()}-point "
                f"grid; this bank has {tuple(self.queue.shape)} on {self.grid.numel()} points: set "
                "bank.size and bank.options as when it was saved"
            )
        return super().load_state_dict(state_dict, strict=strict, assign=assign)
