"""Benchmark suites: a TOML grid of methods x datasets x seeds.

A suite file::

    [suite]
    name = "quick"                 # default: the file's stem
    description = "..."
    seeds = [0]                    # seeds of trained methods (one cell each)
    config = "default"             # config (preset or file) of classical cells
    set = ["signal.window_s=10"]   # overrides for the evaluation of every cell

    [datasets.test]                # one of synthetic / path / env
    synthetic = { n = 4, seed = 2000, duration = 20.0, width = 320, height = 240 }
    # path = "/data/UBFC"          # relative paths are relative to the suite file
    # env = "UBFC_RPPG_ROOT"       # read from this environment variable (path is the fallback)
    dataset = "auto"               # dataset plugin (auto: guessed from the layout)
    split = "all"                  # split evaluated: all | train | val | test
    set = ["data.folds=3", "data.fold=2"]   # data settings for training and evaluation here
    evaluate = true                # false: training data only, no cells

    [methods.POS]
    kind = "classical"             # classical | checkpoint | recipe
    method = "pos"
    options = {}

    [methods.mine]
    kind = "checkpoint"
    path = "runs/mine/best.pt"

    [methods.self-supervised]
    kind = "recipe"
    config = "default"             # preset or config file
    set = ["train.time_budget_s=300"]
    train_data = "train"           # a dataset of this suite
    train_split = "all"
    min_steps = 200                # warn when training managed fewer steps (busy machine)

**Cells.**  Every method meets every evaluated dataset.  A recipe is trained once per
seed of ``suite.seeds`` (its run lives under ``OUT/runs/<method>-s<seed>``) and gives one
cell per dataset and seed.  Classical methods and fixed checkpoints are deterministic:
they give one cell per dataset, run with the first seed (which only matters through a
seeded subject split; suites for real datasets use ``data.folds``, which is not seeded).

**Settings.**  Classical cells: ``suite.config`` + ``suite.set`` + the dataset's ``set``
+ the method's ``set``.  Model cells evaluate with the model's own config (its
preprocessing always stays the model's: the crops a model sees must be the ones it learnt
on) + ``suite.set`` + the dataset's ``set``.  Recipe training: the recipe's ``config`` +
``set`` + the training dataset's ``set``, with ``data.split = train_split`` and
``train.seed`` = the cell's seed.

**Tasks and shards.**  Work is scheduled in tasks: a recipe at one seed (train once, then
evaluate on each dataset) or one classical/checkpoint cell.  ``--shard I/N`` runs tasks
I, I+N, I+2N, ... (1-based), so the cells of one trained model stay on one machine.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from pulsecl.config import check_type
from pulsecl.errors import ConfigError, PulseclError, did_you_mean

__all__ = [
    "BUILTIN_SUITES",
    "Cell",
    "DatasetSpec",
    "MethodSpec",
    "Suite",
    "Task",
    "builtin_suites",
    "load_suite",
    "parse_shard",
    "parse_suite",
]

#: Suites shipped inside the package (``pulsecl bench quick``): name -> file.
BUILTIN_SUITES: dict[str, Path] = {"quick": Path(__file__).with_name("quick.toml")}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_KINDS = ("classical", "checkpoint", "recipe")
_SPLITS = ("all", "train", "val", "test")

_SUITE_KEYS = ("name", "description", "seeds", "config", "set")
_DATASET_KEYS = ("description", "synthetic", "path", "env", "dataset", "split", "set", "evaluate")
_METHOD_KEYS = {
    "classical": ("kind", "description", "method", "options", "set"),
    "checkpoint": ("kind", "description", "path", "set"),
    "recipe": ("kind", "description", "config", "set", "train_data", "train_split", "min_steps"),
}
_SYNTHETIC_ARGS = ("n", "seed", "duration", "fps", "width", "height", "hr_range", "skin_tone", "pulse_amplitude",
                   "patch", "preset")


def builtin_suites() -> list[str]:
    """Names of the suites shipped in the package."""
    return sorted(BUILTIN_SUITES)


@dataclass
class DatasetSpec:
    """One dataset of a suite.  Exactly one of ``synthetic``, ``path``, ``env`` (``env``
    may come with ``path`` as its fallback)."""

    name: str
    index: int
    synthetic: dict[str, Any] | None = None
    path: str | None = None
    env: str | None = None
    dataset: str = "auto"
    split: str = "all"
    set: list[str] = field(default_factory=list)
    evaluate: bool = True
    description: str = ""

    def spec(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("index")
        return out


@dataclass
class MethodSpec:
    """One method of a suite (``kind``: classical, checkpoint or recipe)."""

    name: str
    index: int
    kind: str
    method: str = ""  # classical: the classical method plugin
    options: dict[str, Any] = field(default_factory=dict)  # classical: its options
    path: str = ""  # checkpoint: file or run folder (resolved against the suite's folder)
    config: str = "default"  # recipe: preset or config file
    set: list[str] = field(default_factory=list)
    train_data: str = ""  # recipe: a dataset of the suite
    train_split: str = "all"  # recipe: split of train_data it trains on
    min_steps: int = 0  # recipe: fewer training steps than this (a busy machine, a short budget) is warned about
    description: str = ""

    @property
    def seeded(self) -> bool:
        """Whether results depend on the seed (trained recipes): one cell per seed."""
        return self.kind == "recipe"

    def spec(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("index")
        return out


@dataclass(frozen=True)
class Cell:
    """One result: a method on a dataset at a seed."""

    method: str
    dataset: str
    seed: int
    seeded: bool

    @property
    def id(self) -> str:
        """``dataset/method`` or ``dataset/method/s<seed>`` for trained methods."""
        base = f"{self.dataset}/{self.method}"
        return f"{base}/s{self.seed}" if self.seeded else base

    @property
    def filename(self) -> str:
        """The record's file name under ``OUT/cells/``."""
        return self.id.replace("/", "--") + ".json"


