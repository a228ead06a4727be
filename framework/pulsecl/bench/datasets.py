"""A suite's datasets and the configs of its cells (used by :mod:`pulsecl.bench.runner`).

* :func:`dataset_root`: the folder of a dataset, rendered once into ``OUT/data/<name>``
  when it is synthetic, else from the suite's ``env`` or ``path``;
* :func:`classical_config`, :func:`model_eval_config`, :func:`recipe_config`: the config
  a cell evaluates with, or a recipe trains with (the rules are in
  :mod:`pulsecl.bench.suite`, "Settings").
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from pulsecl.bench.suite import Cell, Suite, config_source
from pulsecl.errors import ConfigError, DataError

__all__ = ["SYNTH_MARKER", "checkpoint_path", "classical_config", "dataset_root", "model_eval_config", "recipe_config"]

SYNTH_MARKER = ".pulsecl-bench.json"


# ----------------------------------------------------------------------------------------
# Datasets
# ----------------------------------------------------------------------------------------


def dataset_root(suite: Suite, name: str, out: Path, progress: bool = False) -> Path:
    """The folder of dataset ``name``: rendered (synthetic), from ``env`` or ``path``.

    A synthetic dataset is rendered once into ``OUT/data/<name>``; a marker file records
    its settings, and a folder rendered with other settings is an error rather than
    silently reused.
    """
    d = suite.datasets[name]
    if d.synthetic is not None:
        return _render(d.name, d.synthetic, out, progress)
    if d.env:
        value = os.environ.get(d.env, "").strip()
        if value:
            root = Path(value).expanduser()
            if not root.is_dir():
                raise DataError(f"dataset '{name}': {d.env}={value} is not a folder; point {d.env} at the dataset's root folder")
            return root
        if not d.path:
            raise DataError(
                f"dataset '{name}' (suite {suite.source.name}): the environment variable {d.env} is not set; "
                f"set it to the {d.dataset if d.dataset != 'auto' else 'dataset'} root folder "
                f"(e.g. export {d.env}=/data/{d.dataset}) or give datasets.{name}.path in the suite"
            )
    root = suite.resolve_path(d.path or "")
    if not root.is_dir():
        via = f" ({d.env} is not set)" if d.env else ""
        raise DataError(f"dataset '{name}': folder '{root}' does not exist{via}; fix datasets.{name}.path in {suite.source}")
    return root


def _render(name: str, settings: dict[str, Any], out: Path, progress: bool) -> Path:
    import json

    from pulsecl.io import write_json
    from pulsecl.synthetic import generate

    root = out / "data" / name
    marker = root / SYNTH_MARKER
    wanted = json.loads(json.dumps(settings))
    if marker.is_file():
        try:
            have = json.loads(marker.read_text(encoding="utf-8")).get("synthetic")
        except ValueError:
            have = None
        if have == wanted:
            return root
        raise ConfigError(
            f"'{root}' was rendered with other synthetic settings than datasets.{name}.synthetic "
            f"now gives ({have} vs {wanted}); use another --out or delete that folder"
        )
    kwargs = dict(settings)
    if "hr_range" in kwargs:
        kwargs["hr_range"] = tuple(kwargs["hr_range"])
    n = kwargs.pop("n")
    # A folder without the marker is an interrupted render: subjects are written whole,
    # and rendering is deterministic, so render all again over them.
    generate(root, n=n, overwrite=True, progress=progress, **kwargs)
    write_json(marker, {"synthetic": wanted})
    return root


# ----------------------------------------------------------------------------------------
# Configs
# ----------------------------------------------------------------------------------------


def _data_settings(config: Any, root: Path, out: Path, plugin: str, split: str) -> None:
    config.data.root = str(root)
    config.data.cache = str(out / "cache")
    config.data.dataset = plugin
    config.data.split = split


def _plugin_of(suite: Suite, name: str) -> str:
    """The dataset plugin of dataset ``name`` (``auto``: the layout decides; a rendered
    synthetic dataset has the layout its generator writes)."""
    return suite.datasets[name].dataset


def classical_config(suite: Suite, cell: Cell, root: Path, out: Path) -> Any:
    """Evaluation config of a classical cell (suite config + suite, dataset, method sets),
    with the crops of a classical method's trace (:func:`pulsecl.video.pipeline.trace_settings`)."""
    from pulsecl.config import load_config
    from pulsecl.engine.evaluate import classical_config as for_classical

    m, d = suite.methods[cell.method], suite.datasets[cell.dataset]
    config = for_classical(load_config(config_source(suite, suite.config), [*suite.set, *d.set, *m.set]))
    _data_settings(config, root, out, _plugin_of(suite, d.name), d.split)
    return config


def model_eval_config(suite: Suite, cell: Cell, model_config: Any, root: Path, out: Path) -> Any:
    """Evaluation config of a model cell: the model's config with fresh data settings,
    the suite's and the dataset's overrides, and the model's own preprocessing (the
    crops a model sees are the ones it learnt on), except ``preprocess.roi``: whether
    the videos show a face or skin only is the data's, so an override of it stays."""
    from pulsecl.config import DataConfig, apply_override, validate

    m, d = suite.methods[cell.method], suite.datasets[cell.dataset]
    config = copy.deepcopy(model_config)
    config.data = DataConfig()
    overrides = [*suite.set, *d.set, *(m.set if m.kind == "checkpoint" else [])]
    for o in overrides:
        apply_override(config, o)
    roi = config.preprocess.roi
    config.preprocess = copy.deepcopy(model_config.preprocess)
    if any(o.partition("=")[0].strip() == "preprocess.roi" for o in overrides):
        config.preprocess.roi = roi
    validate(config)
    _data_settings(config, root, out, _plugin_of(suite, d.name), d.split)
    return config


def recipe_config(suite: Suite, method: str, seed: int, root: Path, out: Path) -> Any:
    """Training config of a recipe at ``seed``."""
    from pulsecl.config import load_config

    m = suite.methods[method]
    train = suite.datasets[m.train_data]
    config = load_config(config_source(suite, m.config), [*m.set, *train.set, f"train.seed={seed}"])
    _data_settings(config, root, out, _plugin_of(suite, train.name), m.train_split)
    return config


def checkpoint_path(suite: Suite, method: str) -> Path:
    from pulsecl.errors import CheckpointError

    path = suite.resolve_path(suite.methods[method].path)
    if not path.exists():
        raise CheckpointError(f"methods.{method}.path: checkpoint '{path}' does not exist (suite {suite.source})")
    return path
