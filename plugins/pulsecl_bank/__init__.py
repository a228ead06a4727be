"""Built-in pulsecl plugin 'bank': a momentum (MoCo-style) bank of negative spectra.

Registers negative bank ``momentum`` (:mod:`pulsecl_bank.bank`, imported only when
built) and implements ``pulsecl_configure``: only when ``config.bank.size > 0`` does it
build the configured bank and register the hooks that feed it and read it
(:mod:`pulsecl_bank.hooks`), in the manner of pytest's stepwise plugin.
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy


@hookimpl
def pulsecl_register_negative_banks(registry):
    """Register the ``momentum`` bank."""
    registry.add(
        "momentum",
        lazy("pulsecl_bank.bank:MomentumBank"),
        description="FIFO queue of past anchor and negative spectra on a common grid (MoCo-style, no momentum encoder)",
    )


@hookimpl
def pulsecl_configure(config, manager):
    """Install the negative bank's hooks when ``config.bank.size > 0``."""
    from pulsecl_bank.hooks import install

    install(config, manager)
