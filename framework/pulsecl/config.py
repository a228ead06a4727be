"""Configuration: TOML files read into dataclasses with documented defaults.

* ``load_config(path_or_preset, overrides)`` reads a TOML file (or a named preset from
  ``pulsecl/presets/``) over the defaults, then applies ``section.key=value`` overrides.
* Unknown sections and keys are errors that name the key and the file.
* Values are checked against the field's type (``int``, ``float``, ``bool``, ``str``,
  lists, tables); component options (``*.options`` tables) are checked when the component
  is built, against the component factory's own signature.
* :func:`dump_toml` prints a resolved config that loads back to the same config.

Frequencies are given in bpm here, at the edge; the code works in Hz.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from pulsecl.errors import ConfigError, did_you_mean

__all__ = [
    "Config",
    "PRESETS_DIR",
    "apply_override",
    "check_type",
    "config_hash",
    "config_to_dict",
    "dump_toml",
    "load_config",
    "preset_summary",
    "presets",
]

PRESETS_DIR = Path(__file__).with_name("presets")


# ----------------------------------------------------------------------------------------
# Sections.  Every field carries its default and a comment saying what it means.
# ----------------------------------------------------------------------------------------


@dataclass
class SignalConfig:
    """Turning a pulse signal into a heart rate."""

    band_bpm: list[float] = field(default_factory=lambda: [40.0, 250.0])  # plausible HR band, bpm
    window_s: float = 10.0  # sliding window for HR over time, seconds
    stride_s: float = 1.0  # stride of that window, seconds
    preset: str = "default"  # post-processing preset: default | rppg-toolbox | gideon2021
    # the harmonic rule: halve an answer that is the second harmonic of a pulse with a
    # pronounced dicrotic wave (pulsecl.signal.analysis.harmonic_rule; docs/measurements.md)
    harmonic_rule: bool = True
    despike: bool = True  # classical methods: replace frames whose colour jumps (the ROI left the skin)


@dataclass
class PreprocessConfig:
    """Video -> face crops (the video pipeline)."""

    detector: str = "haar"  # face detector plugin
    detector_options: dict[str, Any] = field(default_factory=dict)  # options of that plugin (e.g. min_neighbors)
    detect_every: int = 10  # run the detector every N frames, track in between
    box_scale: float = 1.2  # enlarge the detected box by this factor
    smooth: float = 0.3  # temporal smoothing of boxes (EMA weight of the new box, 0-1]
    size: int = 32  # a model's crops are resized to size x size pixels (the small default; paper: 64)
    # auto | face | landmarks | full.  face: the detector's box (with a colour skin mask for
    # classical methods); landmarks: the skin region of face landmarks (face oval less eyes,
    # brows, mouth; pixels outside it zero), from the landmarker; full: video already cropped
    # to skin; auto: landmarks for classical methods when the landmarker can run, else face,
    # and face for models (docs/measurements.md, "Real faces")
    roi: str = "auto"
    landmarker: str = "facemesh"  # face-detector plugin with landmarks and a skin region (roi = landmarks)
    trace_size: int = 128  # crop size of classical methods' skin traces (32 px lost the pulse on real faces)
    chunk_frames: int = 300  # frames decoded per chunk (bounds memory)


@dataclass
class DataConfig:
    """What to train or evaluate on."""

    dataset: str = "auto"  # dataset plugin, or auto (guess from the folder layout)
    root: str = ""  # dataset root or folder of videos (--data on the command line)
    cache: str = ""  # preprocessing cache folder ("" = <root>/.pulsecl-cache)
    clip_s: float = 0.0  # training clip length in seconds (0 = use clip_frames)
    clip_frames: int = 128  # training clip length in frames when clip_s is 0
    sampling: str = "uniform"  # training clips: uniform (every video frame alike) | subjects (distinct subjects per batch, each alike)
    exclude: list[str] = field(default_factory=lambda: ["literature"])  # subject/video ids left out; "literature" = the usual ones (pulsecl.data.LITERATURE_EXCLUSIONS)
    split: str = "all"  # all | train | val | test (subject-wise, see fold settings)
    folds: int = 0  # k for subject-wise k-fold (0 = a single split by val_fraction)
    fold: int = 0  # which fold is held out
    val_fraction: float = 0.2  # share of subjects held out for validation when folds = 0
    # self-supervised only: a classical method (pos, chrom, ...) whose pulse on each training
    # video's own crops is the "target" of the losses that read one (neg_pearson ...); "" = none.
    # The reference labels are still never read (docs/measurements.md, "Stop 21" and "Stop 22").
    pseudo_labels: str = ""


@dataclass
class ModelConfig:
    """Backbone and sampler."""

    backbone: str = "physnet"  # backbone plugin
    # chromatic input normalisation; PhysNet's time padding is replicate by default (why,
    # and the measurements behind both: docs/measurements.md, "Self-supervised training defaults").
    options: dict[str, Any] = field(default_factory=lambda: {"channels": 32, "norm": "chromatic"})
    sampler: str = "identity"  # sampler plugin (identity | saliency)
    sampler_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ViewsConfig:
    """The contrastive proxy task and the views cut from each branch."""

    proxy: str = "frequency"  # view generator that makes anchor/positive/negative branches
    # equal_length: every clip that enters the backbone has the anchor's T frames; each
    # negative is a longer window of the source video resampled to T, so the clip length
    # cannot tell a negative from an anchor (pulsecl_views.frequency; the paper preset
    # keeps its zero-padded negatives for comparison).
    proxy_options: dict[str, Any] = field(default_factory=lambda: {"equal_length": True})
    windows: str = "windows"  # view generator that cuts views from each branch
    windows_options: dict[str, Any] = field(default_factory=dict)
    # augment: an "augment" view generator ("" = none); "motion" adds periodic sub-pixel
    # head motion in the heart-rate band (pulsecl_views.augment).
    augment: str = "motion"
    augment_options: dict[str, Any] = field(default_factory=dict)
    # an augmented copy of this share of the batch's anchors, compared with the anchor by the
    # invariance loss (one more backbone pass; motion on the negatives or the anchor, and a
    # half-size copy, were measured and dropped: docs/measurements.md, "Stop 20", "Stop 26")
    augment_fraction: float = 1.0


@dataclass
class LossConfig:
    """Losses and their weights: total = sum(weight * loss)."""

    weights: dict[str, float] = field(
        default_factory=lambda: {"mvtl": 1.0, "bandwidth": 1.0, "sparsity": 1.0, "invariance": 1.0}
    )
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-loss options


@dataclass
class BankConfig:
    """Optional momentum bank of negatives (size 0 = off)."""

    name: str = "momentum"  # negative bank plugin
    size: int = 0  # spectra kept; 0 turns the bank off
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    """Optimisation."""

    mode: str = "contrastive"  # contrastive (no labels) | supervised (reference pulse)
    epochs: int = 10
    steps_per_epoch: int = 0  # 0 = one pass over the clips
    batch_size: int = 8
    lr: float = 1e-3  # AdamW learning rate
    weight_decay: float = 0.01
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | mps
    amp: bool = True  # mixed precision (GPU only)
    channels_last: bool = True  # 3-D conv weights and clips in channels-last memory layout (faster on CPU)
    # CPU, Linux: malloc keeps freed memory (1.3-1.7x clips/s, up to 1.5x peak RSS).  "auto":
    # on for clips of at most twice the small default's volume (batch x frames x size^2),
    # where it costs well under 1 GB; true | false force it
    keep_memory: bool | str = "auto"
    time_budget_s: float = 0.0  # stop training after this many seconds (0 = no limit)
    # after this many seconds of training each, save the weights as snapshot-<s>s.pt (for
    # accuracy against CPU time: benchmarks/ubfc_train.py); [] = none
    snapshots_s: list[float] = field(default_factory=list)
    # start from a shipped model (by name) or a checkpoint (a path): its weights, model and
    # preprocessing; best.pt stays the start until an epoch beats it (--init)
    init: str = ""


@dataclass
class EvalConfig:
    """Whole-video inference."""

    window_s: float = 0.0  # inference window in seconds (0 = the training clip length)
    overlap: float = 0.5  # window overlap, Hamming-weighted overlap-add


@dataclass
class Config:
    """The whole configuration.  Sections are TOML tables of the same names."""

    signal: SignalConfig = field(default_factory=SignalConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    views: ViewsConfig = field(default_factory=ViewsConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    bank: BankConfig = field(default_factory=BankConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


# ----------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------


def presets() -> list[str]:
    """Names of the configs shipped with pulsecl (``default``, ``paper``, ...)."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def preset_summary(name: str) -> str:
    """The first comment line of preset ``name``'s TOML file ("" if it has none)."""
    try:
        lines = (PRESETS_DIR / f"{name}.toml").read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    for line in lines:
        if line.startswith("#"):
            return line.lstrip("#").strip()
        if line.strip():
            break
    return ""


