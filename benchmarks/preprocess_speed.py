"""Preprocessing throughput and peak memory on long synthetic videos.

Writes a synthetic 640x480 video of each length (default 1 and 10 minutes, 30 fps),
then preprocesses each in a fresh process (default settings, cache on) and prints
frames per second, the multiple of real time, and the peak resident memory (RSS) of
that process.  The pipeline streams, so the 10-minute peak should stay within 1.5x the
1-minute one; the target throughput is at least 5x real time on 2 cores.

    python benchmarks/preprocess_speed.py [--minutes 1 10] [--workdir DIR] [--keep]

Results are printed, never written into the source tree.  Generating the videos is timed
apart and is not part of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procmem import status_mb


def child(video: str, cache: str) -> None:
    """Preprocess ``video`` into ``cache``; print a JSON line of figures."""
    from pulsecl.config import PreprocessConfig
    from pulsecl.video import preprocess

    import cv2  # noqa: F401 - imported before the baseline is taken
    import pulsecl

    pulsecl.build("face_detectors", "haar")  # load the detector before the baseline
    baseline = status_mb("VmRSS")
    start = time.perf_counter()
    clip = preprocess(video, PreprocessConfig(), cache_dir=cache)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    duration = float(clip.timestamps[-1] - clip.timestamps[0]) + 1.0 / clip.fs
    print(
        json.dumps(
            {
                "frames": clip.n_frames,
                "video_s": duration,
                "seconds": elapsed,
                "baseline_mb": baseline,
                "peak_mb": peak,
                "without_face": clip.frames_without_face,
            }
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--workdir", default=None, help="where the videos go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the videos and caches")
    ap.add_argument("--child", nargs=2, metavar=("VIDEO", "CACHE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0

    from pulsecl.synthetic import generate

    work = Path(args.workdir or tempfile.mkdtemp(prefix="pulsecl-bench-"))
    results = []
    try:
        for minutes in args.minutes:
            folder = work / f"{minutes:g}min"
            t0 = time.perf_counter()
            if not (folder / "subject1" / "vid.avi").is_file():
                generate(
                    folder, n=1, seed=0, duration=60.0 * minutes, fps=args.fps, width=args.width,
                    height=args.height, translation=0.02, rotation=1.0, progress=True,
                )
            gen_s = time.perf_counter() - t0
            video = folder / "subject1" / "vid.avi"
            cache = folder / "cache"
            shutil.rmtree(cache, ignore_errors=True)
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(video), str(cache)],
                check=True, capture_output=True, text=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r.update(minutes=minutes, generate_s=gen_s, file_mb=video.stat().st_size / 2**20)
            results.append(r)
            print(
                f"{minutes:g} min ({r['frames']} frames, {args.width}x{args.height}, video "
                f"{r['file_mb']:.0f} MB, generated in {gen_s:.0f} s): preprocessed in "
                f"{r['seconds']:.1f} s = {r['frames'] / r['seconds']:.0f} frames/s = "
                f"{r['video_s'] / r['seconds']:.1f}x real time; peak RSS {r['peak_mb']:.0f} MB "
                f"(after imports {r['baseline_mb']:.0f} MB); {r['without_face']} frames without a face",
                flush=True,
            )
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    if len(results) >= 2:
        a, b = results[0], results[-1]
        ratio = b["peak_mb"] / a["peak_mb"]
        print(
            f"peak RSS {b['minutes']:g} min / {a['minutes']:g} min = {ratio:.2f} (target <= 1.5); "
            f"slowest throughput {min(r['video_s'] / r['seconds'] for r in results):.1f}x real time "
            f"(target >= 5) on {os.cpu_count()} CPU(s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
