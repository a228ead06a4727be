"""``pulsecl plugins``: every plugin, its distribution and version, and its components;
then the plugins that failed to load, each marked broken with its error."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plugins",
        help="list plugins and the components they register",
        description="List every plugin pulsecl loaded (built-in and third-party): its distribution, "
        "version and entry point, the components it registers in each table, and its other hooks; "
        "then every plugin that failed to load, marked BROKEN, with its error and how to disable it.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pulsecl.plugins import get_plugin_manager

    pm = get_plugin_manager()
    def row(name: str, info, components: dict, broken: bool, error) -> dict:
        return {"name": name, "distribution": info.distribution, "version": info.version,
                "entry_point": info.entry_point, "builtin": info.builtin, "hooks": [] if broken else info.hooks,
                "components": components, "broken": broken, "error": error}

    order = lambda kv: (not kv[1].builtin, kv[0])  # noqa: E731 - built-ins first, then by name
    rows = [row(name, info, pm.plugin_components(name), False, None) for name, info in sorted(pm.info.items(), key=order)]
    rows += [row(name, info, {}, True, info.error) for name, info in sorted(pm.broken.items(), key=order)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        origin = "built-in" if row["builtin"] else "third-party"
        state = "BROKEN, " if row["broken"] else ""
        print(f"{row['name']}  ({state}{row['distribution']} {row['version']}, {origin}, entry point {row['entry_point']})")
        if row["broken"]:
            print(f"    not loaded: {row['error']}")
        for kind, names in row["components"].items():
            print(f"    {kind}: {', '.join(names)}")
        other = [h for h in row["hooks"] if not h.startswith("pulsecl_register_")]
        if other:
            print(f"    hooks: {', '.join(other)}")
    return 0
