"""Built-in pulsecl plugin 'datasets': UBFC-rPPG, PURE, bias-eval skin patches,
labelled and unlabelled folders.

Each is built with ``pulsecl.build("datasets", name, root=..., **options)`` and lists
its videos with ``records()`` (see :mod:`pulsecl.data`).  The loaders are imported only
when built.
"""

from pulsecl import hookimpl
from pulsecl.registry import lazy


@hookimpl
def pulsecl_register_datasets(registry):
    """Register the dataset loaders."""
    registry.add(
        "ubfc-rppg",
        lazy("pulsecl_datasets.ubfc:UBFCrPPG"),
        description="UBFC-rPPG (DATASET_2 and DATASET_1 layouts; also pulsecl synth output)",
    )
    registry.add("pure", lazy("pulsecl_datasets.pure:PURE"), description="PURE: NN-MM frame folders + JSON")
    registry.add(
        "bias-eval",
        lazy("pulsecl_datasets.bias_eval:BiasEval"),
        description="skin-patch videos with a mean reference HR per subject (bias-eval-rppg layout)",
    )
    registry.add(
        "labelled-folder",
        lazy("pulsecl_datasets.folders:LabelledFolder"),
        description="folder of videos, each with a CSV of its reference pulse",
    )
    registry.add(
        "unlabelled-folder",
        lazy("pulsecl_datasets.folders:UnlabelledFolder"),
        description="folder of videos without reference (self-supervised training)",
    )
