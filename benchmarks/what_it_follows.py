"""What does a trained model's output follow on real training faces?  A benchmark: prints
figures, asserts nothing.

    python benchmarks/what_it_follows.py --data TRAINING_VIDEOS --set data.cache=CACHE \\
        --model pulsecl-small --model drift=RUN/last.pt

For 10-s windows of every training video (the crops training uses; the finger PPG of a
labelled dataset is read here for the analysis only), each model's output (eval mode) is
band-passed to 0.7-3 Hz and compared, by in-band |Pearson r|, with: the finger PPG, POS on
the crop's mean colour, the crop's mean R, G and B (lighting), and its global translation
(phase correlation of the green channel against the first frame: head motion).  Also: the
R^2 of the output on colour and translation together, the output's peak rate, and the
share of windows whose peak lies within 5 bpm of the PPG's.  Then the two halves of each
crop (left / right, top / bottom) are read separately and their outputs correlated, on the
real clips and on a frozen frame with independent pixel noise: a rhythm the model makes of
each region's own noise would disagree between halves, the pulse would not.

On ubfc-dev (docs/measurements.md, "Learning on real faces"): the drifting default follows
neither lighting nor translation more than `pulsecl-small` does, puts a 61-62-bpm peak on
every window, and its halves agree *better* than `pulsecl-small`'s, so a spatial-agreement
term would have rewarded the drift (it was not built).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _bandpass(fs: float):
    import scipy.signal

    sos = scipy.signal.butter(2, [0.7, 3.0], btype="bandpass", fs=fs, output="sos")
    return lambda x: scipy.signal.sosfiltfilt(sos, scipy.signal.detrend(np.asarray(x, np.float64), axis=-1), axis=-1)


def _r(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def _peak_bpm(x: np.ndarray, fs: float) -> float:
    import scipy.signal

    f, p = scipy.signal.periodogram(x, fs, nfft=4096)
    m = (f >= 0.7) & (f <= 3.0)
    return float(60.0 * f[m][np.argmax(p[m])])


def _translation(green: np.ndarray) -> np.ndarray:
    """(T, 2) shift of each frame against the first, pixels (phase correlation)."""
    import cv2

    ref = green[0].astype(np.float32)
    window = cv2.createHanningWindow(ref.shape[::-1], cv2.CV_32F)
    return np.array([cv2.phaseCorrelate(ref, g.astype(np.float32), window)[0] for g in green], np.float64)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder of training videos (a labelled dataset gives the PPG column)")
    ap.add_argument("--model", action="append", default=[], metavar="[LABEL=]NAME_OR_CHECKPOINT")
    ap.add_argument("--window-s", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="data overrides (data.cache=...)")
    args = ap.parse_args(argv)

    import torch

    from objective_terms import models_named, trainer_on
    from pulsecl.errors import PulseclError
    from pulsecl_classical.pos import POS

    try:
        # supervised mode loads the videos' PPG (read for this analysis only, never trained on)
        trainer = trainer_on(args.data, ["data.exclude=[]", "train.mode=supervised",
                                         "loss.weights={neg_pearson = 1.0}", "views.augment=''", *args.set])
        models = {label: m.net.eval() for label, m in models_named(args.model).items()}
    except PulseclError as e:
        print(f"what_it_follows: {e}", file=sys.stderr)
        return 2

    windows = []  # (clip (T, H, W, 3) in [0, 1], fs, ppg or None, translation (T, 2))
    videos = list(trainer.videos) + list(trainer.val_videos or [])  # supervised mode set one aside
    for v in videos:
        frames = np.asarray(v.frames, np.float32) / 255.0
        fs = float(v.fs)
        n = int(round(args.window_s * fs))
        shifts = _translation(frames[..., 1])
        ppg = None if v.ppg is None else np.asarray(v.ppg, np.float64)
        for s in range(0, frames.shape[0] - n + 1, n):
            windows.append((frames[s : s + n], fs, None if ppg is None else ppg[s : s + n], shifts[s : s + n]))
    print(f"{len(videos)} videos, {len(windows)} windows of {args.window_s:g} s; in-band |r| of the output with:")
    gen = torch.Generator().manual_seed(args.seed)
    for label, net in models.items():
        rows = []
        for clip, fs, ppg, shifts in windows:
            bp = _bandpass(fs)

            def read(x: np.ndarray) -> np.ndarray:
                t = torch.from_numpy(np.ascontiguousarray(x)).permute(3, 0, 1, 2)[None].float()
                with torch.no_grad():
                    return bp(net.backbone(net.sampler(t))[0].numpy())

            y = read(clip)
            rgb = clip.mean(axis=(1, 2))
            sig = {"POS": bp(POS()(rgb, fs)), "R": bp(rgb[:, 0]), "G": bp(rgb[:, 1]), "B": bp(rgb[:, 2]),
                   "dx": bp(shifts[:, 0]), "dy": bp(shifts[:, 1])}
            if ppg is not None:
                sig["PPG"] = bp(ppg)
            row = {k: abs(_r(y, x)) for k, x in sig.items()}
            nuisance = np.stack([sig[k] for k in ("R", "G", "B", "dx", "dy")], 1)
            coef, *_ = np.linalg.lstsq(nuisance, y, rcond=None)
            row["R2 colour+motion"] = 1.0 - float(np.sum((y - nuisance @ coef) ** 2) / max(np.sum(y**2), 1e-12))
            row["peak bpm"] = _peak_bpm(y, fs)
            if ppg is not None:
                row["at PPG"] = float(abs(row["peak bpm"] - _peak_bpm(sig["PPG"], fs)) < 5.0)
            h, w = clip.shape[1] // 2, clip.shape[2] // 2
            row["halves L/R"] = _r(read(clip[:, :, :w]), read(clip[:, :, w:]))
            row["halves T/B"] = _r(read(clip[:, :h]), read(clip[:, h:]))
            frozen = np.repeat(clip[len(clip) // 2][None], len(clip), axis=0)
            frozen = frozen + torch.randn(frozen.shape, generator=gen).numpy() / 255.0
            row["halves L/R, frozen + noise"] = _r(read(frozen[:, :, :w]), read(frozen[:, :, w:]))
            rows.append(row)
        keys = list(rows[0])
        print(f"  {label:<20}" + "  ".join(f"{k} {np.nanmean([r.get(k, np.nan) for r in rows]):.2f}" for k in keys),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
