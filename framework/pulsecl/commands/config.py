"""``pulsecl config show [FILE]``: print the resolved configuration as TOML."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config",
        help="inspect configurations",
        description="Print the resolved configuration (defaults < FILE or preset < --set), or "
        "list the presets shipped with pulsecl. Every key is documented in `pulsecl config show`.",
    )
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = csub.add_parser(
        "show", help="print the resolved config (defaults < FILE < --set)",
        description="Print the resolved config as TOML, one commented table per section; it loads "
        "back to the same config.",
    )
    show.add_argument("file", nargs="?", help="TOML file or preset name (default, paper, ...)")
    show.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE", dest="overrides",
        help="override one key (repeatable), e.g. --set train.epochs=3",
    )
    show.set_defaults(func=run_show)
    lst = csub.add_parser(
        "presets", help="list the configs shipped with pulsecl",
        description="List the presets shipped with pulsecl, each with the first comment line of its TOML file.",
    )
    lst.set_defaults(func=run_presets)


def run_show(args: argparse.Namespace) -> int:
    from pulsecl.config import dump_toml, load_config

    print(dump_toml(load_config(args.file, args.overrides)), end="")
    return 0


def run_presets(args: argparse.Namespace) -> int:
    from pulsecl.config import preset_summary, presets

    names = presets()
    width = max(map(len, names), default=0)
    for name in names:
        summary = preset_summary(name)
        print(f"{name:<{width}}  {summary}".rstrip())
    return 0
