"""Shared pieces of the benchmark tests: a tiny labelled dataset and suite files."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

TINY_SYNTH = "{ n = 2, seed = 7, duration = 6.0, width = 160, height = 120, hr_range = [60.0, 120.0] }"

# The evaluation settings of every tiny suite: small crops, 4-s HR windows.
TINY_SET = '["preprocess.size=16", "signal.window_s=4"]'

# A training recipe that takes a few seconds on CPU.  Its backbone is pulsecl.testing's
# pass-through (fixture test_backbones): a 4-channel PhysNet after 2 steps is collapsed
# (its output ignores its input), and the trainer writes no best.pt for such a run.
TINY_RECIPE = [
    "model.backbone='pass-through'",
    "model.options={}",
    "preprocess.size=16",
    "data.clip_frames=64",
    "train.batch_size=2",
    "train.steps_per_epoch=1",
    "train.epochs=2",
    "views.windows_options={n_views = 2}",
]


def render_tiny(root: Path) -> Path:
    """2 labelled subjects x 6 s at 160x120 (about a second to render)."""
    from pulsecl.synthetic import generate

    generate(root, n=2, seed=7, duration=6.0, fps=30.0, width=160, height=120, hr_range=(60, 120))
    return root


def write_suite(folder: Path, body: str, name: str = "suite.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


def classical_suite(folder: Path, data: Path, methods=("pos", "chrom")) -> Path:
    """Classical methods on two datasets: one given by path, one rendered by the runner."""
    blocks = [
        f"""
        [suite]
        name = "tiny"
        set = {TINY_SET}

        [datasets.given]
        path = "{data}"

        [datasets.rendered]
        synthetic = {TINY_SYNTH}
        """
    ]
    for m in methods:
        blocks.append(
            f"""
            [methods.{m.upper()}]
            kind = "classical"
            method = "{m}"
            """
        )
    return write_suite(folder, "".join(textwrap.dedent(b) for b in blocks))


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def table_rows(markdown: str) -> dict[str, list[str]]:
    """``{method label: cells}`` of a markdown table."""
    rows = {}
    for line in markdown.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells
    return rows
