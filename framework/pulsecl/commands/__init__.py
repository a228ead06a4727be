"""Subcommands of the ``pulsecl`` CLI, one module each (see :mod:`pulsecl.cli`)."""