def _resolve_source(source: str | Path) -> Path:
    path = Path(source)
    if path.suffix == ".toml" or path.exists() or "/" in str(source):
        if not path.is_file():
            raise ConfigError(f"config file '{path}' does not exist; give a TOML file or a preset ({', '.join(presets())})")
        return path
    preset = PRESETS_DIR / f"{source}.toml"
    if not preset.is_file():
        raise ConfigError(
            f"unknown config preset '{source}'{did_you_mean(str(source), presets())} "
            f"(presets: {', '.join(presets())}; or give a path to a .toml file)"
        )
    return preset


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _check_value(value: Any, tp: Any, key: str, origin: str) -> Any:
    """Coerce/check ``value`` against the annotation ``tp``; raise ConfigError if wrong."""
    base = typing.get_origin(tp) or tp
    if base in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _check_value(value, arg, key, origin)
            except ConfigError:
                continue
        raise ConfigError(f"{origin}: '{key}' = {value!r} has the wrong type (expected {tp})")
    if tp is Any:
        return value
    if base is bool:
        if isinstance(value, bool):
            return value
    elif base is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif base is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif base is str:
        if isinstance(value, str):
            return value
    elif base is list:
        if isinstance(value, (list, tuple)):
            (item,) = typing.get_args(tp) or (Any,)
            return [_check_value(v, item, f"{key}[{i}]", origin) for i, v in enumerate(value)]
    elif base is dict:
        if isinstance(value, dict):
            _, item = typing.get_args(tp) or (str, Any)
            return {k: _check_value(v, item, f"{key}.{k}", origin) for k, v in value.items()}
    else:  # pragma: no cover - every field uses one of the above
        return value
    expected = getattr(base, "__name__", str(base))
    raise ConfigError(
        f"{origin}: '{key}' must be {expected}, got {type(value).__name__} {value!r}"
    )


