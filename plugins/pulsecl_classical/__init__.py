"""Built-in pulsecl plugin 'classical': the classical rPPG methods.

Table ``classical_methods``: ``green``, ``ica``, ``chrom``, ``pbv``, ``pos``, ``lgi``,
``omit``.  Each factory takes the method's options and returns an object callable as
``method(trace, fs) -> pulse``: an RGB trace ``(T, 3)`` (mean skin colour per frame)
sampled at ``fs`` Hz in, a pulse signal ``(T,)`` rising with blood volume out.

    >>> import pulsecl
    >>> pos = pulsecl.build("classical_methods", "pos", window_s=1.6)
    >>> pulse = pos(trace, fs=30.0)

Modules load on first build (``pulsecl.registry.lazy``), so loading the plugin costs
nothing.
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy

_METHODS = {
    "green": ("pulsecl_classical.green:Green", "GREEN (Verkruysse 2008): the normalised green channel"),
    "ica": ("pulsecl_classical.ica:ICA", "ICA (Poh 2010): FastICA source with the sharpest in-band peak"),
    "chrom": ("pulsecl_classical.chrom:CHROM", "CHROM (de Haan & Jeanne 2013): chrominance signals"),
    "pbv": ("pulsecl_classical.pbv:PBV", "PBV (de Haan & van Leest 2014): blood-volume-pulse signature"),
    "pos": ("pulsecl_classical.pos:POS", "POS (Wang 2017): plane orthogonal to the skin tone"),
    "lgi": ("pulsecl_classical.lgi:LGI", "LGI (Pilz 2018): local group invariance"),
    "omit": ("pulsecl_classical.omit:OMIT", "OMIT (Casado & Lopez 2023): orthogonal matrix image transformation"),
}


@hookimpl
def pulsecl_register_classical_methods(registry):
    """Register the seven classical methods."""
    for name, (target, description) in _METHODS.items():
        registry.add(name, lazy(target, description), description=description)
