"""``python -m pulsecl``: the same as the ``pulsecl`` command."""

from pulsecl.cli import run

run()
