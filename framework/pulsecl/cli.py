"""The ``pulsecl`` command line.

Each subcommand lives in its own module under :mod:`pulsecl.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking the
parsed arguments and returning an exit status.  Errors of the :class:`PulseclError`
family are printed as one line per error (``pulsecl: error: ...``) with exit status 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pulsecl._version import __version__
from pulsecl.errors import PulseclError

#: Subcommand modules, in the order ``pulsecl --help`` lists them.
COMMANDS: tuple[str, ...] = (
    "pulsecl.commands.plugins",
    "pulsecl.commands.config",
    "pulsecl.commands.preprocess",
    "pulsecl.commands.synth",
    "pulsecl.commands.train",
    "pulsecl.commands.evaluate",
    "pulsecl.commands.predict",
    "pulsecl.commands.models",
    "pulsecl.commands.export",
    "pulsecl.commands.bench",
    "pulsecl.commands.demo",
)


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line on bad arguments (its default)."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pulsecl",
        description="Heart rate from face video, learnt from unlabelled video (rPPG).",
    )
    parser.add_argument("--version", action="version", version=f"pulsecl {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--disable-plugin",
        action="append",
        default=[],
        metavar="NAME",
        help="do not load plugin NAME (repeatable; also PULSECL_DISABLE_PLUGINS=a,b)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        importlib.import_module(module).register(sub)
    _add_global_options(parser)
    return parser


def _add_global_options(parser: argparse.ArgumentParser, seen: set[int] | None = None) -> None:
    """Give every subcommand (and sub-subcommand) ``--debug`` and ``--disable-plugin``,
    so they work after the command too (``pulsecl predict x.mp4 --debug``).  They land in
    their own ``dest``s, merged in :func:`main`: a subparser's values would otherwise
    replace those given before the command."""
    seen = set() if seen is None else seen
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for sub in action.choices.values():
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            sub.add_argument("--debug", action="store_true", dest="sub_debug", default=False,
                             help="show tracebacks on errors")
            sub.add_argument("--disable-plugin", action="append", dest="sub_disable_plugin", default=[],
                             metavar="NAME", help="do not load plugin NAME (repeatable; also PULSECL_DISABLE_PLUGINS=a,b)")
            _add_global_options(sub, seen)


#: Commands after which :func:`run` ends the process at once (see there).
QUICK_EXIT_COMMANDS = frozenset({"predict"})
_last_command: str | None = None


def run() -> None:
    """The ``pulsecl`` console command and ``python -m pulsecl``: :func:`main`, then exit.

    After a command in :data:`QUICK_EXIT_COMMANDS` the process ends with ``os._exit``
    once its outputs are written and closed and stdout, stderr and logging are flushed:
    the interpreter's own teardown with torch loaded took 0.45 s on 2 cores
    (``docs/measurements.md``), a seventh of ``predict`` on a 30-s video.  Any other
    command, or one that leaves a non-daemon thread running, exits the ordinary way
    (atexit handlers run)."""
    import os
    import threading

    code = main()
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if _last_command in QUICK_EXIT_COMMANDS and not others:
        import logging

        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing more can be said
                pass
        os._exit(code)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    global _last_command
    parser = build_parser()
    args = parser.parse_args(argv)
    _last_command = args.command
    if args.command is None:
        parser.print_help()
        return 0
    args.debug = bool(args.debug or getattr(args, "sub_debug", False))
    args.disable_plugin = [*args.disable_plugin, *getattr(args, "sub_disable_plugin", [])]
    if args.debug:
        import os

        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "24")  # FFmpeg's warnings too (see video.sources)
    from pulsecl.plugins import reset_plugin_manager
    from pulsecl.warn import install_cli_handler

    install_cli_handler()
    reset_plugin_manager(disabled=args.disable_plugin)
    try:
        return int(args.func(args) or 0)
    except PulseclError as exc:
        if args.debug:
            raise
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"pulsecl: error: {line}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        # A full disk hit by a writer that does not go through pulsecl.io: one line too.
        import errno

        if args.debug or exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = f"'{exc.filename}': " if exc.filename else ""
        print(f"pulsecl: error: {where}{exc.strerror or 'no space left on device'}; free space or choose another --cache/--out", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pulsecl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    run()
