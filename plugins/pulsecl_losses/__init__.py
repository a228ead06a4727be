"""Built-in pulsecl plugin 'losses': contrastive, supervised and label-free losses.

Registers (modules imported only when built):

=============  ===================================================  ==========================
name           what                                                 module
=============  ===================================================  ==========================
mvtl           multi-view triplet loss on PSDs (Gideon & Stent 21)  pulsecl_losses.contrastive
ipr            irrelevant power ratio (Gideon & Stent 21)           pulsecl_losses.spectral_priors
bandwidth      SiNC power outside the band (Speth et al. 23)       pulsecl_losses.spectral_priors
sparsity       SiNC power away from the peak                        pulsecl_losses.spectral_priors
variance       SiNC batch spectrum vs uniform (squared EMD)         pulsecl_losses.spectral_priors
invariance     1 - Pearson r, augmented clip's signal vs the clip's  pulsecl_losses.consistency
decorrelation  mean r^2 between clips of different videos           pulsecl_losses.consistency
neg_mcc        -max cross-correlation vs a reference pulse          pulsecl_losses.supervised
neg_snr        -SNR (dB) at the reference heart rate                pulsecl_losses.supervised
neg_pearson    1 - Pearson r vs a reference pulse (PhysNet)         pulsecl_losses.supervised
=============  ===================================================  ==========================

Loss interface (every loss plugin): an ``nn.Module`` with ``forward(inputs) -> Tensor``
(a scalar), ``inputs`` a dict of tensors, and a class attribute ``requires``, the tuple
of keys it reads (optionally ``optional``, keys it uses when present).  The keys:

* ``"anchor_views"``, ``"positive_views"``, ``"negative_views"``: (B, V, W) windows of the
  three branches of the proxy task (:mod:`pulsecl_views`);
* ``"augmented"``: (B, T) the signal of the anchor clip after the ``augment`` view
  generator (:mod:`pulsecl_views.augment`), time-aligned with ``"signal"``;
* ``"fs"``: (B,) frame rate of every sample, Hz;
* ``"signal"``: (B, T) the prediction (the anchor signal in contrastive training);
* ``"target"``: (B, T) reference pulse, same sampling as ``"signal"`` (supervised; in
  self-supervised training only with ``data.pseudo_labels``: a classical method's pulse
  on the training video's own crops, :func:`pulsecl.engine.clips.pseudo_labelled`);
* ``"extra_negatives"``: (K, G) normalised spectra on the grid ``"freqs"`` (G,) Hz,
  from the ``pulsecl_extra_negatives`` hook (the negative bank).

The trainer combines them with :func:`pulsecl.engine.losses.combine` (the core builds
every term through the registry; the typed contract is
:class:`pulsecl.protocols.Loss`).
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy

_LOSSES = {
    "mvtl": ("pulsecl_losses.contrastive:MVTL", "multi-view triplet loss on band-limited PSDs (Gideon & Stent 2021)"),
    "ipr": ("pulsecl_losses.spectral_priors:IPR", "irrelevant power ratio: spectral magnitude outside the band"),
    "bandwidth": ("pulsecl_losses.spectral_priors:Bandwidth", "SiNC bandwidth: power outside the band"),
    "sparsity": ("pulsecl_losses.spectral_priors:Sparsity", "SiNC sparsity: in-band power away from the peak"),
    "variance": ("pulsecl_losses.spectral_priors:Variance", "SiNC variance: batch-mean spectrum vs uniform"),
    "invariance": ("pulsecl_losses.consistency:Invariance", "1 - Pearson r between the augmented clip's signal and the clip's"),
    "decorrelation": ("pulsecl_losses.consistency:Decorrelation", "mean squared Pearson r between the signals of clips of different videos (anti-collapse)"),
    "neg_mcc": ("pulsecl_losses.supervised:NegMCC", "negative maximum cross-correlation with a reference pulse"),
    "neg_snr": ("pulsecl_losses.supervised:NegSNR", "negative SNR (dB) at the reference heart rate"),
    "neg_pearson": ("pulsecl_losses.supervised:NegPearson", "1 - Pearson correlation with a reference pulse"),
}


@hookimpl
def pulsecl_register_losses(registry):
    """Register the built-in losses."""
    for name, (target, description) in _LOSSES.items():
        registry.add(name, lazy(target), description=description)


def combine(weights, options=None):
    """Weighted sum of registered losses; see :func:`pulsecl.engine.losses.combine`
    (kept here for code that imported it from this plugin)."""
    from pulsecl.engine.losses import combine as _combine

    return _combine(weights, options)
