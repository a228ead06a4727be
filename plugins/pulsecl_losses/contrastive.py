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
in-batch negatives.
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
        pad_factor: zero-padding of the FFT (>= 1; paper 1; 2 helped in FACTS.md).
        band_bpm: ``(low, high)`` band, bpm.
        extra_weight: weight of the extra negatives' term (when present).

    Inputs: ``anchor_views``, ``positive_views``, ``negative_views`` (B, V, W) with the
    same W; ``fs`` (B,).  Optional: ``extra_negatives`` (K, G) with ``freqs`` (G,).
    Output: scalar.
    """

    requires = ("anchor_views", "positive_views", "negative_views", "fs")
    optional = ("extra_negatives", "freqs")

    def __init__(
        self,
        distance: str = "mse",
        pad_factor: float = 2.0,
        band_bpm: Sequence[float] = (40.0, 250.0),
        extra_weight: float = 1.0,
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

    def extra_repr(self) -> str:
        return f"distance={self.distance!r}, pad_factor={self.pad_factor:g}, extra_weight={self.extra_weight:g}"

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
            d_ae = self._d(psd_a, on_bins[:, None], n_bins)  # (B, V, K)
            loss = loss - self.extra_weight * d_ae.mean(dim=(1, 2))
        return loss.mean()
