"""Frequency-resampling proxy task: anchor, positive and negative branches.

After Gideon & Stent, "The Way to my Heart is through Contrastive Learning: Remote
Photoplethysmography from Unlabelled Video", ICCV 2021, section 3.  A negative clip is
the video resampled in time by a factor ``r`` and played back at the same frame rate:
its pulse is ``r`` times faster than the anchor's.  The backbone maps the anchor to
``y_a`` and the negative to ``y_n``; resampling ``y_n`` back by ``1 / r`` gives the
positive ``y_p``, whose pulse matches the anchor again.

How the negative is made (one of four; the default first):

* **equal length** (``equal_length``, the default): every clip that enters the backbone
  has the anchor's T frames.  The trainer draws a *context* of ``context_frames(T) =
  ceil(T * max r)`` frames whose first T frames are the anchor; negative i is a random
  window of ``round(r_i * T)`` context frames resampled to T frames, and its positive is
  ``y_n`` resampled back to ``round(r_i * T)`` samples.  Anchors and negatives run in
  one backbone call (2B clips).  Nothing about a negative's length differs from an
  anchor's, so a backbone cannot satisfy the contrast by counting frames.
* **own length** (``equal_length=False``): the anchor (T frames) shortened to
  ``L_i = round(T / r_i)`` frames and run at that length (one call per distinct length).
* **cropped** (``crop_negatives``): one common length ``L = round(T / max r)``, from a
  window of ``round(L * r_i)`` anchor frames, one call for all negatives.
* **zero-padded** (``pad_negatives``, the paper's code): shortened to ``L_i`` frames,
  zero-padded back to T, run with the anchors in one call, first ``L_i`` outputs kept.

The last three give negatives that are shorter than the anchor, or padded: a backbone
that outputs "k cycles per clip" whatever its input (its padding and BatchNorm let it
count frames) makes the negative's pulse r times faster and the positive equal to the
anchor, a perfect score without looking at the skin.  On real low-SNR video that
shortcut won (issue 12: the small default collapsed onto a waveform set by the clip
length); :class:`pulsecl.testing.FixedWaveBackbone` is that model, and the tests check
that the equal-length recipe penalises it while the other recipes reward it.

What this implementation does differently from the reference code (docs/background.md, "Weak
points"), each switchable back for a comparison benchmark:

* ``per_sample=True``: one factor per sample, ``r_i ~ U[factor_range]``, not one per batch.
* ``antialias=True``: temporal resampling is band-limited
  (:func:`pulsecl.nn.spectral.resample_video`), not plain trilinear interpolation.
* A frame-rate guard: when ``max(r) * f_max >= fs / 2`` (``f_max`` the top of the
  band) the negative's pulse would pass the Nyquist frequency, fold back, and the
  proxy task would silently be wrong.  The generator then raises
  :class:`~pulsecl.errors.SignalError` naming the lowest usable frame rate and the
  largest usable factor.

``pad_negatives=True, per_sample=False, antialias=False`` is the paper's exact recipe.

Interface (stage ``"proxy"``)::

    gen = FrequencyViews(factor_range=(1.25, 1.5))
    n = gen.context_frames(T)                      # frames the caller draws per clip
    out = gen(x, fs, model, generator=None, context=None)

* ``x`` (B, C, T, H, W) the anchor video; ``fs`` frame rate, float or (B,) tensor, Hz;
  ``model`` a callable mapping video (N, C, T', H, W) to signals (N, T') (the sampler
  and backbone); ``generator`` an optional ``torch.Generator`` for the factors and
  window starts; ``context`` (B, C, T_c, H, W), ``T_c >= context_frames(T)``, the
  video the equal-length negatives are cut from (its first T frames are normally the
  anchor; the trainer may pass a copy with an augmentation added).  Without a context,
  equal-length negatives need factors <= 1 and are cut from ``x``; other modes ignore it.
* Equal length: ``out["anchor"]`` (B, T), ``out["negative"]`` (B, T), ``out["positive"]``
  a list of B tensors (T_i,), ``T_i = round(r_i * T)``; ``out["factors"]`` ``T_i / T``;
  ``out["lengths"]`` (B,) all T; ``out["context_starts"]`` (B,) int64, the first context
  frame of each negative's window; ``out["fs"]`` (B,).
* Own length and zero-padded: ``out["anchor"]`` (B, T), ``out["positive"]`` (B, T);
  ``out["negative"]`` (B, L) when every sample has the same length L, else a list of B
  tensors, sample i of shape (L_i,), ``L_i = round(T / r_i)``;
  ``out["factors"]`` (B,) the factors actually applied, ``T / L_i`` (the drawn factor
  rounded to a whole number of frames); ``out["lengths"]`` (B,) int64, ``L_i``;
  ``out["fs"]`` (B,) frame rates (the negative is played at the same rate).
* With ``crop_negatives=True``: ``negative`` (B, L) one length; ``positive`` a list of B
  tensors (T_i,), ``T_i = round(L * r_i)``; ``factors`` ``T_i / L``; ``crop_starts``
  (B,) int64, the first anchor frame of each cropped window.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from pulsecl.errors import ConfigError, SignalError
from pulsecl.nn.spectral import as_fs, band_hz, resample_signal, resample_video

__all__ = ["FrequencyViews", "largest_factor", "lowest_frame_rate"]


def lowest_frame_rate(factor_max: float, f_max: float) -> float:
    """Frame rate (Hz) that the proxy task needs to exceed: ``2 * max(r, 1) * f_max``."""
    return 2.0 * max(float(factor_max), 1.0) * float(f_max)


def largest_factor(fs: float, f_max: float) -> float:
    """Largest factor r whose negative keeps the band below Nyquist: ``r < fs / (2 f_max)``."""
    return float(fs) / (2.0 * float(f_max))


class FrequencyViews:
    """Anchor / positive / negative branches by temporal resampling (module docstring).

    Args:
        factor_range: ``(low, high)`` of the speed-up factor r, both above 1 (faster
            negatives) or both below 1 (slower); paper (1.25, 1.5).
        per_sample: draw one factor per sample (True) or one per batch (paper).
        band_bpm: heart-rate band, bpm; its top sets the frame-rate guard.
        pad_negatives: zero-pad negative clips back to T frames and run them in one call
            with the anchors, keeping the first L outputs (the paper's flawed recipe).
        antialias: band-limited temporal resampling (False: trilinear, as the paper).
        crop_negatives: give every negative one common length by cropping the anchor
            first, so all negatives share one backbone call (module docstring).
        equal_length: negatives of the anchor's length, cut from a longer context
            (module docstring).  ``None`` (default): on unless ``pad_negatives`` or
            ``crop_negatives`` is set.
    """

    stage = "proxy"

    def __init__(
        self,
        factor_range: Sequence[float] = (1.25, 1.5),
        per_sample: bool = True,
        band_bpm: Sequence[float] = (40.0, 250.0),
        pad_negatives: bool = False,
        antialias: bool = True,
        crop_negatives: bool = False,
        equal_length: bool | None = None,
    ):
        if isinstance(factor_range, (str, bytes)) or len(factor_range) != 2:
            raise ConfigError(f"factor_range = {factor_range!r}: give [low, high], e.g. [1.25, 1.5]")
        lo, hi = float(factor_range[0]), float(factor_range[1])
        if not 0.0 < lo <= hi or lo <= 1.0 <= hi:
            raise ConfigError(
                f"factor_range = {list(factor_range)}: need 0 < low <= high with both above 1 "
                "(faster negatives) or both below 1; a factor of 1 makes a negative equal to its anchor"
            )
        if pad_negatives and hi < 1.0:
            raise ConfigError(
                f"factor_range = {list(factor_range)} with pad_negatives = true: padding needs "
                "factors above 1 (negatives shorter than the clip)"
            )
        if crop_negatives and (pad_negatives or hi < 1.0):
            raise ConfigError(
                "crop_negatives = true works with factors above 1 and pad_negatives = false; "
                "turn one of them off"
            )
        if equal_length is None:
            equal_length = not (pad_negatives or crop_negatives)
        if equal_length and (pad_negatives or crop_negatives):
            raise ConfigError(
                "equal_length = true makes every negative as long as its anchor; it cannot be "
                "padded or cropped as well: set pad_negatives and crop_negatives to false, or "
                "equal_length = false"
            )
        self.equal_length = bool(equal_length)
        self.factor_range = (lo, hi)
        self.per_sample = bool(per_sample)
        self.band = band_hz(band_bpm)
        self.pad_negatives = bool(pad_negatives)
        self.antialias = bool(antialias)
        self.crop_negatives = bool(crop_negatives)

    def __repr__(self) -> str:
        return (
            f"FrequencyViews(factor_range={self.factor_range}, per_sample={self.per_sample}, "
            f"band_bpm=({self.band[0] * 60:g}, {self.band[1] * 60:g}), "
            f"pad_negatives={self.pad_negatives}, antialias={self.antialias}, "
            f"crop_negatives={self.crop_negatives}, equal_length={self.equal_length})"
        )

    @property
    def uses_context(self) -> bool:
        """Whether negatives are cut from the ``context`` clip (equal-length mode)."""
        return self.equal_length

    def context_frames(self, clip_frames: int) -> int:
        """Frames a caller should draw for anchors of ``clip_frames`` frames: the anchor
        plus room for the longest negative window, ``ceil(T * max r)`` (equal length);
        ``clip_frames`` itself in the other modes."""
        t = int(clip_frames)
        if not self.equal_length:
            return t
        return max(t, int(math.ceil(t * self.factor_range[1] - 1e-9)))

    # -- checks and draws -----------------------------------------------------------------
    def check_frame_rate(self, fs: torch.Tensor) -> None:
        """Raise :class:`SignalError` unless ``max(r) * f_max < fs / 2`` for every sample."""
        f_max = self.band[1]
        need = lowest_frame_rate(self.factor_range[1], f_max)
        low_fs = float(fs.min())
        if low_fs > need:
            return
        r_ok = largest_factor(low_fs, f_max)
        if r_ok > 1.0:
            fix = (
                f"or keep factor_range below {r_ok:.3f} "
                f"(now up to {self.factor_range[1]:g})"
            )
        else:
            fix = f"no factor above 1 works at this rate: lower band_bpm's top below {low_fs * 30:.0f} bpm"
        raise SignalError(
            f"frame rate {low_fs:g} fps is too low for the frequency-resampling proxy: a factor "
            f"of {self.factor_range[1]:g} moves the band's top ({f_max * 60:g} bpm) to "
            f"{self.factor_range[1] * f_max * 60:g} bpm, at or above fs/2 = {low_fs * 30:g} bpm, "
            f"so the negative's pulse folds back; use video above {need:.2f} fps, {fix}"
        )

    def draw_factors(
        self, batch: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Factors r ~ U[factor_range], one per sample or one repeated.  Shape: (B,), CPU."""
        lo, hi = self.factor_range
        n = batch if self.per_sample else 1
        u = torch.rand(n, generator=generator, dtype=torch.float64)
        return (lo + (hi - lo) * u).expand(batch).clone()

    # -- the proxy task -------------------------------------------------------------------
    def __call__(
        self,
        x: torch.Tensor,
        fs: float | torch.Tensor,
        model: Callable[[torch.Tensor], torch.Tensor],
        generator: torch.Generator | None = None,
        context: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        if x.dim() != 5:
            raise SignalError(f"frequency views take video (B, C, T, H, W), got shape {tuple(x.shape)}")
        b, _, t, _, _ = x.shape
        fs_t = as_fs(fs, b, device=x.device)
        self.check_frame_rate(fs_t)
        r = self.draw_factors(b, generator)  # (B,), drawn factors
        if self.equal_length:
            return self._equal_length(x, x if context is None else context, fs_t, r, model, generator)
        if self.crop_negatives:
            return self._cropped(x, fs_t, r, model, generator)
        lengths = torch.round(t / r).long().clamp_min(1)  # (B,), L_i = round(T / r_i)

        if self.pad_negatives:
            anchor, negatives = self._padded(x, lengths, model)
        else:
            anchor, negatives = self._own_length(x, lengths, model)

        positive_rows: dict[int, torch.Tensor] = {}
        for length in lengths.unique().tolist():
            idx = (lengths == length).nonzero().flatten().tolist()
            y_n = torch.stack([negatives[i] for i in idx])  # (N, L)
            y_p = resample_signal(y_n, t, antialias=self.antialias)  # (N, T)
            positive_rows.update(zip(idx, y_p.unbind(0)))
        positive = torch.stack([positive_rows[i] for i in range(b)])  # (B, T)

        same = bool((lengths == lengths[0]).all())
        return {
            "anchor": anchor,
            "positive": positive,
            "negative": torch.stack(negatives) if same else negatives,
            "factors": (t / lengths.double()).to(x.device, torch.float32),
            "lengths": lengths.to(x.device),
            "fs": fs_t,
        }

    def _own_length(
        self, x: torch.Tensor, lengths: torch.Tensor, model: Callable[[torch.Tensor], torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Anchors in one call; negatives of each length in one call, at that length."""
        anchor = _run(model, x, "anchor")  # (B, T)
        negatives: list[torch.Tensor] = [anchor.new_empty(0)] * x.shape[0]
        for length in lengths.unique().tolist():
            idx = (lengths == length).nonzero().flatten()
            x_n = resample_video(x[idx.to(x.device)], length, antialias=self.antialias)  # (N, C, L, H, W)
            y_n = _run(model, x_n, "negative")  # (N, L)
            for row, i in enumerate(idx.tolist()):
                negatives[i] = y_n[row]
        return anchor, negatives

    def _equal_length(
        self,
        x: torch.Tensor,
        context: torch.Tensor,
        fs: torch.Tensor,
        r: torch.Tensor,
        model: Callable[[torch.Tensor], torch.Tensor],
        generator: torch.Generator | None,
    ) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """Negatives of T frames from context windows of round(r_i * T) frames; anchors
        and negatives in one backbone call."""
        b, t = x.shape[0], x.shape[2]
        if context.dim() != 5 or context.shape[0] != b or context.shape[1] != x.shape[1] or context.shape[3:] != x.shape[3:]:
            raise SignalError(
                f"frequency views: context {tuple(context.shape)} must be (B, C, T_c, H, W) with "
                f"the anchor's B, C, H, W {tuple(x.shape)}"
            )
        spans = torch.round(r * t).long().clamp_min(1)  # (B,), T_i = round(r_i * T)
        have = context.shape[2]
        if int(spans.max()) > have:
            raise SignalError(
                f"equal-length negatives of {t}-frame clips need a context of "
                f"{self.context_frames(t)} frames (factor up to {self.factor_range[1]:g}), got "
                f"{have}: pass context= (the trainer draws context_frames(T) frames) or set "
                "equal_length = false"
            )
        starts, x_n = self._windows(context, spans, have, t, generator)  # x_n (B, C, T, H, W), pulse r_i times faster
        y = _run(model, torch.cat([x, x_n.to(x.dtype)]), "anchor + equal-length negative")  # (2B, T)
        anchor, negative = y[:b], y[b:]
        positive = self._stretched(negative, spans)
        return {
            "anchor": anchor,
            "positive": positive,
            "negative": negative,
            "factors": (spans.double() / t).to(x.device, torch.float32),
            "lengths": torch.full((b,), t, dtype=torch.long, device=x.device),
            "context_starts": starts.to(x.device),
            "fs": fs,
        }

    def _windows(
        self, source: torch.Tensor, spans: torch.Tensor, have: int | torch.Tensor, length: int,
        generator: torch.Generator | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A window of ``spans[i]`` frames at a random start within the first ``have``
        frames of each sample of ``source``, resampled to ``length`` frames: the window
        starts (B,) and the clips (B, C, length, H, W)."""
        u = torch.rand(source.shape[0], generator=generator, dtype=torch.float64)
        starts = torch.floor(u * (have - spans + 1).double()).long()  # (B,)
        clips = torch.cat([
            resample_video(source[i : i + 1, :, s : s + n], length, antialias=self.antialias)
            for i, (s, n) in enumerate(zip(starts.tolist(), spans.tolist()))
        ])
        return starts, clips

    def _stretched(self, negative: torch.Tensor, spans: torch.Tensor) -> list[torch.Tensor]:
        """Each negative signal resampled back to its window's ``spans[i]`` frames: the
        positives (T_i,), at the anchor's rate."""
        return [
            resample_signal(negative[i : i + 1], n, antialias=self.antialias)[0]
            for i, n in enumerate(spans.tolist())
        ]

    def _cropped(
        self,
        x: torch.Tensor,
        fs: torch.Tensor,
        r: torch.Tensor,
        model: Callable[[torch.Tensor], torch.Tensor],
        generator: torch.Generator | None,
    ) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """Negatives of one common length L from anchor windows of round(L * r_i) frames."""
        b, t = x.shape[0], x.shape[2]
        length = max(1, int(round(t / float(r.max()))))  # L, common to every negative
        spans = torch.round(length * r).long().clamp(max=t)  # (B,), T_i anchor frames
        starts, x_n = self._windows(x, spans, t, length, generator)  # x_n (B, C, L, H, W)
        anchor = _run(model, x, "anchor")  # (B, T)
        negative = _run(model, x_n, "negative")  # (B, L), one call
        positive = self._stretched(negative, spans)
        return {
            "anchor": anchor,
            "positive": positive,
            "negative": negative,
            "factors": (spans.double() / length).to(x.device, torch.float32),
            "lengths": torch.full((b,), length, dtype=torch.long, device=x.device),
            "crop_starts": starts.to(x.device),
            "fs": fs,
        }

    def _padded(
        self, x: torch.Tensor, lengths: torch.Tensor, model: Callable[[torch.Tensor], torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The reference recipe: negatives zero-padded to T frames, run with the anchors in
        one call (shared normalisation statistics), first L outputs kept."""
        b, t = x.shape[0], x.shape[2]
        padded = []
        for i, length in enumerate(lengths.tolist()):
            x_n = resample_video(x[i : i + 1], length, antialias=self.antialias)  # (1, C, L, H, W)
            padded.append(F.pad(x_n, (0, 0, 0, 0, 0, t - length)))  # (1, C, T, H, W), zeros after L
        y = _run(model, torch.cat([x, *padded]), "anchor + padded negative")  # (2B, T)
        negatives = [y[b + i, :length] for i, length in enumerate(lengths.tolist())]
        return y[:b], negatives


def _run(model: Callable[[torch.Tensor], torch.Tensor], clip: torch.Tensor, branch: str) -> torch.Tensor:
    """``model(clip)``, checking that it gives (N, T') for video (N, C, T', H, W)."""
    y = model(clip)
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (clip.shape[0], clip.shape[2]):
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise SignalError(
            f"the model gave {shape} for the {branch} branch's video {tuple(clip.shape)}; "
            f"a backbone must map (N, C, T, H, W) to (N, T)"
        )
    return y
