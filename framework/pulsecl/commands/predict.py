"""``pulsecl predict VIDEO | --camera N``: heart rate from a video or a live camera.

Face crops, then a classical method (``--method``, default POS) or a trained model
(``--checkpoint`` file or run folder, ``--model`` a model shipped with pulsecl), then the pulse, heart rate over time on sliding windows with SNR
and IPR per window, and the mean heart rate, which is printed; then the beats and, where
the quality gate lets them through, HRV (SDNN, RMSSD, pNN50), or one line saying why
there is none (:func:`pulsecl.signal.hrv.pulse_beats`).  ``--out DIR`` writes
``pulse.csv``, ``hr.csv``, ``beats.csv``, ``summary.json`` and ``plot.png``; ``--json
FILE`` the summary alone.  Nothing is written unless the whole video was analysed.

With ``--camera N`` the heart rate is shown live, updated every second (no HRV on the
live window: a 10-s window holds too few beats); Ctrl-C stops and writes what was
recorded, beats and HRV included.

Flags and config keys: ``--band`` is ``signal.band_bpm``, ``--window`` and
``--stride`` are ``signal.window_s`` and ``signal.stride_s``, ``--preset`` is
``signal.preset``, ``--roi`` is ``preprocess.roi``; ``--config``/``--set`` work as
elsewhere.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="heart rate from a video or a live camera",
        description="Heart rate from face video: face crops, a classical method or a trained "
        "backbone, the pulse, heart rate over time with signal quality, the mean heart rate.",
    )
    p.add_argument("video", nargs="?", metavar="VIDEO", help="video file or folder of frames")
    p.add_argument("--camera", type=int, metavar="N", default=None, help="live heart rate from camera N instead")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--method", default=None, help="classical method (default pos; see `pulsecl plugins`)")
    how.add_argument("--checkpoint", metavar="CKPT", default=None,
                     help="trained checkpoint: a file or run folder, always a path (a shipped model goes to --model)")
    how.add_argument("--model", metavar="NAME", default=None,
                     help="a trained model shipped with pulsecl, by name, never a path (`pulsecl models` lists them)")
    p.add_argument("--out", metavar="DIR", default=None, help="write pulse.csv, hr.csv, beats.csv, summary.json, plot.png here")
    p.add_argument("--json", metavar="FILE", default=None, help="write the JSON summary to FILE")
    p.add_argument("--roi", choices=["auto", "face", "landmarks", "full"], default=None,
                   help="landmarks (the face's skin from face landmarks), face (the face box), full (video already "
                   "cropped to skin), or auto (default: landmarks for a classical method when installed, else face; "
                   "a model's own setting) (preprocess.roi)")
    p.add_argument("--band", nargs=2, type=float, metavar=("LOW", "HIGH"), default=None,
                   help="plausible heart-rate band in bpm (signal.band_bpm; default 40 250; e.g. 45 150 at rest)")
    p.add_argument("--window", type=float, metavar="S", default=None, help="sliding window, seconds (signal.window_s)")
    p.add_argument("--stride", type=float, metavar="S", default=None, help="its stride, seconds (signal.stride_s)")
    p.add_argument("--preset", default=None, help="post-processing preset (signal.preset)")
    p.add_argument("--fs", type=float, default=None,
                   help="frame rate in Hz, for sources that do not carry one; it overrides a video file's own rate, "
                   "with a warning when the two differ by more than 1%% (the heart rate scales with it)")
    p.add_argument("--device", default=None, help="torch device for --checkpoint/--model (auto, cpu, cuda)")
    p.add_argument("--threads", type=int, metavar="N", default=None,
                   help="CPU threads for the model of --checkpoint/--model (default: one fewer than the CPUs, "
                   "at least 1, as the video is decoded in a thread of its own)")
    p.add_argument("--no-crop-process", dest="crop_process", action="store_false",
                   help="with --checkpoint/--model: decode and crop the video in this process, after the model "
                   "has loaded (by default, with more than one CPU, a child process reads it while torch is imported)")
    p.add_argument("--duration", type=float, metavar="S", default=None, help="--camera: stop after S seconds")
    p.add_argument("--config", metavar="FILE", default=None, help="TOML config file or preset")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", dest="overrides",
                   help="override a config key (repeatable)")
    p.add_argument("--no-plot", action="store_true", help="with --out: skip plot.png")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _options(args: argparse.Namespace) -> dict:
    from pulsecl.config import load_config

    config = load_config(args.config, args.overrides) if (args.config or args.overrides) else None
    return {
        "roi": args.roi, "band_bpm": args.band, "window_s": args.window, "stride_s": args.stride,
        "preset": args.preset, "config": config, "device": args.device,
    }


def model_threads(requested: int | None) -> int:
    """Torch's CPU threads for a model in ``predict``: ``requested``, else one fewer than
    the CPUs this process may use (at least 1).  The video is decoded in a reader thread
    and cropped in the main thread; a model using every core competes with both (on 2
    cores, 1 torch thread took about 0.3 s less end to end than 2 on a 30-s video;
    ``docs/measurements.md``)."""
    from pulsecl.errors import ConfigError

    if requested is not None:
        if requested < 1:
            raise ConfigError(f"--threads {requested}: give a positive number of threads")
        return int(requested)
    return max(1, usable_cpus() - 1)


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def run(args: argparse.Namespace) -> int:
    from pulsecl.errors import ConfigError

    if (args.video is None) == (args.camera is None):
        raise ConfigError("give a VIDEO or --camera N (one of the two)")
    if args.duration is not None and args.camera is None:
        raise ConfigError("--duration is for --camera; a video is read to its end")
    if args.threads is not None and args.checkpoint is None and args.model is None:
        raise ConfigError("--threads is for --checkpoint or --model; a classical method runs in one thread")
    from pulsecl.io import check_output, output_flags

    # outputs that cannot be written fail now, not after the whole video was analysed
    if args.out is not None:
        check_output(args.out, "--out", folder=True)
    if args.json is not None:
        check_output(args.json, "--json", folder=False)
    options = _options(args)
    if args.checkpoint is not None or args.model is not None:
        options["threads"] = model_threads(args.threads)  # for this command only (predict restores torch's)
    result = _predict(args, options)
    # The heart rate first: a file that cannot be written (a full disk) still leaves it on screen.
    print(
        f"{result.source}: {result.hr_text}, {result.quality} confidence  (SNR {result.snr_db:.1f} dB, "
        f"IPR {result.ipr:.2f}; {result.frames_read} frames at {result.fs:.2f} fps, "
        f"{result.frames_without_face} without a face; {result.label})", flush=True
    )
    if result.quality == "low":
        from pulsecl.warn import warn

        warn(f"low confidence: {result.confidence.reason}; the heart rate may be wrong (see the SNR per window)")
    print(f"{result.source}: {result.hrv_text}", flush=True)  # the HRV, or why there is none
    with output_flags({args.out: "--out", args.json: "--json"}):  # a write error names the flag at fault
        paths = result.write(args.out, args.json, plot=not args.no_plot) if (args.out or args.json) else {}
    if paths:
        print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _predict(args: argparse.Namespace, options: dict):
    if args.camera is not None:
        from pulsecl.live import live
        from pulsecl.predictor import torch_threads

        with torch_threads(options.pop("threads", None)):  # restored: main() may run again in this process
            return live(args.camera, fs=args.fs, method=args.method, checkpoint=args.checkpoint, model=args.model,
                        duration=args.duration, **options)
    from pulsecl.predictor import predict

    # With a model, the video is decoded and cropped in a child process while torch is
    # imported and the model loads (pulsecl.video.worker): the command line has no plugin
    # registered at run time that the child could miss.  On one CPU the two would only
    # take turns, and the child's start-up would be added.
    return predict(args.video, fs=args.fs, method=args.method, checkpoint=args.checkpoint, model=args.model,
                   progress=not args.no_progress, crop_process=args.crop_process and usable_cpus() > 1, **options)
