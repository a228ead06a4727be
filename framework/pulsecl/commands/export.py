"""``pulsecl export CKPT --format torchscript|onnx [--out FILE]``: a backbone for deployment."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a trained backbone to TorchScript or ONNX",
        description="Sampler + backbone of a checkpoint, traced and saved for deployment: video "
        "(B, 3, T, H, W) in [0, 1] -> pulse (B, T).  The export is checked against the original "
        "before it is written.  ONNX needs: pip install 'pulsecl[export]'.",
    )
    p.add_argument("checkpoint", metavar="CKPT", help="checkpoint file or run folder")
    p.add_argument("--format", choices=["torchscript", "onnx"], default="torchscript",
                   help="torchscript (default) or onnx (needs: pip install 'pulsecl[export]')")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="output file (default: CKPT with .torchscript.pt or .onnx)")
    p.add_argument("--frames", type=int, default=None, help="frames of the example clip (default: clip_frames)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pulsecl.export import export
    from pulsecl.io import check_output, output_flags

    ck = Path(args.checkpoint)
    stem = ck / "model" if ck.is_dir() else ck.with_suffix("")
    out = args.out or str(stem) + (".torchscript.pt" if args.format == "torchscript" else ".onnx")
    check_output(out, "--out", folder=False)  # before the model is loaded and traced
    with output_flags({out: "--out"}):
        info = export(args.checkpoint, out, format=args.format, frames=args.frames)
    check = "not checked (install onnxruntime or onnx to check)" if info["max_rel_error"] is None \
        else f"matches the original to {info['max_rel_error']:.1e}"
    print(f"wrote {info['path']} ({info['format']}, example input {info['input_shape']}; {check})")
    return 0