def check_type(value: Any, tp: Any, key: str, origin: str, what: str | None = None) -> Any:
    """``value`` checked against the annotation ``tp`` (``int``, ``float``, ``str``,
    ``bool``, ``list[...]``, ``dict[str, ...]``, unions, ``Any``; ints are accepted and
    converted where a float is wanted, bools are never numbers): the one type check of
    pulsecl's TOML files (configs and bench suites).  A mismatch raises ConfigError
    ``"<origin>: '<key>' must be <what>, got <type> <value>"``; ``what`` defaults to the
    type's name."""
    try:
        return _check_value(value, tp, key, origin)
    except ConfigError:
        if what is None:
            raise
        raise ConfigError(f"{origin}: '{key}' must be {what}, got {type(value).__name__} {value!r}") from None


#: Keys pulsecl no longer has, and why.  A checkpoint saved before one went is still read
#: (the key is dropped: it only set the analysis); a config file or --set naming one is an
#: error that says what replaced it.
RETIRED: dict[str, str] = {
    "signal.half_ratio": "the octave rule was replaced by signal.harmonic_rule (docs/measurements.md, \"Harmonics\")",
    "views.augment_on": "only the augmented copy is left: motion on the negatives or on the anchor lost the motion "
                        "result (docs/measurements.md, \"Stop 20\")",
    "views.augment_scale": "the half-size copy lost the motion result and was dropped (docs/measurements.md, \"Stop 26\")",
}


def _merge_section(section: Any, values: dict[str, Any], name: str, origin: str, saved: bool = False) -> None:
    known = [f.name for f in dataclasses.fields(section)]
    for key, value in values.items():
        if key not in known:
            note = RETIRED.get(f"{name}.{key}")
            if note is not None and saved:
                continue
            raise ConfigError(
                f"{origin}: unknown key '{name}.{key}'"
                + (f": {note}" if note else f"{did_you_mean(key, known)} (keys in [{name}]: {', '.join(known)})")
            )
        tp = _field_type(type(section), key)
        # A table given in a file replaces the default table (a file that sets
        # [loss.weights] means exactly those weights).
        setattr(section, key, _check_value(value, tp, f"{name}.{key}", origin))


