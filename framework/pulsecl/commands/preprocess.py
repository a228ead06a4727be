"""``pulsecl preprocess SOURCE --cache DIR``: build the face-crop cache.

SOURCE is a video file, a folder of frames, or a dataset folder (any layout a dataset
plugin knows; ``--dataset`` names one).  Prints one line per video and a summary.  A
second run with the same settings reuses the cache; a changed setting builds anew.
Every ``[preprocess]`` key has a flag here; ``--config``/``--set`` work as elsewhere.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

_FLAGS = (
    # (flag, config key, type, help)
    ("--detector", "detector", str, "face detector plugin (preprocess.detector)"),
    ("--detect-every", "detect_every", int, "run the detector every N frames (preprocess.detect_every)"),
    ("--box-scale", "box_scale", float, "enlarge face boxes by this factor (preprocess.box_scale)"),
    ("--smooth", "smooth", float, "EMA weight of a new face box, (0, 1] (preprocess.smooth)"),
    ("--size", "size", int, "crop size in pixels (preprocess.size)"),
    ("--roi", "roi", str, "face (the face box; auto means face here), landmarks, or full for video already "
     "cropped to skin (preprocess.roi)"),
    ("--chunk-frames", "chunk_frames", int, "frames decoded per chunk; bounds memory (preprocess.chunk_frames)"),
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "preprocess",
        help="detect faces and cache the crops of a video, a folder of frames or a dataset",
        description="Stream a video, frame folder or dataset through face detection and "
        "cache the crops (numpy + JSON) under --cache.",
    )
    p.add_argument("source", metavar="SOURCE", help="video file, folder of frames, or dataset folder")
    p.add_argument("--cache", metavar="DIR", default=None, help="cache folder (data.cache; default SOURCE's folder/.pulsecl-cache)")
    p.add_argument("--config", metavar="FILE", default=None, help="TOML config file or preset")
    p.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE", dest="overrides",
        help="override a config key (repeatable), e.g. --set preprocess.size=72 or "
        "--set preprocess.detector_options.min_neighbors=6",
    )
    p.add_argument("--dataset", default=None, help="dataset plugin for a dataset folder (data.dataset; default auto)")
    p.add_argument("--fs", type=float, default=None, help="frame rate in Hz, for sources that do not carry one")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    for flag, key, tp, text in _FLAGS:
        p.add_argument(flag, dest=f"pp_{key}", metavar=key.upper(), type=tp, default=None, help=text)
    p.set_defaults(func=run)


def _config(args: argparse.Namespace):
    from pulsecl.config import load_config

    overrides = list(args.overrides)
    for _, key, _, _ in _FLAGS:
        value = getattr(args, f"pp_{key}")
        if value is not None:
            overrides.append(f"preprocess.{key}={json.dumps(value)}")
    if args.dataset is not None:
        overrides.append(f"data.dataset={json.dumps(args.dataset)}")
    if args.cache is not None:
        overrides.append(f"data.cache={json.dumps(str(args.cache))}")
    return load_config(args.config, overrides)


def _jobs(source: Path, config, fs: float | None) -> tuple[list[tuple[str, str]], Path]:
    """``([(label, source path)], default cache folder)`` for SOURCE."""
    from pulsecl.data import open_dataset
    from pulsecl.errors import DataError
    from pulsecl.video.sources import IMAGE_EXTENSIONS

    if not source.exists():
        if str(source).isdigit():
            raise DataError(f"'{source}': cameras cannot be preprocessed into a cache; record a video first")
        raise DataError(f"'{source}' does not exist; give a video file, a folder of frames or a dataset folder")
    if source.is_file():
        return [(source.name, str(source))], source.parent / ".pulsecl-cache"
    if any(p.suffix.lower() in IMAGE_EXTENSIONS for p in source.iterdir() if p.is_file()):
        return [(source.name, str(source))], source.parent / ".pulsecl-cache"
    dataset = open_dataset(source, config.data.dataset)
    records = dataset.records()
    return [(r.id, r.source) for r in records], source / ".pulsecl-cache"


def run(args: argparse.Namespace) -> int:
    from pulsecl.io import output_flags
    from pulsecl.video import preprocess

    config = _config(args)
    source = Path(args.source)
    jobs, default_cache = _jobs(source, config, args.fs)
    cache = Path(config.data.cache) if config.data.cache else default_cache
    progress = not args.no_progress
    bar = None
    if progress and len(jobs) > 1:
        from pulsecl.progress import bar as progress_bar

        bar = progress_bar(total=len(jobs), unit="video", desc="preprocess")
    start = time.perf_counter()
    built = reused = frames = missing = 0
    lines = []
    try:
        for label, path in jobs:
            with output_flags({cache: "--cache"}):  # a write error says which flag to change
                clip = preprocess(path, config.preprocess, cache_dir=cache, progress=progress, fs=args.fs)
            frames += clip.n_frames
            missing += clip.frames_without_face
            reused += clip.reused
            built += not clip.reused
            line = (
                f"{label}: {clip.n_frames} frames, {clip.fs:.2f} fps, "
                f"{clip.frames_without_face} without a face -> {clip.cache_path} "
                f"({'reused' if clip.reused else 'built'})"
            )
            if bar is not None:
                bar.write(line)
                bar.update(1)
            else:
                lines.append(line)
    finally:
        if bar is not None:
            bar.close()
    for line in lines:
        print(line)
    elapsed = time.perf_counter() - start
    print(
        f"preprocessed {len(jobs)} video(s): {built} built, {reused} reused from the cache; "
        f"{frames} frames ({missing} without a face) at {config.preprocess.size}x{config.preprocess.size} "
        f"in {elapsed:.1f} s; cache: {cache}"
    )
    return 0
