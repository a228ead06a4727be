"""Multi-view triplet loss (MVTL) on power spectra.

Gideon & Stent, "The Way to my Heart is through Contrastive Learning: Remote
Photoplethysmography from Unlabelled Video", ICCV 2021, section 3.2.  For every sample,
with V anchor views ``a_i``, positive views ``p_j`` and negative views ``n_j`` (windows
of W samples, :mod:`pulsecl_views.windows`)::

    L = mean_ij d(PSD(a_i), PSD(p_j)) - mean_ij d(PSD(a_i), PSD(n_j))

averaged over the batch.  ``PSD`` is ``|rfft|^2`` of the mean-removed window,
zero-padded by ``pad_factor``, cut to the band and normalised to sum 1 over it
(:func:`pulsecl.nn.spectral.band_spectrum`); the bins follow each sample's own ``fs``.
``d`` is the mean over the in-band bins of the squared (``"mse"``, paper) or absolute
(``"l1"``) difference.  The paper averages over pairs the same way up to a constant
(it sums over the V x V pairs).

Extra negatives: when the inputs hold ``"extra_negatives"`` (K, G) spectra on the grid
``"freqs"`` (G,) Hz (e.g. from the negative bank), they are interpolated onto each
sample's in-band bins and renormalised, and ``extra_weight * mean_ik d(PSD(a_i), e_k)``
is subtracted as well, so the distances to them are on the same scale as to the
in-batch negatives.  With ``"extra_negative_groups"`` (K,) (the group id of each entry,
-1 for none) and ``"groups"`` (B,), anchor i uses only the entries of other groups (or
none), so an earlier clip of the anchor's own video is never its negative.

Cross-video negatives (``cross_weight > 0``, Contrast-Phys's idea: two videos of
different people have different spectra): with ``"groups"`` (B,) in the inputs (the
trainer gives each clip its subject's index), ``cross_weight * mean_{j, g_j != g_i}
mean_uv d(PSD(a_i,u), PSD(a_j,v))`` is subtracted for every anchor i, over the anchors
of the other groups in the batch (0 for an anchor with none).  Both sides carry
gradient.  People can have the same heart rate, so some of these negatives are false.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pulsecl.errors import ConfigError, SignalError
from pulsecl.nn.spectral import as_fs, band_hz, band_spectrum, resample_spectrum

__all__ = ["MVTL", "DISTANCES"]

#: Spectral distances MVTL offers.
DISTANCES = ("mse", "l1")


class MVTL(nn.Module):
    """Multi-view triplet loss on band-limited, normalised PSDs (Gideon & Stent 2021).

    Args:
        distance: ``"mse"`` (paper) or ``"l1"``.
        pad_factor: zero-padding of the FFT (>= 1; paper 1; 2 helped in docs/background.md).
        band_bpm: ``(low, high)`` band, bpm.
        extra_weight: weight of the extra negatives' term (when present).

        cross_weight: weight of the cross-video term (needs ``groups``); 0 = off.

    Inputs: ``anchor_views``, ``positive_views``, ``negative_views`` (B, V, W) with the
    same W; ``fs`` (B,).  Optional: ``extra_negatives`` (K, G) with ``freqs`` (G,) and
    ``extra_negative_groups`` (K,); ``groups`` (B,).  Output: scalar.
    """

    requires = ("anchor_views", "positive_views", "negative_views", "fs")
    optional = ("extra_negatives", "freqs", "extra_negative_groups", "groups")

    def __init__(
        self,
        distance: str = "mse",
        pad_factor: float = 2.0,
        band_bpm: Sequence[float] = (40.0, 250.0),
        extra_weight: float = 1.0,
        cross_weight: float = 0.0,
    ):
        super().__init__()
        if distance not in DISTANCES:
            raise ConfigError(f"mvtl distance = {distance!r}: use one of {', '.join(DISTANCES)}")
        if not float(pad_factor) >= 1.0:
            raise ConfigError(f"mvtl pad_factor = {pad_factor!r}: must be >= 1 (1 = no padding)")
        self.distance = distance
        self.pad_factor = float(pad_factor)
        self.band = band_hz(band_bpm)
        self.extra_weight = float(extra_weight)
        if not float(cross_weight) >= 0.0:
            raise ConfigError(f"mvtl cross_weight = {cross_weight!r}: must be >= 0 (0 = off)")
        self.cross_weight = float(cross_weight)

    def extra_repr(self) -> str:
        return (
            f"distance={self.distance!r}, pad_factor={self.pad_factor:g}, extra_weight={self.extra_weight:g}, "
            f"cross_weight={self.cross_weight:g}"
        )

    def _d(self, x: torch.Tensor, y: torch.Tensor, n_bins: torch.Tensor) -> torch.Tensor:
        """Mean over in-band bins of the elementwise distance; bins outside are 0 in both.

        Shape: (B, I, 1, F) and (B, 1, J, F) -> (B, I, J).
        """
        diff = x - y
        per_bin = diff.square() if self.distance == "mse" else diff.abs()
        return per_bin.sum(dim=-1) / n_bins[:, None, None]

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        a, p, n = inputs["anchor_views"], inputs["positive_views"], inputs["negative_views"]
        for key, v in (("anchor_views", a), ("positive_views", p), ("negative_views", n)):
            if v.dim() != 3 or v.shape[0] != a.shape[0] or v.shape[-1] != a.shape[-1]:
                raise SignalError(
                    f"mvtl: '{key}' has shape {tuple(v.shape)}; views must be (B, V, W) with the "
                    f"anchor's B and W {tuple(a.shape[::2])}"
                )
        fs = as_fs(inputs["fs"], a.shape[0], device=a.device, dtype=a.dtype)
        spec_a = band_spectrum(a, fs, self.band, self.pad_factor)  # power (B, V, F)
        psd_p = band_spectrum(p, fs, self.band, self.pad_factor).power  # (B, V, F)
        psd_n = band_spectrum(n, fs, self.band, self.pad_factor).power  # (B, V, F)
        n_bins = spec_a.mask.sum(dim=-1).to(a.dtype)  # (B,)
        psd_a = spec_a.power[:, :, None]  # (B, V, 1, F)
        d_ap = self._d(psd_a, psd_p[:, None], n_bins)  # (B, V, V)
        d_an = self._d(psd_a, psd_n[:, None], n_bins)  # (B, V, V)
        loss = d_ap.mean(dim=(1, 2)) - d_an.mean(dim=(1, 2))  # (B,)
        groups = inputs.get("groups")
        if groups is not None:
            groups = torch.as_tensor(groups, device=a.device).long().reshape(-1)
            if groups.shape[0] != a.shape[0]:
                raise SignalError(f"mvtl: 'groups' has {groups.shape[0]} entries for a batch of {a.shape[0]}")

        if self.cross_weight > 0.0 and groups is not None and a.shape[0] > 1:
            loss = loss - self.cross_weight * self._cross(spec_a, fs, groups, n_bins)

        extra = inputs.get("extra_negatives")
        if extra is not None and extra.numel() > 0 and self.extra_weight != 0.0:
            if "freqs" not in inputs:
                raise SignalError("mvtl: 'extra_negatives' given without their frequency grid 'freqs'")
            grid = inputs["freqs"]
            if extra.dim() != 2 or grid.dim() != 1 or extra.shape[1] != grid.shape[0]:
                raise SignalError(
                    f"mvtl: extra_negatives {tuple(extra.shape)} and freqs {tuple(grid.shape)} "
                    "must be (K, G) and (G,)"
                )
            b, k = a.shape[0], extra.shape[0]
            on_bins = resample_spectrum(
                extra.to(a.dtype).expand(b, k, extra.shape[1]), grid, spec_a.freqs, self.band
            )  # (B, K, F), on each sample's bins
            d_ae = self._d(psd_a, on_bins[:, None], n_bins).mean(dim=1)  # (B, K)
            extra_groups = inputs.get("extra_negative_groups")
            if extra_groups is not None and groups is not None:
                eg = torch.as_tensor(extra_groups, device=a.device).long().reshape(-1)
                if eg.shape[0] != k:
                    raise SignalError(f"mvtl: 'extra_negative_groups' has {eg.shape[0]} entries for {k} extra negatives")
                use = ((eg[None] < 0) | (eg[None] != groups[:, None])).to(d_ae.dtype)  # (B, K)
                d_mean = (d_ae * use).sum(-1) / use.sum(-1).clamp_min(1.0)  # (B,), 0 with none
            else:
                d_mean = d_ae.mean(dim=-1)
            loss = loss - self.extra_weight * d_mean
        return loss.mean()

    def _cross(self, spec_a, fs: torch.Tensor, groups: torch.Tensor, n_bins: torch.Tensor) -> torch.Tensor:
        """Mean distance of each anchor's views to the views of the other groups'
        anchors in the batch, on that anchor's bins.  Shape: (B,), 0 with none."""
        psd = spec_a.power  # (B, V, F), each sample on its own bins
        b, v, f = psd.shape
        if bool((fs == fs[0]).all()):
            others = psd[None].expand(b, b, v, f)  # (B_i, B_j, V, F): same bins for all
        else:  # through the common grid onto each anchor's bins
            from pulsecl.nn.spectral import band_grid

            grid = band_grid(self.band, device=psd.device, dtype=psd.dtype)  # (G,)
            on_grid = resample_spectrum(psd, spec_a.freqs, grid, self.band)  # (B, V, G)
            flat = on_grid.reshape(1, b * v, -1).expand(b, b * v, grid.numel())
            others = resample_spectrum(flat, grid, spec_a.freqs, self.band).reshape(b, b, v, f)
        diff = psd[:, None, :, None, :] - others[:, :, None, :, :]  # (B_i, B_j, V, V, F)
        per_bin = diff.square() if self.distance == "mse" else diff.abs()
        d = per_bin.sum(-1).mean(dim=(2, 3)) / n_bins[:, None]  # (B_i, B_j)
        use = (groups[None] != groups[:, None]).to(d.dtype)  # (B_i, B_j), other groups only
        return (d * use).sum(-1) / use.sum(-1).clamp_min(1.0)