@dataclass(frozen=True)
class Task:
    """A unit of scheduled work: its cells run in one process, in order.

    A recipe at one seed (trains once, ``run`` names its run folder) or one
    classical/checkpoint cell.
    """

    index: int
    method: str
    seed: int
    cells: tuple[Cell, ...]
    run: str | None = None  # recipe: run folder name under OUT/runs


@dataclass
class Suite:
    """A parsed suite.  ``source``: the file it came from (relative paths in it are
    resolved against its folder)."""

    name: str
    source: Path
    description: str = ""
    seeds: list[int] = field(default_factory=lambda: [0])
    config: str = "default"
    set: list[str] = field(default_factory=list)
    datasets: dict[str, DatasetSpec] = field(default_factory=dict)
    methods: dict[str, MethodSpec] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.source.parent

    def resolve_path(self, text: str) -> Path:
        """A path from the suite: ``~`` expanded, relative ones against the suite's folder."""
        p = Path(text).expanduser()
        return p if p.is_absolute() else (self.folder / p)

    def settings(self) -> dict[str, Any]:
        """Everything that decides results (not the file's location)."""
        return {
            "name": self.name,
            "seeds": list(self.seeds),
            "config": self.config,
            "set": list(self.set),
            "datasets": {k: v.spec() for k, v in self.datasets.items()},
            "methods": {k: v.spec() for k, v in self.methods.items()},
        }

    def hash(self) -> str:
        """Short hash of :meth:`settings`."""
        return _hash(self.settings())

    def cell_key(self, cell: Cell) -> str:
        """Hash of what decides one cell's result: a record whose key differs is stale."""
        return _hash(
            {
                "suite": {"config": self.config, "set": list(self.set)},
                "method": self.methods[cell.method].spec(),
                "dataset": self.datasets[cell.dataset].spec(),
                "train_data": self._train_data_spec(cell.method),
                "seed": cell.seed,
            }
        )

    def run_key(self, method: str, seed: int) -> str:
        """Hash of what decides a recipe's training run."""
        return _hash({"method": self.methods[method].spec(), "train_data": self._train_data_spec(method), "seed": seed})

    def _train_data_spec(self, method: str) -> dict[str, Any] | None:
        m = self.methods[method]
        return self.datasets[m.train_data].spec() if m.kind == "recipe" else None

    def evaluated(self) -> list[DatasetSpec]:
        return [d for d in self.datasets.values() if d.evaluate]

    def cells(self) -> list[Cell]:
        """Every cell, in task order."""
        return [c for t in self.tasks() for c in t.cells]

    def tasks(self) -> list[Task]:
        """Every task, in suite order (methods as written, then seeds, then datasets)."""
        tasks: list[Task] = []
        first_seed = self.seeds[0]
        for m in self.methods.values():
            if m.seeded:
                for seed in self.seeds:
                    cells = tuple(Cell(m.name, d.name, seed, True) for d in self.evaluated())
                    tasks.append(Task(len(tasks), m.name, seed, cells, run=f"{m.name}-s{seed}"))
            else:
                for d in self.evaluated():
                    tasks.append(Task(len(tasks), m.name, first_seed, (Cell(m.name, d.name, first_seed, False),)))
        return tasks


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"I/N"`` -> (I, N) with 1 <= I <= N; None -> (1, 1)."""
    if text is None:
        return 1, 1
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ConfigError(f"--shard '{text}': give I/N with 1 <= I <= N, e.g. --shard 1/2")
    return int(m.group(1)), int(m.group(2))


# ----------------------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------------------


def load_suite(source: str | Path) -> Suite:
    """Read a suite from a TOML file, or a built-in suite by name (``quick``)."""
    path = Path(source).expanduser()
    if not path.is_file():
        if str(source) in BUILTIN_SUITES:
            path = BUILTIN_SUITES[str(source)]
        elif path.suffix == ".toml" or "/" in str(source) or path.exists():
            raise ConfigError(
                f"suite file '{path}' does not exist; give a suite TOML file or a built-in suite "
                f"({', '.join(builtin_suites())})"
            )
        else:
            raise ConfigError(
                f"unknown suite '{source}'{did_you_mean(str(source), builtin_suites())}; give a "
                f"suite TOML file (benchmarks/*.toml) or a built-in suite ({', '.join(builtin_suites())})"
            )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_suite(data, path)


def _unknown(origin: str, where: str, key: str, known: tuple[str, ...] | list[str]) -> ConfigError:
    return ConfigError(
        f"{origin}: unknown key '{where}{key}'{did_you_mean(key, known)} (keys there: {', '.join(known)})"
    )


def _typed(origin: str, key: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    """``value`` of type ``kind`` (a type or a tuple of types), by the config's check."""
    tp = typing.Union[kind] if isinstance(kind, tuple) else kind  # noqa: UP007 - a runtime union of given types
    return check_type(value, tp, key, origin, what)


