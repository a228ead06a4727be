"""Multi-view temporal windows: V windows of W samples cut from every branch.

After Gideon & Stent, ICCV 2021, section 3.2 (multi-view triplet loss): each branch
signal (anchor, positive, negative) is cut into V windows of length W at random
offsets, and the loss compares every anchor window with every positive and negative
window.  Paper: V = 4, W = T / 2 (5 s of a 10 s clip).  Here the offsets are drawn
independently for every sample, view and branch (the reference code shares them
across the batch).

Interface (stage ``"views"``)::

    gen = WindowViews(n_views=4, window_s=None, window_frames=None)
    out = gen(branches, generator=None)

* ``branches``: the proxy generator's dict (:mod:`pulsecl_views.frequency`): at least
  ``"anchor"`` (B, T) and ``"fs"`` (B,); ``"positive"`` (B, T) and ``"negative"``
  ((B, L) or a list of B tensors (L_i,)) when present.
* Returns a new dict: everything in ``branches`` plus, for each branch ``k`` present,
  ``f"{k}_views"`` (B, V, W) and ``f"{k}_offsets"`` (B, V) int64 (first sample of each
  window in that branch's signal).
* W is ``window_frames`` if given; else ``round(window_s * fs)`` with the lowest frame
  rate of the batch (so every window lasts at most ``window_s``); else half the anchor
  length.  A W longer than a branch (e.g. a negative shortened by a factor r) is a
  :class:`~pulsecl.errors.SignalError` naming both lengths.
"""

from __future__ import annotations

from typing import Any

import torch
from einops import rearrange

from pulsecl.errors import ConfigError, SignalError
from pulsecl.nn.spectral import as_fs

__all__ = ["BRANCHES", "WindowViews"]

#: Branch keys whose signals are cut into views, in order.
BRANCHES = ("anchor", "positive", "negative")


class WindowViews:
    """V random windows of W samples per branch, offsets independent per sample.

    Args:
        n_views: V, windows per branch (paper: 4).
        window_s: window length in seconds (uses the batch's lowest ``fs``).
        window_frames: window length in samples.  Give at most one of the two; with
            neither, W is half the anchor length (paper: T / 2).
    """

    stage = "views"

    def __init__(
        self,
        n_views: int = 4,
        window_s: float | None = None,
        window_frames: int | None = None,
    ):
        if isinstance(n_views, bool) or not isinstance(n_views, int) or n_views < 1:
            raise ConfigError(f"windows n_views = {n_views!r}: give an integer >= 1 (paper: 4)")
        if window_s is not None and window_frames is not None:
            raise ConfigError(
                f"windows: window_s = {window_s} and window_frames = {window_frames} both given; "
                "give one of them"
            )
        if window_s is not None and not float(window_s) > 0:
            raise ConfigError(f"windows window_s = {window_s!r}: give a positive length in seconds")
        if window_frames is not None and (
            isinstance(window_frames, bool) or not isinstance(window_frames, int) or window_frames < 2
        ):
            raise ConfigError(f"windows window_frames = {window_frames!r}: give an integer >= 2")
        self.n_views = n_views
        self.window_s = None if window_s is None else float(window_s)
        self.window_frames = window_frames

    def __repr__(self) -> str:
        return (
            f"WindowViews(n_views={self.n_views}, window_s={self.window_s}, "
            f"window_frames={self.window_frames})"
        )

    def window_length(self, anchor_length: int, fs: torch.Tensor) -> int:
        """W in samples for anchors of ``anchor_length`` at rates ``fs`` (B,)."""
        if self.window_frames is not None:
            return self.window_frames
        if self.window_s is not None:
            return max(2, int(round(self.window_s * float(fs.min()))))
        return max(2, anchor_length // 2)

    def __call__(
        self, branches: dict[str, Any], generator: torch.Generator | None = None
    ) -> dict[str, Any]:
        if "anchor" not in branches:
            raise SignalError(
                f"windows need the proxy's 'anchor' signal; got keys {sorted(branches)}"
            )
        anchor = branches["anchor"]
        if not isinstance(anchor, torch.Tensor) or anchor.dim() != 2:
            raise SignalError("windows: 'anchor' must be a (B, T) tensor")
        b, t = anchor.shape
        if "fs" not in branches:
            raise SignalError("windows need the frame rate 'fs' (B,) in the branches dict")
        fs = as_fs(branches["fs"], b, device=anchor.device)
        w = self.window_length(t, fs)
        out = dict(branches)
        for key in BRANCHES:
            if key not in branches:
                continue
            rows = _rows(branches[key], b, key)  # B tensors (L_i,)
            lengths = torch.tensor([row.shape[0] for row in rows])
            if int(lengths.min()) < w:
                raise SignalError(
                    f"windows of {w} samples do not fit the {key} branch ({int(lengths.min())} "
                    f"samples, clip {t}): use shorter windows (window_s / window_frames) or "
                    "smaller resampling factors"
                )
            u = torch.rand(b, self.n_views, generator=generator, dtype=torch.float64)
            offsets = torch.floor(u * (lengths[:, None] - w + 1).double()).long()  # (B, V)
            offsets = torch.minimum(offsets, (lengths - w)[:, None])
            idx = offsets[:, :, None] + torch.arange(w)  # (B, V, W)
            idx = idx.to(anchor.device)
            if isinstance(branches[key], torch.Tensor):
                flat = rearrange(idx, "b v w -> b (v w)")
                views = branches[key].gather(1, flat)  # (B, V*W)
                views = rearrange(views, "b (v w) -> b v w", v=self.n_views)
            else:
                views = torch.stack([row[i] for row, i in zip(rows, idx)])  # (B, V, W)
            out[f"{key}_views"] = views
            out[f"{key}_offsets"] = offsets.to(anchor.device)
        return out


def _rows(signal: Any, batch: int, key: str) -> list[torch.Tensor]:
    """A (B, L) tensor or a list of B tensors (L_i,) as a list of B 1-D tensors."""
    if isinstance(signal, torch.Tensor) and signal.dim() == 2 and signal.shape[0] == batch:
        return list(signal.unbind(0))
    if isinstance(signal, (list, tuple)) and len(signal) == batch and all(
        isinstance(s, torch.Tensor) and s.dim() == 1 for s in signal
    ):
        return list(signal)
    raise SignalError(
        f"windows: branch '{key}' must be a ({batch}, L) tensor or a list of {batch} 1-D tensors"
    )
