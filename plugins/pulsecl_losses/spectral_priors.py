"""Label-free losses on a signal's own spectrum: IPR and SiNC's three priors.

* IPR, irrelevant power ratio (Gideon & Stent, ICCV 2021, section 4): the share of the
  spectral *magnitude* ``|rfft|`` of the mean-removed signal that lies outside the
  heart-rate band.  Used for unsupervised model selection (lowest IPR on training data)
  and usable as a loss.
* SiNC (Speth, Vance, Flynn & Czajka, "Non-Contrastive Unsupervised Learning of
  Physiological Signals from Video", CVPR 2023), all on the *power* spectrum
  ``|rfft|^2`` of the mean-removed signal:

  - bandwidth: power outside the band over total power;
  - sparsity: in-band power further than ``width_bpm`` from the in-band peak, over
    in-band power;
  - variance: the batch-averaged in-band spectrum against the uniform distribution, by
    the squared earth mover's distance ``mean_g (CDF(mean_b p_b)_g - CDF(U)_g)^2``.  It
    stops every sample collapsing onto one frequency.  Spectra are put on a common grid
    (:func:`pulsecl.nn.spectral.band_grid`, ``step_bpm``) before averaging, since the
    samples' ``fs`` may differ.

Inputs: ``signal`` (B, T) and ``fs`` (B,).  Each loss is a batch mean (variance is a
property of the batch).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pulsecl.errors import ConfigError, SignalError
from pulsecl.nn.spectral import (
    as_fs,
    band_grid,
    band_hz,
    band_mask,
    band_spectrum,
    periodogram,
    resample_spectrum,
)

__all__ = ["IPR", "Bandwidth", "Sparsity", "Variance"]


def _signal(inputs: dict[str, torch.Tensor], name: str) -> tuple[torch.Tensor, torch.Tensor]:
    y = inputs["signal"]
    if y.dim() != 2 or y.shape[-1] < 2:
        raise SignalError(f"{name}: 'signal' must be (B, T) with T >= 2, got {tuple(y.shape)}")
    return y, as_fs(inputs["fs"], y.shape[0], device=y.device, dtype=y.dtype)


def _pad(value: float, name: str) -> float:
    if not float(value) >= 1.0:
        raise ConfigError(f"{name} pad_factor = {value!r}: must be >= 1 (1 = no padding)")
    return float(value)


def _outside_share(spectrum: torch.Tensor, freqs: torch.Tensor, band: Sequence[float]) -> torch.Tensor:
    """Share of ``spectrum`` (B, F) outside ``band``.  Shape: (B,)."""
    outside = (~band_mask(freqs, band)).to(spectrum.dtype)
    return (spectrum * outside).sum(-1) / spectrum.sum(-1).clamp_min(1e-12)


class IPR(nn.Module):
    """Irrelevant power ratio: magnitude outside the band over all magnitude.

    Args:
        band_bpm: ``(low, high)``, bpm.
        pad_factor: zero-padding of the FFT (>= 1).
    """

    requires = ("signal", "fs")

    def __init__(self, band_bpm: Sequence[float] = (40.0, 250.0), pad_factor: float = 1.0):
        super().__init__()
        self.band = band_hz(band_bpm)
        self.pad_factor = _pad(pad_factor, "ipr")

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        y, fs = _signal(inputs, "ipr")
        power, freqs = periodogram(y, fs, self.pad_factor)  # (B, F)
        magnitude = (power + 1e-20).sqrt()  # |rfft|, with a finite gradient at 0
        return _outside_share(magnitude, freqs, self.band).mean()


class Bandwidth(nn.Module):
    """SiNC bandwidth loss: power outside the band over total power.

    Args:
        band_bpm: ``(low, high)``, bpm.
        pad_factor: zero-padding of the FFT (>= 1).
    """

    requires = ("signal", "fs")

    def __init__(self, band_bpm: Sequence[float] = (40.0, 250.0), pad_factor: float = 1.0):
        super().__init__()
        self.band = band_hz(band_bpm)
        self.pad_factor = _pad(pad_factor, "bandwidth")

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        y, fs = _signal(inputs, "bandwidth")
        power, freqs = periodogram(y, fs, self.pad_factor)
        return _outside_share(power, freqs, self.band).mean()


class Sparsity(nn.Module):
    """SiNC sparsity loss: in-band power away from the in-band peak, over in-band power.

    Args:
        band_bpm: ``(low, high)``, bpm.
        pad_factor: zero-padding of the FFT (>= 1).
        width_bpm: half-width around the peak that is not penalised, bpm.
    """

    requires = ("signal", "fs")

    def __init__(
        self, band_bpm: Sequence[float] = (40.0, 250.0), pad_factor: float = 1.0, width_bpm: float = 6.0
    ):
        super().__init__()
        if not float(width_bpm) >= 0:
            raise ConfigError(f"sparsity width_bpm = {width_bpm!r}: must be >= 0")
        self.band = band_hz(band_bpm)
        self.pad_factor = _pad(pad_factor, "sparsity")
        self.width = float(width_bpm) / 60.0

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        y, fs = _signal(inputs, "sparsity")
        spec = band_spectrum(y, fs, self.band, self.pad_factor)  # power (B, F), sums to 1
        peak = spec.power.argmax(dim=-1, keepdim=True)  # (B, 1), inside the band
        f_peak = spec.freqs.gather(1, peak)  # (B, 1), Hz
        away = ((spec.freqs - f_peak).abs() > self.width).to(spec.power.dtype)  # (B, F)
        return (spec.power * away).sum(-1).mean()


class Variance(nn.Module):
    """SiNC variance loss: squared EMD between the batch-mean spectrum and uniform.

    Args:
        band_bpm: ``(low, high)``, bpm.
        pad_factor: zero-padding of the FFT (>= 1).
        step_bpm: spacing of the common grid, bpm.
        with_negatives: average the negatives' spectra (``"negative"``, (B, T') or B
            tensors, the contrastive proxy's resampled clips) with the anchors'.  SiNC
            spreads the heart rates of a batch by resampling its clips in time; the
            negatives do that here, so that a batch of people with similar heart rates
            is not pushed away from them.

    Inputs: ``signal`` (B, T), ``fs`` (B,); with ``with_negatives``, ``negative`` as well.
    """

    requires = ("signal", "fs")
    optional = ("negative",)

    def __init__(
        self,
        band_bpm: Sequence[float] = (40.0, 250.0),
        pad_factor: float = 1.0,
        step_bpm: float = 1.0,
        with_negatives: bool = False,
    ):
        super().__init__()
        if not float(step_bpm) > 0:
            raise ConfigError(f"variance step_bpm = {step_bpm!r}: must be > 0")
        self.band = band_hz(band_bpm)
        self.pad_factor = _pad(pad_factor, "variance")
        self.step = float(step_bpm) / 60.0
        self.with_negatives = bool(with_negatives)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        y, fs = _signal(inputs, "variance")
        grid = band_grid(self.band, self.step, device=y.device, dtype=y.dtype)  # (G,)
        spec = band_spectrum(y, fs, self.band, self.pad_factor)
        on_grid = resample_spectrum(spec.power, spec.freqs, grid, self.band)  # (B, G)
        negative = inputs.get("negative") if self.with_negatives else None
        if negative is not None:
            from pulsecl.nn.spectral import spectrum_on_grid

            rows = negative if isinstance(negative, torch.Tensor) else list(negative)
            neg = spectrum_on_grid(rows, fs, grid, self.band, self.pad_factor)  # (B, G)
            on_grid = torch.cat([on_grid, neg.to(on_grid.dtype)])  # (2B, G)
        mean = on_grid.mean(dim=0)  # (G,), sums to 1
        uniform = torch.full_like(mean, 1.0 / mean.numel())
        return (mean.cumsum(0) - uniform.cumsum(0)).square().mean()
