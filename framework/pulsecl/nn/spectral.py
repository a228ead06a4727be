"""Differentiable spectral helpers for signals and video, with a per-sample frame rate.

Used by the losses, the view generators, the negative bank and the trainer.  Every
function takes the frame rate ``fs`` from the data: a float (the whole batch) or a
tensor of shape (B,) (one rate per sample).  Frequencies are in Hz.

Power spectra
    :func:`periodogram` gives ``|rfft|^2`` of mean-removed signals, optionally
    zero-padded; :func:`band_spectrum` cuts it to a band and normalises it to sum 1 over
    the band, as the MVTL loss of Gideon & Stent (ICCV 2021) does.  Signals may carry
    extra dimensions between batch and time (views: (B, V, W)); the frequency axis of a
    batch is (B, F) because ``fs`` may differ per sample.

Common grid
    Spectra of clips with different ``fs`` or length have different bins.
    :func:`resample_spectrum` interpolates them onto one grid (Hz) and renormalises;
    :func:`band_grid` is the standard grid of a band (1 bpm steps by default).  The
    negative bank stores spectra on such a grid; :func:`spectrum_on_grid` goes from
    signals to grid spectra in one call.

Temporal resampling
    :func:`resample_signal` and :func:`resample_video` change the number of samples
    along time.  With ``antialias=True`` they are band-limited: the signal is mirrored
    (so that its periodic extension has no jump at the ends), its spectrum is cut below
    the lower of the two Nyquist frequencies (the anti-alias low-pass) and it is
    evaluated at the new sample positions (ideal interpolation).  Sample ``k`` of the
    output sits at ``(k + 0.5) * T / L - 0.5`` input samples, the convention of
    ``torch.nn.functional.interpolate(align_corners=False)``.  ``antialias=False``
    falls back to linear interpolation with no low-pass (the reference
    implementation's trilinear resampling, which aliases: docs/background.md, "Weak points").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from einops import rearrange

from pulsecl.errors import ConfigError, SignalError
from pulsecl.signal.common import DEFAULT_BAND_HZ, band_hz

__all__ = [
    "DEFAULT_BAND_HZ",
    "Spectrum",
    "as_fs",
    "band_grid",
    "band_hz",
    "band_mask",
    "band_spectrum",
    "n_fft",
    "periodogram",
    "resample_signal",
    "resample_spectrum",
    "resample_video",
    "rfft_freqs",
    "spectrum_on_grid",
]


class Spectrum(NamedTuple):
    """A batch of power spectra.

    ``power`` (B, ..., F), ``freqs`` (B, F) in Hz (one row per sample, as ``fs`` may
    differ), ``mask`` (B, F) bool: the bins inside the band (all True when no band).
    """

    power: torch.Tensor
    freqs: torch.Tensor
    mask: torch.Tensor


# ---------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------


def as_fs(
    fs: float | torch.Tensor,
    batch: int,
    *,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The frame rate as a (B,) tensor; a float or a 0-d tensor is repeated.

    Raises :class:`SignalError` for a non-positive or non-finite rate or a tensor whose
    length is not the batch size.
    """
    fs_t = torch.as_tensor(fs, dtype=dtype, device=device).detach()
    if fs_t.dim() == 0:
        fs_t = fs_t.expand(batch)
    if fs_t.dim() != 1 or fs_t.shape[0] != batch:
        raise SignalError(
            f"fs has shape {tuple(fs_t.shape)}: give one frame rate (float) or one per "
            f"sample, shape ({batch},)"
        )
    if not bool(torch.isfinite(fs_t).all()) or bool((fs_t <= 0).any()):
        raise SignalError(f"fs = {fs_t.tolist()}: frame rates must be positive and finite (Hz)")
    return fs_t


def n_fft(length: int, pad_factor: float = 1.0) -> int:
    """FFT length for a signal of ``length`` samples zero-padded by ``pad_factor`` (>= 1)."""
    if not pad_factor >= 1.0:
        raise ConfigError(f"pad_factor = {pad_factor}: must be >= 1 (1 = no zero-padding)")
    return max(int(round(length * pad_factor)), length)


