"""Lifecycle glue: the negative bank joins training only when ``bank.size > 0``.

:func:`install` is what the plugin's ``pulsecl_configure`` hook calls.  When the config
asks for a bank it builds the named one (``pulsecl.build("negative_banks", bank.name,
size=bank.size, **bank.options)``, the band defaulting to ``signal.band_bpm``) and
registers a :class:`BankHooks` object with the plugin manager under the name
:data:`PLUGIN_NAME`.  That object implements

* ``pulsecl_extra_negatives(spectra, freqs, step, groups)``: the bank's entries on
  ``freqs``, (K, F), on the device and dtype of ``spectra``, with their group ids (K,)
  as a tuple ``(spectra, groups)`` when the bank has :meth:`entry_groups`; None while
  empty;
* ``pulsecl_train_step_end(step, outputs)``: pushes ``outputs["anchor_spectra"]`` and
  ``outputs["negative_spectra"]`` (B, F) on ``outputs["freqs"]`` (F,), the anchors with
  ``outputs["groups"]`` (B,).

The trainer saves and restores the bank with
``manager.get_plugin(PLUGIN_NAME).state_dict()`` / ``.load_state_dict(state)``.  With
``bank.size = 0`` nothing is registered (and a bank left from an earlier configure is
removed).  Any bank component with ``update(anchor_spectra, negative_spectra, freqs)``,
``negatives(freqs, device, dtype)``, ``state_dict()`` and ``load_state_dict()`` works;
one whose ``update`` takes ``groups`` and that has ``entry_groups(device)`` also keeps
each anchor away from its own video's entries.
"""

from __future__ import annotations

from typing import Any

from pulsecl import hookimpl

__all__ = ["PLUGIN_NAME", "BankHooks", "install"]

#: Name under which the active bank's hooks are registered with the plugin manager.
PLUGIN_NAME = "negative-bank"


class BankHooks:
    """Hook implementations that feed a bank and read it (module docstring)."""

    def __init__(self, bank: Any):
        self.bank = bank

    @hookimpl
    def pulsecl_extra_negatives(self, spectra, freqs, step):
        """The bank's spectra (K, F) on ``freqs`` and, when it keeps them, their group ids
        (K,) as ``(spectra, groups)``; None while empty."""
        rows = self.bank.negatives(freqs, device=spectra.device, dtype=spectra.dtype)
        if rows is None or not hasattr(self.bank, "entry_groups"):
            return rows
        return rows, self.bank.entry_groups(device=spectra.device)

    @hookimpl
    def pulsecl_train_step_end(self, step, outputs):
        """Push this step's anchor and negative spectra (and the anchors' groups) into the bank."""
        if "anchor_spectra" not in outputs:  # no proxy branches in this run: nothing to keep
            return
        groups = outputs.get("groups")
        if groups is not None and _takes_groups(self.bank):
            self.bank.update(outputs.get("anchor_spectra"), outputs.get("negative_spectra"), outputs["freqs"], groups=groups)
        else:
            self.bank.update(outputs.get("anchor_spectra"), outputs.get("negative_spectra"), outputs["freqs"])

    def state_dict(self) -> dict[str, Any]:
        """The bank's state (tensors), for checkpoints."""
        return self.bank.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the bank from :meth:`state_dict`'s output."""
        self.bank.load_state_dict(state)


def _takes_groups(bank: Any) -> bool:
    import inspect

    try:
        return "groups" in inspect.signature(bank.update).parameters
    except (TypeError, ValueError):
        return False


def install(config: Any, manager: Any) -> BankHooks | None:
    """Register the configured bank's hooks when ``config.bank.size > 0``; else None."""
    from pulsecl.errors import ConfigError

    if manager.has_plugin(PLUGIN_NAME):
        manager.unregister(name=PLUGIN_NAME)
    size = int(config.bank.size)
    if size <= 0:
        return None
    options = dict(config.bank.options)
    if "size" in options:
        raise ConfigError("bank.options.size: give the bank's size as bank.size, not in bank.options")
    accepted = manager.table("negative_banks").get(config.bank.name).options()
    if "band_bpm" in accepted and "band_bpm" not in options:
        options["band_bpm"] = list(config.signal.band_bpm)
    bank = manager.build("negative_banks", config.bank.name, size=size, **options)
    hooks = BankHooks(bank)
    manager.register(hooks, PLUGIN_NAME)
    return hooks