def _str_list(origin: str, key: str, value: Any) -> list[str]:
    return check_type(value, list[str], key, origin, 'a list of "section.key=value" strings')


def _check_name(origin: str, table: str, name: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(
            f"{origin}: '{table}.{name}': names may hold letters, digits and _ . + - only "
            "(they become file names)"
        )


def parse_suite(data: dict[str, Any], source: str | Path = "suite.toml") -> Suite:
    """Build and check a :class:`Suite` from a parsed TOML mapping.

    Every error is a :class:`ConfigError` naming the file and the key.
    """
    origin = str(source)
    top = ("suite", "datasets", "methods")
    for key in data:
        if key not in top:
            raise ConfigError(f"{origin}: unknown table '{key}'{did_you_mean(key, top)} (tables: {', '.join(top)})")
    head = data.get("suite", {})
    _typed(origin, "suite", head, dict, "a table ([suite])")
    for key in head:
        if key not in _SUITE_KEYS:
            raise _unknown(origin, "suite.", key, _SUITE_KEYS)
    suite = Suite(name=str(Path(source).stem), source=Path(source).resolve())
    if "name" in head:
        suite.name = _typed(origin, "suite.name", head["name"], str, "a string")
    suite.description = _typed(origin, "suite.description", head.get("description", ""), str, "a string")
    seeds = head.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ConfigError(f"{origin}: 'suite.seeds' must be a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{origin}: 'suite.seeds' = {seeds} repeats a seed")
    suite.seeds = list(seeds)
    suite.config = _typed(origin, "suite.config", head.get("config", "default"), str, "a preset name or config file")
    suite.set = _str_list(origin, "suite.set", head.get("set", []))
    _check_config(suite, suite.config, suite.set, origin, "suite")

    datasets = data.get("datasets", {})
    _typed(origin, "datasets", datasets, dict, "a table of datasets ([datasets.NAME])")
    if not datasets:
        raise ConfigError(f"{origin}: no datasets; add a [datasets.NAME] table")
    for i, (name, table) in enumerate(datasets.items()):
        suite.datasets[name] = _parse_dataset(origin, name, i, table)
    if not suite.evaluated():
        raise ConfigError(f"{origin}: every dataset has evaluate = false; nothing to evaluate")

    methods = data.get("methods", {})
    _typed(origin, "methods", methods, dict, "a table of methods ([methods.NAME])")
    if not methods:
        raise ConfigError(f"{origin}: no methods; add a [methods.NAME] table")
    for i, (name, table) in enumerate(methods.items()):
        suite.methods[name] = _parse_method(origin, suite, name, i, table)
    return suite


def _parse_dataset(origin: str, name: str, index: int, table: Any) -> DatasetSpec:
    import pulsecl

    _check_name(origin, "datasets", name)
    where = f"datasets.{name}"
    _typed(origin, where, table, dict, "a table")
    for key in table:
        if key not in _DATASET_KEYS:
            raise _unknown(origin, f"{where}.", key, _DATASET_KEYS)
    spec = DatasetSpec(name=name, index=index)
    given = [k for k in ("synthetic", "path", "env") if k in table]
    if not given:
        raise ConfigError(f"{origin}: '{where}' needs one of synthetic = {{...}}, path = \"...\" or env = \"VARIABLE\"")
    if "synthetic" in table and len(given) > 1:
        raise ConfigError(f"{origin}: '{where}' gives synthetic and {given[1]}; a synthetic dataset is rendered, give only synthetic")
    if "synthetic" in table:
        spec.synthetic = _parse_synthetic(origin, where, table["synthetic"])
    if "path" in table:
        spec.path = _typed(origin, f"{where}.path", table["path"], str, "a folder path")
    if "env" in table:
        spec.env = _typed(origin, f"{where}.env", table["env"], str, "an environment variable name")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", spec.env):
            raise ConfigError(f"{origin}: '{where}.env' = {spec.env!r} is not an environment variable name")
    spec.dataset = _typed(origin, f"{where}.dataset", table.get("dataset", "auto"), str, "a dataset plugin name")
    known = pulsecl.components("datasets")
    if spec.dataset != "auto" and spec.dataset not in known:
        raise ConfigError(
            f"{origin}: '{where}.dataset' = '{spec.dataset}' is no dataset plugin"
            f"{did_you_mean(spec.dataset, known)} (datasets: auto, {', '.join(known)})"
        )
    spec.split = _typed(origin, f"{where}.split", table.get("split", "all"), str, "a split name")
    if spec.split not in _SPLITS:
        raise ConfigError(f"{origin}: '{where}.split' = '{spec.split}': use one of {', '.join(_SPLITS)}")
    spec.set = _str_list(origin, f"{where}.set", table.get("set", []))
    _check_overrides(spec.set, origin, f"{where}.set")
    spec.evaluate = _typed(origin, f"{where}.evaluate", table.get("evaluate", True), bool, "true or false")
    spec.description = _typed(origin, f"{where}.description", table.get("description", ""), str, "a string")
    return spec


def _parse_synthetic(origin: str, where: str, value: Any) -> dict[str, Any]:
    from pulsecl.synthetic.nuisances import Nuisances

    _typed(origin, f"{where}.synthetic", value, dict, "a table of generator settings")
    allowed = [*_SYNTHETIC_ARGS, *Nuisances.__dataclass_fields__]
    for key in value:
        if key not in allowed:
            raise _unknown(origin, f"{where}.synthetic.", key, allowed)
    if "n" not in value:
        raise ConfigError(f"{origin}: '{where}.synthetic' needs n (the number of subjects)")
    out = dict(value)
    if "hr_range" in out:
        out["hr_range"] = tuple(out["hr_range"])
    # Check every value now (renders nothing): the generator's own checks, named here.
    from pulsecl.synthetic import synthesize

    try:
        n = out["n"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ConfigError(f"n = {n!r}: give the number of subjects, at least 1")
        kwargs = {k: v for k, v in out.items() if k != "n"}
        preset = kwargs.pop("preset", None)
        if preset is not None:
            from pulsecl.synthetic.generator import PRESETS

            if not isinstance(preset, str) or preset not in PRESETS:
                raise ConfigError(f"preset = {preset!r}: use one of {', '.join(PRESETS)}")
            kwargs = {**PRESETS[preset], **kwargs}
        synthesize(index=0, **kwargs)
    except (PulseclError, TypeError) as exc:
        raise ConfigError(f"{origin}: '{where}.synthetic': {exc}") from None
    if "hr_range" in out:
        out["hr_range"] = list(out["hr_range"])
    return out


def _parse_method(origin: str, suite: Suite, name: str, index: int, table: Any) -> MethodSpec:
    import pulsecl

    _check_name(origin, "methods", name)
    where = f"methods.{name}"
    _typed(origin, where, table, dict, "a table")
    kind = table.get("kind")
    if kind is None:
        raise ConfigError(f"{origin}: '{where}' needs kind = one of {', '.join(repr(k) for k in _KINDS)}")
    if kind not in _KINDS:
        raise ConfigError(
            f"{origin}: '{where}.kind' = {kind!r}{did_you_mean(str(kind), _KINDS)} (kinds: {', '.join(_KINDS)})"
        )
    keys = _METHOD_KEYS[kind]
    for key in table:
        if key not in keys:
            raise _unknown(origin, f"{where}.", key, keys)
    m = MethodSpec(name=name, index=index, kind=kind)
    m.description = _typed(origin, f"{where}.description", table.get("description", ""), str, "a string")
    m.set = _str_list(origin, f"{where}.set", table.get("set", []))
    if kind == "classical":
        if "method" not in table:
            raise ConfigError(f"{origin}: '{where}' needs method = one of {', '.join(pulsecl.components('classical_methods'))}")
        m.method = _typed(origin, f"{where}.method", table["method"], str, "a classical method name")
        m.options = _typed(origin, f"{where}.options", table.get("options", {}), dict, "a table of options")
        known = pulsecl.components("classical_methods")
        if m.method not in known:
            raise ConfigError(
                f"{origin}: '{where}.method' = '{m.method}' is no classical method"
                f"{did_you_mean(m.method, known)} (methods: {', '.join(known)})"
            )
        try:
            pulsecl.build("classical_methods", m.method, **m.options)
        except PulseclError as exc:
            raise ConfigError(f"{origin}: '{where}.options': {exc}") from None
        _check_config(suite, suite.config, [*suite.set, *m.set], origin, f"{where}.set")
    elif kind == "checkpoint":
        if "path" not in table:
            raise ConfigError(f"{origin}: '{where}' needs path = \"checkpoint file or run folder\"")
        m.path = _typed(origin, f"{where}.path", table["path"], str, "a checkpoint path")
        _check_overrides(m.set, origin, f"{where}.set")
    else:
        m.config = _typed(origin, f"{where}.config", table.get("config", "default"), str, "a preset name or config file")
        if "train_data" not in table:
            raise ConfigError(f"{origin}: '{where}' needs train_data = the name of a dataset of this suite")
        m.train_data = _typed(origin, f"{where}.train_data", table["train_data"], str, "a dataset name")
        if m.train_data not in suite.datasets:
            raise ConfigError(
                f"{origin}: '{where}.train_data' = '{m.train_data}' is no dataset of this suite"
                f"{did_you_mean(m.train_data, suite.datasets)} (datasets: {', '.join(suite.datasets)})"
            )
        m.train_split = _typed(origin, f"{where}.train_split", table.get("train_split", "all"), str, "a split name")
        if m.train_split not in _SPLITS:
            raise ConfigError(f"{origin}: '{where}.train_split' = '{m.train_split}': use one of {', '.join(_SPLITS)}")
        m.min_steps = _typed(origin, f"{where}.min_steps", table.get("min_steps", 0), int, "a number of steps")
        if m.min_steps < 0:
            raise ConfigError(f"{origin}: '{where}.min_steps' = {m.min_steps}: give a number of steps >= 0")
        train_set = suite.datasets[m.train_data].set
        _check_config(suite, m.config, [*m.set, *train_set], origin, f"{where}.set")
    return m


def _check_overrides(overrides: list[str], origin: str, key: str) -> None:
    """Overrides must name real config keys (checked on the defaults)."""
    from pulsecl.config import Config, apply_override

    config = Config()
    for o in overrides:
        try:
            apply_override(config, o)
        except ConfigError as exc:
            raise ConfigError(f"{origin}: '{key}': {exc}") from None


def _check_config(suite: Suite, source: str, overrides: list[str], origin: str, key: str) -> None:
    from pulsecl.config import load_config

    try:
        load_config(config_source(suite, source), overrides)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: '{key}': {exc}") from None


def config_source(suite: Suite, source: str) -> str | Path:
    """A config named in a suite: a preset name, or a file relative to the suite."""
    from pulsecl.config import presets

    if source in presets() and not source.endswith(".toml"):
        return source
    return suite.resolve_path(source)