def rfft_freqs(n: int, fs: torch.Tensor) -> torch.Tensor:
    """Bin frequencies of an ``n``-point rfft at rates ``fs`` (B,).  Shape: (B, n//2+1), Hz."""
    k = torch.arange(n // 2 + 1, device=fs.device, dtype=fs.dtype)
    return fs[:, None] * k[None, :] / n  # (B, F)


def band_mask(freqs: torch.Tensor, band: Sequence[float] | None) -> torch.Tensor:
    """Bins of ``freqs`` (any shape, Hz) inside ``band = (low, high)`` Hz, bounds included."""
    if band is None:
        return torch.ones_like(freqs, dtype=torch.bool)
    lo, hi = float(band[0]), float(band[1])
    return (freqs >= lo) & (freqs <= hi)


def _fft_ready(x: torch.Tensor) -> torch.Tensor:
    """``x`` in a dtype the FFT takes: half precision (mixed-precision outputs) and
    integers become float32; float32/64 pass unchanged."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def _per_sample(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """View a per-sample tensor (B, F) as (B, 1, ..., 1, F) to broadcast against ``like``
    (B, ..., F)."""
    return t.reshape(t.shape[0], *([1] * (like.dim() - 2)), t.shape[-1])


# ---------------------------------------------------------------------------------------
# Power spectra
# ---------------------------------------------------------------------------------------


def periodogram(
    x: torch.Tensor, fs: float | torch.Tensor, pad_factor: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Power spectrum ``|rfft(x - mean)|^2`` along the last axis, zero-padded.

    Args:
        x: signals.  Shape: (batch, ..., time).
        fs: frame rate, float or (batch,), Hz.
        pad_factor: FFT length = ``round(time * pad_factor)``; 1 = no padding.

    Returns:
        ``(power, freqs)``: power (batch, ..., F) and bin frequencies (batch, F) in Hz,
        with ``F = n_fft // 2 + 1``.
    """
    if x.dim() < 2:
        raise SignalError(f"signals must be (batch, ..., time), got shape {tuple(x.shape)}")
    x = _fft_ready(x)
    n = n_fft(x.shape[-1], pad_factor)
    fs_t = as_fs(fs, x.shape[0], device=x.device, dtype=x.dtype)
    centred = x - x.mean(dim=-1, keepdim=True)
    power = torch.fft.rfft(centred, n=n, dim=-1).abs().square()  # (B, ..., F)
    return power, rfft_freqs(n, fs_t)


def band_spectrum(
    x: torch.Tensor,
    fs: float | torch.Tensor,
    band: Sequence[float] | None = DEFAULT_BAND_HZ,
    pad_factor: float = 1.0,
    eps: float = 1e-12,
) -> Spectrum:
    """Power spectrum cut to ``band`` (Hz) and normalised to sum 1 over it.

    The PSD of Gideon & Stent (ICCV 2021): ``|rfft|^2`` of the mean-removed signal, bins
    outside the band set to 0, the rest divided by their sum.

    Args:
        x: signals.  Shape: (batch, ..., time).
        fs: frame rate, float or (batch,), Hz.
        band: ``(low, high)`` Hz; ``None`` keeps every bin.
        pad_factor: zero-padding of the FFT (finer bins), >= 1.

    Returns:
        :class:`Spectrum` with power (batch, ..., F), freqs (batch, F), mask (batch, F).
    """
    power, freqs = periodogram(x, fs, pad_factor)
    mask = band_mask(freqs, band)  # (B, F)
    if band is not None and not bool(mask.any(dim=-1).all()):
        raise SignalError(
            f"band {float(band[0]) * 60:.0f}-{float(band[1]) * 60:.0f} bpm holds no frequency "
            f"bin of a {x.shape[-1]}-sample signal at fs = {freqs[:, -1].mul(2).tolist()} Hz: "
            "use longer signals, more zero-padding (pad_factor) or a band below fs/2"
        )
    cut = power * _per_sample(mask, power).to(power.dtype)
    total = cut.sum(dim=-1, keepdim=True).clamp_min(eps)
    return Spectrum(cut / total, freqs, mask)


# ---------------------------------------------------------------------------------------
# A common frequency grid
# ---------------------------------------------------------------------------------------


def band_grid(
    band: Sequence[float] = DEFAULT_BAND_HZ,
    step_hz: float = 1.0 / 60.0,
    *,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The standard frequency grid of a band: ``low, low + step, ...`` up to ``high``.

    The default is 1 bpm steps over 40-250 bpm: 211 points.  Shape: (G,), Hz.
    """
    lo, hi = float(band[0]), float(band[1])
    if not 0 < lo < hi or not step_hz > 0:
        raise ConfigError(f"band {band} Hz with step {step_hz} Hz: need 0 < low < high and step > 0")
    count = int(math.floor((hi - lo) / step_hz + 1e-6)) + 1
    return lo + step_hz * torch.arange(count, device=device, dtype=torch.float64).to(dtype)


def resample_spectrum(
    power: torch.Tensor,
    freqs: torch.Tensor,
    grid: torch.Tensor,
    band: Sequence[float] | None = None,
    eps: float = 1e-12,
) -> torch.Tensor:
    """Interpolate spectra linearly onto ``grid`` and renormalise to sum 1 over it.

    Points of the grid outside the range of ``freqs`` (and outside ``band`` when given)
    get 0.  Differentiable with respect to ``power``.

    Args:
        power: spectra.  Shape: (batch, ..., F).
        freqs: their bins, Hz.  Shape: (F,) shared, or (batch, F).
        grid: target frequencies, Hz, increasing.  Shape: (G,) shared, or (batch, G).
        band: optional ``(low, high)`` Hz outside which the result is 0.

    Returns:
        Spectra on the grid.  Shape: (batch, ..., G).
    """
    batch, n_src = power.shape[0], power.shape[-1]
    if freqs.shape[-1] != n_src:
        raise SignalError(f"spectra have {n_src} bins but freqs has {freqs.shape[-1]}")
    src = freqs.to(power.dtype).expand(batch, n_src).contiguous()  # (B, F)
    dst = grid.to(device=power.device, dtype=power.dtype)
    dst = dst.expand(batch, dst.shape[-1]).contiguous()  # (B, G)
    n_dst = dst.shape[-1]
    right = torch.searchsorted(src, dst).clamp(1, n_src - 1)  # (B, G), first bin >= f
    left = right - 1
    f0, f1 = src.gather(1, left), src.gather(1, right)
    w = ((dst - f0) / (f1 - f0).clamp_min(eps)).clamp(0.0, 1.0)  # (B, G)
    valid = (dst >= src[:, :1]) & (dst <= src[:, -1:]) & band_mask(dst, band)  # (B, G)

    middle = power.shape[1:-1]
    # bin indices (B, G) -> (B, ..., G): the same bins for every view of a sample
    left_all = _per_sample(left, power).expand(batch, *middle, n_dst)
    right_all = _per_sample(right, power).expand(batch, *middle, n_dst)
    p0 = power.gather(-1, left_all)
    p1 = power.gather(-1, right_all)
    out = (p0 + _per_sample(w, power) * (p1 - p0)) * _per_sample(valid, power).to(power.dtype)
    return out / out.sum(dim=-1, keepdim=True).clamp_min(eps)


def spectrum_on_grid(
    x: torch.Tensor | Sequence[torch.Tensor],
    fs: float | torch.Tensor,
    grid: torch.Tensor | None = None,
    band: Sequence[float] = DEFAULT_BAND_HZ,
    pad_factor: float = 1.0,
) -> torch.Tensor:
    """Band spectra of signals on a common grid (default :func:`band_grid` of ``band``).

    ``x`` is a tensor (batch, ..., time), or a list of B 1-D tensors of different
    lengths (the frequency proxy's negatives), whose samples of equal length are
    transformed together.  Shape: (batch, ..., time) -> (batch, ..., G); list -> (B, G).
    What the trainer hands to the negative bank as ``anchor_spectra`` /
    ``negative_spectra``.
    """
    if not isinstance(x, torch.Tensor):
        rows = list(x)
        if not rows or any(not isinstance(r, torch.Tensor) or r.dim() != 1 for r in rows):
            raise SignalError("spectrum_on_grid: give a tensor (B, ..., T) or a list of 1-D tensors")
        fs_t = as_fs(fs, len(rows), device=rows[0].device, dtype=rows[0].dtype)
        if grid is None:
            grid = band_grid(band, device=rows[0].device, dtype=rows[0].dtype)
        out: dict[int, torch.Tensor] = {}
        for length in sorted({r.shape[0] for r in rows}):
            idx = [i for i, r in enumerate(rows) if r.shape[0] == length]
            group = torch.stack([rows[i] for i in idx])  # (N, L)
            on_grid = spectrum_on_grid(group, fs_t[idx], grid, band, pad_factor)  # (N, G)
            out.update(zip(idx, on_grid.unbind(0)))
        return torch.stack([out[i] for i in range(len(rows))])  # (B, G)
    spec = band_spectrum(x, fs, band, pad_factor)
    if grid is None:
        grid = band_grid(band, device=x.device, dtype=spec.power.dtype)
    return resample_spectrum(spec.power, spec.freqs, grid, band)


# ---------------------------------------------------------------------------------------
# Temporal resampling
# ---------------------------------------------------------------------------------------


def _check_length(length: int, size: int) -> int:
    if isinstance(length, bool) or int(length) != length or length < 1:
        raise SignalError(f"resampling length {length!r}: must be a positive integer")
    if size < 1:
        raise SignalError("cannot resample an empty signal (0 samples)")
    return int(length)


def resample_signal(x: torch.Tensor, length: int, antialias: bool = True) -> torch.Tensor:
    """Resample along the last axis to ``length`` samples.

    With ``antialias`` the result is band-limited (module docstring): nothing above the
    output's Nyquist frequency folds back, and a pulse at ``f`` cycles per input sample
    comes out at ``f * T / length`` cycles per output sample.  Half-precision input is
    computed, and returned, in float32.

    Shape: (..., time) -> (..., length).
    """
    size = x.shape[-1]
    length = _check_length(length, size)
    if length == size:
        return x
    x = _fft_ready(x)
    lead = x.shape[:-1]
    if not antialias:
        flat = x.reshape(-1, 1, size)  # (N, 1, T)
        out = F.interpolate(flat, size=length, mode="linear", align_corners=False)
        return out.reshape(*lead, length)
    # Mirror: y = [x, reversed x] is 2T-periodic and continuous at its ends.
    y = torch.cat([x, x.flip(-1)], dim=-1)  # (..., 2T)
    n_in, n_out = 2 * size, 2 * length
    spectrum = torch.fft.rfft(y, dim=-1)  # (..., T + 1)
    keep = min(size, length)  # bins strictly below both Nyquist bins (T and L)
    j = torch.arange(keep, device=x.device, dtype=torch.float64)
    shift = 0.5 * size / length - 0.5  # output sample k sits at k*T/L + shift
    phase = torch.polar(torch.ones_like(j), 2.0 * math.pi * j * shift / n_in)
    kept = spectrum[..., :keep] * phase.to(spectrum.dtype)
    padded = F.pad(kept, (0, length + 1 - keep))  # (..., L + 1) complex
    out = torch.fft.irfft(padded, n=n_out, dim=-1) * (n_out / n_in)  # (..., 2L)
    return out[..., :length]


def resample_video(x: torch.Tensor, length: int, antialias: bool = True) -> torch.Tensor:
    """Resample video along time to ``length`` frames; frame size unchanged.

    ``antialias=False`` is trilinear interpolation with no low-pass (the reference
    implementation).  Shape: (B, C, T, H, W) -> (B, C, length, H, W).
    """
    if x.dim() != 5:
        raise SignalError(f"video must be (B, C, T, H, W), got shape {tuple(x.shape)}")
    b, c, t, h, w = x.shape
    length = _check_length(length, t)
    if length == t:
        return x
    if not antialias:
        return F.interpolate(x, size=(length, h, w), mode="trilinear", align_corners=False)
    frames_last = rearrange(x, "b c t h w -> b c h w t")
    out = resample_signal(frames_last, length, antialias=True)  # (B, C, H, W, L)
    return rearrange(out, "b c h w t -> b c t h w").contiguous()
