"""Supervised losses against a reference pulse: NegMCC, NegSNR, NegPearson.

* Maximum cross-correlation (MCC), Gideon & Stent, ICCV 2021, section 4: the maximum
  over all lags of the band-passed cross-correlation of the mean-removed signals
  (through the FFT, zero-padded to 2T so that it is linear, not circular), divided by
  ``sigma_y * sigma_yhat`` and by the in-band share of the cross-spectral magnitude.
  The last division makes a signal compared with itself score exactly 1 whatever its
  out-of-band content; a delayed copy scores ``(T - |lag|) / T`` at the matching lag
  (the overlap), i.e. close to 1 for a periodic pulse, whose best lag is within half a
  period.  The loss is ``-MCC``.
* SNR: the power of the prediction at the reference's heart-rate bin (the peak of the
  reference's in-band spectrum; ``width_bpm`` widens it) against the power of the
  other in-band bins, in dB.  The loss is ``-SNR``.
* Pearson: Yu et al., BMVC 2019 (PhysNet)'s negative Pearson loss, ``1 - r``.

Inputs: ``signal`` (B, T) prediction, ``target`` (B, T) reference, ``fs`` (B,).
Every loss is averaged over the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pulsecl.errors import ConfigError, SignalError
from pulsecl.nn.spectral import as_fs, band_hz, band_mask, periodogram, rfft_freqs

__all__ = ["NegMCC", "NegPearson", "NegSNR", "max_cross_correlation", "pearson"]


def _pair(inputs: dict[str, torch.Tensor], name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``signal``, ``target`` (B, T) of equal shape and ``fs`` (B,)."""
    y_hat, y = inputs["signal"], inputs["target"]
    if y_hat.dim() != 2 or y_hat.shape != y.shape:
        raise SignalError(
            f"{name}: 'signal' {tuple(y_hat.shape)} and 'target' {tuple(y.shape)} must both be (B, T)"
        )
    if y_hat.shape[-1] < 2:
        raise SignalError(f"{name}: signals of {y_hat.shape[-1]} sample(s) are too short")
    fs = as_fs(inputs["fs"], y.shape[0], device=y_hat.device, dtype=y_hat.dtype)
    return y_hat, y.to(y_hat.dtype), fs


