"""The plugin manager: built-ins first, then every installed ``pulsecl`` entry point.

Loading follows pytest's model: the built-in plugins are ordinary plugins, declared in
the entry-point group ``pulsecl`` of pyproject.toml *and* listed in
:data:`BUILTIN_PLUGINS` so that a plain source checkout (``PYTHONPATH=framework:plugins``)
loads them too.  Third-party plugins come from entry points.

* ``PULSECL_DISABLE_PLUGINS=a,b`` or ``pulsecl --disable-plugin NAME`` blocks plugins.
* ``PULSECL_DISABLE_PLUGIN_AUTOLOAD=1`` loads the built-ins only.

pluggy's own ``load_setuptools_entrypoints`` stops at the first broken plugin; the loop
here imports each plugin on its own and reports every failure, each with the plugin's
distribution, version and entry point and how to disable it.  A broken plugin does not
take the tool down with it: it is left out, reported as one warning line, kept in
:attr:`PulseclPluginManager.broken` (``pulsecl plugins`` lists it as broken), and a
component that only it could have provided is reported as missing with the plugin's
failure beside it.  ``load(strict=True)`` raises instead (:class:`PluginLoadError`).
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import inspect
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from pulsecl import hookspec as _hookspec
from pulsecl._version import __version__
from pulsecl.errors import (
    PluginError,
    PluginLoadError,
    PluginValidationError,
    did_you_mean,
)
from pulsecl.registry import DEPRECATED_KINDS, KINDS, STAGE_KINDS, Registry, canonical_kind

__all__ = [
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "PulseclPluginManager",
    "get_plugin_manager",
    "reset_plugin_manager",
]

ENTRY_POINT_GROUP = "pulsecl"

#: Built-in plugins: name -> module.  Must equal ``[project.entry-points.pulsecl]`` in
#: pyproject.toml (tests/test_plugins.py checks).
BUILTIN_PLUGINS: dict[str, str] = {
    "classical": "pulsecl_classical",
    "metrics": "pulsecl_metrics",
    "haar": "pulsecl_haar",
    "facemesh": "pulsecl_facemesh",
    "datasets": "pulsecl_datasets",
    "physnet": "pulsecl_physnet",
    "tscan": "pulsecl_tscan",
    "physformer": "pulsecl_physformer",
    "views": "pulsecl_views",
    "samplers": "pulsecl_samplers",
    "losses": "pulsecl_losses",
    "bank": "pulsecl_bank",
}

_HOOK_PREFIX = "pulsecl_"


@dataclass
class PluginInfo:
    """Where a registered plugin came from."""

    name: str
    distribution: str
    version: str
    entry_point: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    error: str | None = None  # a broken plugin: why it was not loaded (one line)


def _env_list(var: str) -> list[str]:
    return [s.strip() for s in os.environ.get(var, "").split(",") if s.strip()]


def _env_flag(var: str) -> bool:
    return os.environ.get(var, "").strip().lower() not in ("", "0", "false", "no")


class PulseclPluginManager(pluggy.PluginManager):
    """pluggy's manager plus name checks, provenance and the component tables."""

    def __init__(self) -> None:
        super().__init__(_hookspec.PROJECT)
        self.add_hookspecs(_hookspec)
        self.info: dict[str, PluginInfo] = {}
        self.broken: dict[str, PluginInfo] = {}  # plugins that failed to load, with their error
        self.disabled: list[str] = []  # names blocked by load(): PULSECL_DISABLE_PLUGINS, --disable-plugin
        self._reasons: dict[str, str] = {}
        self._tables: dict[str, Registry] | None = None

    # -- hook discovery and validation ---------------------------------------------------
    def parse_hookimpl_opts(self, plugin: Any, name: str):  # type: ignore[override]
        """Accept ``@hookimpl``-decorated functions and plain ``pulsecl_*`` functions."""
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(_HOOK_PREFIX):
            method = getattr(plugin, name, None)
            if inspect.isroutine(method):
                opts = {}
        return opts

    def _spec_args(self, hook_name: str) -> list[str]:
        fn = getattr(_hookspec, hook_name)
        return list(inspect.signature(fn).parameters)

    def _validate(self, plugin: Any, name: str) -> None:
        """Reject misspelt hook names and arguments the spec does not have."""
        specs = [n for n in dir(_hookspec) if n.startswith(_HOOK_PREFIX)]
        for attr in dir(plugin):
            if self.parse_hookimpl_opts(plugin, attr) is None:
                continue
            method = getattr(plugin, attr)
            if attr not in specs:
                raise PluginValidationError(
                    f"plugin '{name}' implements unknown hook '{attr}'"
                    f"{did_you_mean(attr, specs)} (hooks are listed in CONTRIBUTING.md)"
                )
            spec_args = self._spec_args(attr)
            impl_args = [
                p.name
                for p in inspect.signature(method).parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
            ]
            extra = [a for a in impl_args if a not in spec_args]
            if extra:
                raise PluginValidationError(
                    f"plugin '{name}': hook '{attr}' takes argument(s) "
                    f"{', '.join(repr(a) for a in extra)} that the spec lacks; the spec is "
                    f"{attr}({', '.join(spec_args)})"
                )

    def register(self, plugin: Any, name: str | None = None) -> str | None:  # type: ignore[override]
        label = name or self.get_canonical_name(plugin)
        self._validate(plugin, label)
        try:
            out = super().register(plugin, name)
        except pluggy.PluginValidationError as exc:  # anything our check missed
            raise PluginValidationError(f"plugin '{label}': {exc}".replace("\n", " ")) from exc
        except ValueError as exc:  # name or object already registered
            raise PluginError(f"plugin '{label}' could not be registered: {exc}") from exc
        self._tables = None
        if out is not None and out not in self.info:
            self.info[out] = PluginInfo(out, "-", "-", "-", builtin=False)
        if out is not None:
            self.info[out].hooks = sorted(
                h.name for h in self.get_hookcallers(plugin) or []
            )
        return out

    def unregister(self, plugin: Any = None, name: str | None = None) -> Any:  # type: ignore[override]
        out = super().unregister(plugin, name)
        self._tables = None
        for key in [k for k, v in list(self.info.items()) if not self.has_plugin(k)]:
            del self.info[key]
        return out

    # -- loading ---------------------------------------------------------------------------
    def load(self, disabled: Iterable[str] = (), autoload: bool | None = None, strict: bool = False) -> None:
        """Register the built-ins, then (unless autoload is off) every entry point.

        ``disabled`` adds to ``PULSECL_DISABLE_PLUGINS``; ``autoload=None`` reads
        ``PULSECL_DISABLE_PLUGIN_AUTOLOAD``.  A plugin that fails to import or register
        is left out and recorded in :attr:`broken`, with one warning line each
        (:func:`pulsecl.warn.warn`) naming its distribution, version and entry point and
        how to disable it; the others load.  ``strict=True`` raises all failures together
        as one :class:`PluginLoadError` instead.
        """
        for name in [*_env_list("PULSECL_DISABLE_PLUGINS"), *disabled]:
            self.set_blocked(name)
            if name not in self.disabled:
                self.disabled.append(name)
        if autoload is None:
            autoload = not _env_flag("PULSECL_DISABLE_PLUGIN_AUTOLOAD")
        errors: list[str] = []
        hint = "disable it with PULSECL_DISABLE_PLUGINS={0} or pulsecl --disable-plugin {0}"

        for name, module in BUILTIN_PLUGINS.items():
            if self.is_blocked(name) or self.has_plugin(name):
                continue
            try:
                self.register(importlib.import_module(module), name)
            except PluginError as exc:
                errors.append(f"{exc}; {hint.format(name)}")
                self._broken(PluginInfo(name, "pulsecl", __version__, f"{name} = {module}", True), errors[-1], str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - reported, not hidden
                errors.append(
                    f"error importing built-in plugin '{name}' (distribution pulsecl "
                    f"{__version__}, module {module}): {_one_line(exc)}; "
                    + hint.format(name)
                )
                self._broken(PluginInfo(name, "pulsecl", __version__, f"{name} = {module}", True), errors[-1], _one_line(exc))
                continue
            self.info[name] = PluginInfo(
                name, "pulsecl", __version__, f"{name} = {module}", True, self.info[name].hooks
            )

        if autoload:
            for ep in md.entry_points(group=ENTRY_POINT_GROUP):
                if BUILTIN_PLUGINS.get(ep.name) == ep.value:
                    continue  # the built-in's own declaration
                dist = getattr(ep, "dist", None)
                dname = dist.metadata["Name"] if dist is not None else "unknown distribution"
                dver = dist.version if dist is not None else "?"
                where = f"distribution {dname} {dver}, entry point '{ep.name} = {ep.value}'"
                if self.is_blocked(ep.name):
                    continue
                if self.has_plugin(ep.name):
                    prev = self.info.get(ep.name)
                    errors.append(
                        f"plugin name '{ep.name}' ({where}) is already taken by "
                        f"{prev.distribution if prev else 'another plugin'}; "
                        + hint.format(ep.name)
                    )
                    continue
                broken = PluginInfo(ep.name, dname, dver, f"{ep.name} = {ep.value}", False)
                try:
                    plugin = ep.load()
                    self.register(plugin, ep.name)
                except PluginError as exc:
                    errors.append(f"{exc} ({where}); {hint.format(ep.name)}")
                    self._broken(broken, errors[-1], str(exc))
                    continue
                except Exception as exc:  # noqa: BLE001
                    errors.append(
                        f"error importing plugin '{ep.name}' ({where}): "
                        f"{_one_line(exc)}; " + hint.format(ep.name)
                    )
                    self._broken(broken, errors[-1], _one_line(exc))
                    continue
                self.info[ep.name] = PluginInfo(
                    ep.name, dname, dver, f"{ep.name} = {ep.value}", False, self.info[ep.name].hooks
                )
        if errors and strict:
            raise PluginLoadError(errors)
        if errors:
            from pulsecl.warn import warn

            for line in errors:
                warn(line)
        self.tables()  # reject duplicate component names at start-up

    def _broken(self, info: PluginInfo, line: str, reason: str) -> None:
        """Record a plugin that failed to load: ``line`` is the whole report, ``reason``
        the failure alone (a name that fails twice keeps its first report)."""
        info.error = line
        self._reasons[info.name] = reason
        self.broken.setdefault(info.name, info)

    def missing_note(self) -> str:
        """What the error for an unknown component adds when plugins are broken or
        disabled: ``; plugin 'x' (dist 1.0) failed to load (ModuleNotFoundError: ...), and
        may provide it``: the component may be missing for that reason, not a typo."""
        parts = [
            f"plugin '{name}' ({info.distribution} {info.version}) failed to load ({self._reasons.get(name, '?')})"
            for name, info in sorted(self.broken.items())
        ]
        if self.disabled:
            names = ", ".join(f"'{n}'" for n in self.disabled)
            parts.append(f"plugin{'s' if len(self.disabled) > 1 else ''} {names} disabled "
                         "(--disable-plugin or PULSECL_DISABLE_PLUGINS)")
        return f"; {' and '.join(parts)}, and may provide it" if parts else ""

    # -- component tables --------------------------------------------------------------------
    def _build_tables(self) -> dict[str, Registry]:
        tables = {}
        for kind in KINDS:
            table = Registry(kind)
            caller = getattr(self.hook, f"pulsecl_register_{kind}")
            # Call each implementation on its own so the table knows who added what.
            for impl in reversed(caller.get_hookimpls()):
                impl.function(registry=table._for_plugin(impl.plugin_name))
            tables[kind] = table
        self._move_view_generators(tables)
        note = self.missing_note()
        for table in tables.values():
            table.missing_note = note  # an unknown name there names the broken or disabled plugins
        return tables

    def _move_view_generators(self, tables: dict[str, Registry]) -> None:
        """The deprecated ``pulsecl_register_view_generators``: each component goes to
        the table of its ``stage`` (a DeprecationWarning per plugin); then the old
        ``view_generators`` table is filled with the three stage tables together, for
        lookups by the old kind name (the first stage wins a name taken twice)."""
        legacy = Registry("view_generators")
        for impl in reversed(self.hook.pulsecl_register_view_generators.get_hookimpls()):
            warnings.warn(
                f"plugin '{impl.plugin_name}' registers view generators with pulsecl_register_view_generators, "
                "which is deprecated and goes away in pulsecl 0.3: use pulsecl_register_proxy_tasks, "
                "pulsecl_register_view_windows and pulsecl_register_augmentations",
                DeprecationWarning, stacklevel=2,
            )
            impl.function(registry=legacy._for_plugin(impl.plugin_name))
        for name in legacy.names():
            comp = legacy.get(name)
            try:
                cls = getattr(comp.factory, "resolved", comp.factory)
            except Exception as exc:  # noqa: BLE001 - a lazy factory whose module fails
                raise PluginValidationError(
                    f"plugin '{comp.plugin}': view generator '{name}' cannot be imported to read its stage: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            stage = getattr(cls, "stage", None)
            if stage not in STAGE_KINDS:
                raise PluginValidationError(
                    f"plugin '{comp.plugin}': view generator '{name}' declares stage {stage!r}, not one of "
                    f"{', '.join(repr(k) for k in STAGE_KINDS)}; register it with the hook of its kind "
                    "(pulsecl_register_proxy_tasks, _view_windows or _augmentations)"
                )
            tables[STAGE_KINDS[stage]]._for_plugin(comp.plugin).add(name, comp.factory, description=comp.description)
        union = Registry("view_generators")
        for kind in STAGE_KINDS.values():
            for name in tables[kind].names():
                if name not in union:
                    comp = tables[kind].get(name)
                    union._for_plugin(comp.plugin).add(name, comp.factory, description=comp.description)
        tables["view_generators"] = union

    def tables(self) -> dict[str, Registry]:
        """Every component table, filled on first use (and again after (un)register)."""
        if self._tables is None:
            self._tables = self._build_tables()
        return self._tables

    def table(self, kind: str) -> Registry:
        """The table of one kind (``"backbones"``, ``"loss"``, ...).  The deprecated
        ``view_generators`` still answers (the three view stages together), with a
        DeprecationWarning."""
        key = canonical_kind(kind)
        if key in DEPRECATED_KINDS:
            warnings.warn(
                "the component kind 'view_generators' is deprecated and goes away in pulsecl 0.3: use "
                "'proxy_tasks', 'view_windows' or 'augmentations'",
                DeprecationWarning, stacklevel=3,
            )
        return self.tables()[key]

    def build(self, kind: str, name: str, **options: Any) -> Any:
        """Build component ``name`` of ``kind`` with ``options``."""
        return self.table(kind).build(name, **options)

    def components(self, kind: str) -> list[str]:
        """Sorted names registered for ``kind``."""
        return self.table(kind).names()

    def plugin_components(self, name: str) -> dict[str, list[str]]:
        """``{kind: [component names]}`` that plugin ``name`` registered."""
        out = {}
        for kind, table in self.tables().items():
            if kind in DEPRECATED_KINDS:
                continue
            names = table.plugins().get(name)
            if names:
                out[kind] = names
        return out

    def report_header(self, config: Any = None) -> list[str]:
        """Provenance lines for run metadata: versions of pulsecl and every plugin, then
        whatever plugins add through ``pulsecl_report_header``."""
        import platform

        lines = [f"pulsecl {__version__}", f"python {platform.python_version()}"]
        for info in sorted(self.info.values(), key=lambda i: i.name):
            lines.append(f"plugin {info.name}: {info.distribution} {info.version}")
        for result in self.hook.pulsecl_report_header(config=config):
            if result:
                lines.extend(str(line) for line in result)
        return lines


def _one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (a plugin's error message may span several)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_MANAGER: PulseclPluginManager | None = None
_DISABLED: list[str] = []


def get_plugin_manager() -> PulseclPluginManager:
    """The process-wide plugin manager, loaded on first use."""
    global _MANAGER
    if _MANAGER is None:
        pm = PulseclPluginManager()
        pm.load(disabled=_DISABLED)
        _MANAGER = pm
    return _MANAGER


def disabled_plugins() -> list[str]:
    """The plugins disabled by :func:`reset_plugin_manager` (``--disable-plugin``), not
    counting ``PULSECL_DISABLE_PLUGINS`` (read when the manager loads)."""
    return list(_DISABLED)


def reset_plugin_manager(disabled: Iterable[str] = ()) -> None:
    """Forget the process-wide manager; the next use loads again (tests, CLI flags)."""
    global _MANAGER, _DISABLED
    _MANAGER = None
    _DISABLED = list(disabled)
