"""Built-in pulsecl plugin 'samplers': what the backbone sees of each frame.

Registers two samplers (modules imported only when built):

* ``identity`` (:mod:`pulsecl_samplers.identity`): the video unchanged.
* ``saliency`` (:mod:`pulsecl_samplers.saliency`): the saliency-based zoom of Recasens
  et al., ECCV 2018, with a fixed Gaussian kernel and its regularisers on by default.

The sampler interface is documented in :mod:`pulsecl_samplers.identity`.
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy


@hookimpl
def pulsecl_register_samplers(registry):
    """Register the ``identity`` and ``saliency`` samplers."""
    registry.add(
        "identity",
        lazy("pulsecl_samplers.identity:IdentitySampler"),
        description="no resampling: the video passes unchanged",
    )
    registry.add(
        "saliency",
        lazy("pulsecl_samplers.saliency:SaliencySampler"),
        description="per-frame saliency zoom (Recasens et al. 2018), fixed Gaussian kernel, sparsity + smoothness regularisers",
    )