def merge(config: Config, data: dict[str, Any], origin: str, saved: bool = False) -> Config:
    """Apply a parsed TOML mapping to ``config`` (in place); ``origin`` names the file.
    ``saved``: the mapping is a checkpoint's own config, whose :data:`RETIRED` keys are
    dropped."""
    sections = [f.name for f in dataclasses.fields(config)]
    for name, values in data.items():
        if name not in sections:
            raise ConfigError(
                f"{origin}: unknown section '{name}'{did_you_mean(name, sections)} "
                f"(sections: {', '.join(sections)})"
            )
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: '{name}' must be a table ([{name}]), got {values!r}")
        _merge_section(getattr(config, name), values, name, origin, saved)
    return config


def _parse_value(text: str, override: str = "") -> Any:
    """A ``--set`` value: a TOML literal if it parses as one, else a plain string.

    A value that starts like a table, an array or a quoted string (``{``, ``[``, ``"``,
    ``'``) is meant as TOML: if it does not parse, that is an error (not a string)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        if text[:1] in ("{", "[", '"', "'"):
            reason = re.sub(r" \(at line \d+, column (\d+)\)", lambda m: f" (at character {int(m.group(1)) - 4})", str(exc))
            reason = reason.replace("(at end of document)", "(at the end of the value)")
            key = override.partition("=")[0].strip() or "the key"
            raise ConfigError(f"--set '{override or text}': the value of {key} is not valid TOML: {reason}") from None
        return text


def apply_override(config: Config, override: str) -> Config:
    """Apply one ``section.key=value`` (or ``section.key.sub=value``) override."""
    if "=" not in override:
        raise ConfigError(f"--set '{override}': expected section.key=value")
    dotted, _, text = override.partition("=")
    parts = dotted.strip().split(".")
    if len(parts) < 2:
        raise ConfigError(f"--set '{override}': expected section.key=value, e.g. train.epochs=3")
    value = _parse_value(text.strip(), override)
    section, key, rest = parts[0], parts[1], parts[2:]
    if rest:  # into a table field: model.options.channels=16
        sec = getattr(config, section, None)
        if sec is None or not hasattr(sec, key) or not isinstance(getattr(sec, key), dict):
            merge(config, {section: {key: {}}}, "--set")  # raises the usual unknown-key error
            raise ConfigError(f"--set '{override}': '{section}.{key}' is not a table")
        table = copy.deepcopy(getattr(sec, key))
        node = table
        for part in rest[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set '{override}': '{part}' is not a table")
        node[rest[-1]] = value
        return merge(config, {section: {key: table}}, "--set")
    return merge(config, {section: {key: value}}, "--set")


def load_config(
    source: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> Config:
    """Defaults, then the TOML file or preset ``source``, then ``overrides``."""
    config = Config()
    if source is not None:
        path = _resolve_source(source)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        merge(config, data, str(path))
    for override in overrides:
        apply_override(config, override)
    validate(config)
    return config


# Numeric keys and the values that work: (section, key, check, rule).  A value outside
# its range would fail later with a traceback (train.batch_size = 0: ZeroDivisionError)
# or silently do nothing (train.epochs = -3: "done: 0 epochs" and no checkpoint).
_RANGES: tuple[tuple[str, str, Any, str], ...] = (
    ("signal", "window_s", lambda v: v > 0, "> 0 (seconds)"),
    ("signal", "stride_s", lambda v: v > 0, "> 0 (seconds)"),
    ("preprocess", "detect_every", lambda v: v >= 1, ">= 1 (frames)"),
    ("preprocess", "box_scale", lambda v: v > 0, "> 0 (a factor, e.g. 1.2)"),
    ("preprocess", "smooth", lambda v: 0 < v <= 1, "in (0, 1] (the EMA weight of a new box)"),
    ("preprocess", "size", lambda v: 8 <= v <= 1024, "in 8-1024 (pixels)"),
    ("preprocess", "chunk_frames", lambda v: v >= 1, ">= 1 (frames per chunk)"),
    ("data", "clip_s", lambda v: v >= 0, ">= 0 (seconds; 0 = use data.clip_frames)"),
    ("data", "clip_frames", lambda v: v >= 4, ">= 4 (frames)"),
    ("data", "folds", lambda v: v == 0 or v >= 2, ">= 2, or 0 to turn k-fold off"),
    ("data", "fold", lambda v: v >= 0, ">= 0 (a fold index)"),
    ("data", "val_fraction", lambda v: 0 <= v < 1, "in [0, 1) (a fraction of the subjects)"),
    ("bank", "size", lambda v: v >= 0, ">= 0 (0 turns the bank off)"),
    ("train", "epochs", lambda v: v >= 1, ">= 1"),
    ("train", "steps_per_epoch", lambda v: v >= 0, ">= 0 (0 = one pass over the clips)"),
    ("train", "batch_size", lambda v: v >= 1, ">= 1 (clips per batch)"),
    ("train", "lr", lambda v: v > 0, "> 0 (e.g. 0.001)"),
    ("train", "weight_decay", lambda v: v >= 0, ">= 0"),
    ("train", "time_budget_s", lambda v: v >= 0, ">= 0 (seconds; 0 = no limit)"),
    ("train", "snapshots_s", lambda v: all(x > 0 for x in v), "a list of positive seconds of training, e.g. [120, 300]"),
    ("eval", "window_s", lambda v: v >= 0, ">= 0 (seconds; 0 = the training clip length)"),
    ("eval", "overlap", lambda v: 0 <= v < 1, "in [0, 1) (a fraction of the window)"),
)


def _check_ranges(config: Config) -> None:
    import math

    for section, key, ok, rule in _RANGES:
        value = getattr(getattr(config, section), key)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{section}.{key} = {value!r}: must be a finite number {rule}")
        if not ok(value):
            raise ConfigError(f"{section}.{key} = {value!r}: must be {rule}")
    if config.data.folds and not config.data.fold < config.data.folds:
        raise ConfigError(
            f"data.fold = {config.data.fold!r}: must be in 0-{config.data.folds - 1} (data.folds = {config.data.folds})"
        )


def validate(config: Config) -> None:
    """Range and cross-field checks that a type check cannot make; each error names
    the key, its value and what to give instead."""
    _check_ranges(config)
    lo, hi = (config.signal.band_bpm + [0, 0])[:2]
    if len(config.signal.band_bpm) != 2 or not 0 < lo < hi:
        raise ConfigError(
            f"signal.band_bpm = {config.signal.band_bpm}: give [low, high] in bpm with 0 < low < high"
        )
    if config.train.mode not in ("contrastive", "supervised"):
        raise ConfigError(
            f"train.mode = '{config.train.mode}': use 'contrastive' or 'supervised'"
        )
    if isinstance(config.train.keep_memory, str) and config.train.keep_memory != "auto":
        raise ConfigError(
            f"train.keep_memory = '{config.train.keep_memory}': use true, false or 'auto'"
        )
    if config.data.sampling not in ("uniform", "subjects"):
        raise ConfigError(f"data.sampling = '{config.data.sampling}': use 'uniform' or 'subjects'")
    if not 0.0 < config.views.augment_fraction <= 1.0:
        raise ConfigError(
            f"views.augment_fraction = {config.views.augment_fraction}: give the share of the batch "
            "that gets an augmented copy, in (0, 1]"
        )
    from pulsecl.video.pipeline import check_settings

    check_settings(config.preprocess)


# ----------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------


def config_to_dict(config: Config) -> dict[str, Any]:
    """Plain nested dict of the config (JSON/TOML serialisable)."""
    return dataclasses.asdict(config)


def config_hash(config: Config) -> str:
    """Short stable hash of the resolved config (for run records)."""
    blob = json.dumps(config_to_dict(config), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def dump_toml(config: Config) -> str:
    """The config as TOML (written by ``tomli_w``), each section under a comment saying
    what it holds; it loads back to the same config."""
    import tomli_w

    parts: list[str] = []
    for section in dataclasses.fields(config):
        obj = getattr(config, section.name)
        doc = (type(obj).__doc__ or "").strip().splitlines()[0]
        body = tomli_w.dumps({section.name: dataclasses.asdict(obj)}).strip()
        parts.append(f"# [{section.name}]: {doc}\n{body}" if doc else body)
    return "\n\n".join(parts) + "\n"