def _peak_bins(
    power: torch.Tensor, freqs: torch.Tensor, band: Sequence[float], width_hz: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(in_band, near)`` masks (B, F): the bins inside ``band`` (Hz), and the bins within
    ``width_hz`` of the in-band peak of ``power`` (the peak bin always counts)."""
    in_band = band_mask(freqs, band)
    k = power.masked_fill(~in_band, -1.0).argmax(dim=-1, keepdim=True)  # (B, 1)
    near = ((freqs - freqs.gather(1, k)).abs() <= width_hz).scatter(1, k, True)
    return in_band, near


def pearson(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Pearson correlation over the last axis.  Shape: (B, T), (B, T) -> (B,)."""
    a = a - a.mean(dim=-1, keepdim=True)
    b = (b - b.mean(dim=-1, keepdim=True)).to(a.dtype)
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp_min(eps)


def max_cross_correlation(
    y_hat: torch.Tensor, y: torch.Tensor, fs: torch.Tensor, band: Sequence[float], eps: float = 1e-8
) -> torch.Tensor:
    """MCC of Gideon & Stent (module docstring).  Shape: (B, T), (B, T), (B,) -> (B,)."""
    t = y.shape[-1]
    n = 2 * t  # linear cross-correlation needs at least 2T - 1 points
    y_hat = y_hat - y_hat.mean(dim=-1, keepdim=True)
    y = y - y.mean(dim=-1, keepdim=True)
    cross = torch.fft.rfft(y_hat, n=n) * torch.fft.rfft(y, n=n).conj()  # (B, T + 1)
    mask = band_mask(rfft_freqs(n, fs), band).to(y.dtype)  # (B, T + 1)
    # one-sided spectrum: every bin but DC and Nyquist stands for two
    weight = torch.full((t + 1,), 2.0, dtype=y.dtype, device=y.device)
    weight[0] = weight[-1] = 1.0
    magnitude = cross.abs() * weight
    share = (magnitude * mask).sum(-1) / magnitude.sum(-1).clamp_min(eps)  # (B,)
    cc = torch.fft.irfft(cross * mask, n=n) / t  # (B, 2T): lags 0..T, then -T+1..-1
    sigma = y_hat.std(dim=-1, unbiased=False) * y.std(dim=-1, unbiased=False)  # (B,)
    return cc.max(dim=-1).values / (share * sigma).clamp_min(eps)


class NegMCC(nn.Module):
    """``-MCC`` (Gideon & Stent 2021).  Inputs ``signal``, ``target`` (B, T), ``fs``.

    Args:
        band_bpm: ``(low, high)`` band of the band-pass, bpm.
    """

    requires = ("signal", "target", "fs")

    def __init__(self, band_bpm: Sequence[float] = (40.0, 250.0)):
        super().__init__()
        self.band = band_hz(band_bpm)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        y_hat, y, fs = _pair(inputs, "neg_mcc")
        return -max_cross_correlation(y_hat, y, fs, self.band).mean()


class NegSNR(nn.Module):
    """``-SNR`` in dB of the prediction at the reference's heart rate.

    Args:
        band_bpm: ``(low, high)`` band, bpm.
        pad_factor: zero-padding of the FFT (>= 1).
        width_bpm: bins within this distance of the reference HR count as signal (the
            nearest bin always does).
    """

    requires = ("signal", "target", "fs")

    def __init__(
        self, band_bpm: Sequence[float] = (40.0, 250.0), pad_factor: float = 1.0, width_bpm: float = 0.0
    ):
        super().__init__()
        if not float(width_bpm) >= 0:
            raise ConfigError(f"neg_snr width_bpm = {width_bpm!r}: must be >= 0")
        self.band = band_hz(band_bpm)
        self.pad_factor = float(pad_factor)
        self.width = float(width_bpm) / 60.0

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        y_hat, y, fs = _pair(inputs, "neg_snr")
        power, freqs = periodogram(y_hat, fs, self.pad_factor)  # (B, F), (B, F)
        reference, _ = periodogram(y.detach(), fs, self.pad_factor)
        in_band, near = _peak_bins(reference, freqs, self.band, self.width)
        signal_bins = (in_band & near).to(power.dtype)
        noise_bins = (in_band & ~near).to(power.dtype)
        s = (power * signal_bins).sum(-1)
        noise = (power * noise_bins).sum(-1)
        eps = 1e-10 * (s + noise).detach() + 1e-30
        snr_db = 10.0 * torch.log10((s + eps) / (noise + eps))
        return -snr_db.mean()


class NegPearson(nn.Module):
    """``1 - r``, r the Pearson correlation over time (Yu et al. BMVC 2019).

    Inputs ``signal``, ``target`` (B, T); ``fs`` (B,) too with ``confidence_power > 0``.

    Args:
        confidence_power: 0 (the default) averages ``1 - r`` over the batch.  With
            ``p > 0`` each clip is weighted by ``share ** p``, ``share`` the part of its
            target's in-band power within ``width_bpm`` of the target's in-band peak, and
            the loss is the weighted mean: a noisy target (a classical method's pulse as a
            pseudo-label, ``data.pseudo_labels``) counts less where it has no clear rate.
            A pure sinusoid target has share close to 1, white noise about
            ``2 * width_bpm / (band width)``.
        band_bpm: the band of the confidence share, bpm.
        width_bpm: half-width of the peak, bpm (the nearest bin always counts).
        pad_factor: zero-padding of the confidence FFT (>= 1).
    """

    requires = ("signal", "target")

    def __init__(
        self,
        eps: float = 1e-8,
        confidence_power: float = 0.0,
        band_bpm: Sequence[float] = (40.0, 250.0),
        width_bpm: float = 6.0,
        pad_factor: float = 4.0,
    ):
        super().__init__()
        if not float(confidence_power) >= 0:
            raise ConfigError(f"neg_pearson confidence_power = {confidence_power!r}: must be >= 0 (0 = unweighted)")
        if not float(width_bpm) >= 0:
            raise ConfigError(f"neg_pearson width_bpm = {width_bpm!r}: must be >= 0")
        self.eps = eps
        self.power = float(confidence_power)
        self.band = band_hz(band_bpm)
        self.width = float(width_bpm) / 60.0
        self.pad_factor = float(pad_factor)
        if self.power > 0:
            self.requires = ("signal", "target", "fs")

    def confidence(self, target: torch.Tensor, fs: torch.Tensor) -> torch.Tensor:
        """Share of the target's in-band power near its in-band peak.  (B, T) -> (B,)."""
        power, freqs = periodogram(target.detach(), fs, self.pad_factor)  # (B, F)
        in_band, near = _peak_bins(power, freqs, self.band, self.width)
        return (power * (near & in_band)).sum(-1) / (power * in_band).sum(-1).clamp_min(1e-30)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        y_hat, y = inputs["signal"], inputs["target"]
        if y_hat.dim() != 2 or y_hat.shape != y.shape:
            raise SignalError(
                f"neg_pearson: 'signal' {tuple(y_hat.shape)} and 'target' {tuple(y.shape)} must both be (B, T)"
            )
        loss = 1.0 - pearson(y_hat, y, self.eps)  # (B,)
        if self.power == 0:
            return loss.mean()
        fs = as_fs(inputs["fs"], y.shape[0], device=y_hat.device, dtype=y_hat.dtype)
        w = self.confidence(y.to(y_hat.dtype), fs) ** self.power
        return (w * loss).sum() / w.sum().clamp_min(1e-12)
