"""Component tables: one :class:`Registry` per component kind.

Plugins fill the tables through ``pulsecl_register_<kind>(registry)`` hooks; the core
looks components up by name.  Every entry remembers the plugin that added it, so a name
registered twice names both plugins, and ``pulsecl plugins`` can list what each plugin
provides.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pulsecl.errors import (
    ConfigError,
    DuplicateComponentError,
    UnknownComponentError,
    did_you_mean,
)

__all__ = ["DEPRECATED_KINDS", "KINDS", "STAGE_KINDS", "Component", "Registry", "canonical_kind", "lazy"]

#: Every component kind, in the order ``pulsecl plugins`` prints them.  Each kind has a
#: hook ``pulsecl_register_<kind>(registry)``.
KINDS: tuple[str, ...] = (
    "backbones",
    "proxy_tasks",
    "view_windows",
    "augmentations",
    "samplers",
    "losses",
    "negative_banks",
    "datasets",
    "face_detectors",
    "classical_methods",
    "metrics",
)

#: The three view stages, each its own kind since pulsecl 0.2: a view generator's
#: ``stage`` attribute -> its kind.
STAGE_KINDS: dict[str, str] = {"proxy": "proxy_tasks", "views": "view_windows", "augment": "augmentations"}

#: Kinds kept for one release: ``view_generators`` (hook
#: ``pulsecl_register_view_generators``) is the three stage kinds together; registering
#: or looking up through it warns (DeprecationWarning).
DEPRECATED_KINDS: tuple[str, ...] = ("view_generators",)

_SINGULAR = {
    "backbone": "backbones",
    "proxy_task": "proxy_tasks",
    "view_window": "view_windows",
    "augmentation": "augmentations",
    "view_generator": "view_generators",
    "sampler": "samplers",
    "loss": "losses",
    "negative_bank": "negative_banks",
    "dataset": "datasets",
    "face_detector": "face_detectors",
    "classical_method": "classical_methods",
    "metric": "metrics",
}


def canonical_kind(kind: str) -> str:
    """Map ``"backbone"``, ``"backbones"`` or ``"view-generators"`` to the table name."""
    key = kind.strip().lower().replace("-", "_")
    if key in KINDS or key in DEPRECATED_KINDS:
        return key
    if key in _SINGULAR:
        return _SINGULAR[key]
    raise UnknownComponentError(
        f"unknown component kind '{kind}'{did_you_mean(key, KINDS)} "
        f"(kinds: {', '.join(KINDS)})"
    )


@dataclass(frozen=True)
class Component:
    """One entry of a table: ``factory(**options)`` builds the component."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    description: str = ""

    def options(self) -> dict[str, Any]:
        """The factory's keyword options and their defaults (``inspect.Parameter.empty``
        for required ones)."""
        return {
            p.name: p.default
            for p in _parameters(self.factory)
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }


def _parameters(factory: Callable[..., Any]) -> list[inspect.Parameter]:
    try:
        return list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature
        return []


class Registry:
    """A named table of components of one kind.

    Plugins receive a registry in their ``pulsecl_register_<kind>`` hook and call
    :meth:`add`; users call :meth:`build` (or :func:`pulsecl.build`).
    """

    def __init__(self, kind: str):
        self.kind = canonical_kind(kind)
        self._entries: dict[str, Component] = {}
        self._plugin = "<direct>"
        #: Added to the error for an unknown name: the plugins that failed to load or
        #: are disabled, one of which may provide it (set by the plugin manager).
        self.missing_note = ""

    # -- filling -----------------------------------------------------------------
    def add(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        description: str | None = None,
    ) -> Callable[..., Any]:
        """Register ``factory`` under ``name``; returns the factory unchanged.

        ``description`` defaults to the first line of the factory's docstring.  A name
        that is already taken raises :class:`DuplicateComponentError` naming both plugins.
        """
        if not isinstance(name, str) or not name:
            raise DuplicateComponentError(
                f"plugin '{self._plugin}' registered a {self.kind} component with an "
                f"invalid name {name!r}: names are non-empty strings"
            )
        if not callable(factory):
            raise DuplicateComponentError(
                f"plugin '{self._plugin}' registered {self.kind} '{name}' with a "
                f"factory that is not callable ({type(factory).__name__})"
            )
        if name in self._entries:
            other = self._entries[name].plugin
            raise DuplicateComponentError(
                f"{self.kind} '{name}' is registered twice: by plugin '{other}' and by "
                f"plugin '{self._plugin}'; disable one of them "
                f"(PULSECL_DISABLE_PLUGINS={self._plugin}) or rename the component"
            )
        if description is None:
            doc = inspect.getdoc(factory) or ""
            description = doc.strip().splitlines()[0] if doc.strip() else ""
        self._entries[name] = Component(self.kind, name, factory, self._plugin, description)
        return factory

    def _for_plugin(self, plugin: str) -> Registry:
        """A view of this table that records ``plugin`` as the owner of what it adds."""
        view = Registry.__new__(Registry)
        view.kind = self.kind
        view._entries = self._entries
        view._plugin = plugin
        view.missing_note = self.missing_note
        return view

    # -- reading -----------------------------------------------------------------
    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def get(self, name: str) -> Component:
        """The entry for ``name``; an unknown name lists what exists and suggests one."""
        try:
            return self._entries[name]
        except KeyError:
            known = self.names()
            listing = ", ".join(known) if known else "none registered"
            raise UnknownComponentError(
                f"unknown {self.kind} '{name}'{did_you_mean(name, known)} "
                f"(available: {listing}){self.missing_note}"
            ) from None

    def build(self, name: str, **options: Any) -> Any:
        """Build component ``name`` with keyword ``options``.

        An option the factory does not take is a :class:`ConfigError` that lists the
        options it does take.
        """
        entry = self.get(name)
        params = _parameters(entry.factory)
        if params and not any(p.kind is p.VAR_KEYWORD for p in params):
            accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            for key in options:
                if key not in accepted:
                    raise ConfigError(
                        f"{self.kind} '{name}' has no option '{key}'"
                        f"{did_you_mean(key, accepted)} "
                        f"(options: {', '.join(accepted) or 'none'})"
                    )
        return entry.factory(**options)

    def plugins(self) -> dict[str, list[str]]:
        """``{plugin name: [component names]}`` for this table."""
        out: dict[str, list[str]] = {}
        for comp in self._entries.values():
            out.setdefault(comp.plugin, []).append(comp.name)
        return {k: sorted(v) for k, v in out.items()}

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def lazy(target: str, description: str = "") -> Callable[..., Any]:
    """A factory for ``"package.module:attr"`` that imports the module only when built.

    Plugins use it so that loading the plugin (``pulsecl --version``, ``pulsecl
    plugins``) does not import torch.  Its signature, for option checking, is the
    target's, read on first use.
    """
    module_name, _, attr = target.partition(":")
    if not attr:
        raise ValueError(f"lazy target {target!r} must look like 'package.module:attr'")
    cache: dict[str, Any] = {}

    def _resolve() -> Callable[..., Any]:
        if "obj" not in cache:
            import importlib

            cache["obj"] = getattr(importlib.import_module(module_name), attr)
        return cache["obj"]

    class _Lazy:
        __doc__ = description or f"{target} (loaded on first use)"

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return _resolve()(*args, **kwargs)

        @property
        def __signature__(self) -> inspect.Signature:
            return inspect.signature(_resolve())

        @property
        def resolved(self) -> Any:
            """The imported target."""
            return _resolve()

        def __repr__(self) -> str:
            return f"lazy({target!r})"

    return _Lazy()
