"""Which model does the unlabelled objective prefer?  Each term of a training recipe's loss,
scored for several models on the same fixed batches of the same videos.  A benchmark:
prints figures, asserts nothing.

    python benchmarks/objective_terms.py --data TRAINING_VIDEOS \\
        --model pulsecl-small --model supervised=RUN_WITH_LABELS/best.pt --model drift=RUN/last.pt

A model that follows the pulse (one trained *with* labels, scored here without them) should
get the lowest total; where a model that gives every face its own rhythm gets a lower one,
the terms say which part of the objective rewards the rhythm (docs/measurements.md,
"Learning on real faces": on ubfc-dev only the frequency contrast preferred the model that
reads the pulse; bandwidth, sparsity and the motion invariance preferred the rhythm).

For every model the batches are the same clips (``--seed``), drawn as training draws them,
and the loss is the training step's own (``Trainer.batch_loss``: train-mode BatchNorm, the
recipe's views and augmentation), with no gradient and no weight change.  ``random init`` is the
recipe's own freshly initialised model.  ``--set`` changes the recipe (for instance
``--set "views.augment=''"``); a model must share the recipe's architecture and crop size.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch


def trainer_on(data: str, overrides: list[str]):
    """A :class:`~pulsecl.engine.trainer.Trainer` for the recipe with ``overrides``, its model
    built and the videos of ``data`` loaded (no run folder is kept)."""
    import tempfile

    from pulsecl.config import load_config
    from pulsecl.engine.trainer import Trainer

    cfg = load_config(None, ["train.keep_memory=false", *overrides])
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, data, tmp, log=None, progress=False)
        trainer._build()
        trainer._load_data()
    return trainer


def models_named(specs: list[str]) -> dict:
    """``[LABEL=]NAME_OR_CHECKPOINT`` -> ``{label: loaded model}`` (the label defaults to the source)."""
    from pulsecl.models import load_model

    out = {}
    for spec in specs:
        label, _, source = spec.rpartition("=")
        out[label or source] = load_model(source)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder of (unlabelled) training videos")
    ap.add_argument("--model", action="append", default=[], metavar="[LABEL=]NAME_OR_CHECKPOINT")
    ap.add_argument("--batches", type=int, default=12)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe overrides")
    args = ap.parse_args(argv)

    import copy

    from pulsecl.errors import PulseclError

    try:
        trainer = trainer_on(args.data, args.set)
        trainer.step = 0  # read by the bank hook; no step ends here, so a bank (if any) stays empty
        cfg, net = trainer.config, trainer.module
        states = {"random init": copy.deepcopy((net.backbone.state_dict(), net.sampler.state_dict()))}
        for label, model in models_named(args.model).items():
            states[label] = (model.net.backbone.state_dict(), model.net.sampler.state_dict())
    except PulseclError as e:
        print(f"objective_terms: {e}", file=sys.stderr)
        return 2

    print(f"{len(trainer.videos)} videos, {args.batches} batches of {cfg.train.batch_size}; "
          f"loss weights {cfg.loss.weights}, augmentation {cfg.views.augment or 'none'}")
    for label, (backbone, sampler) in states.items():
        terms: dict[str, list[float]] = {}
        trainer.generator = torch.Generator().manual_seed(args.seed)  # the same clips and views for every model
        for _ in range(args.batches):
            net.backbone.load_state_dict(backbone)  # train-mode BatchNorm moves its statistics
            net.sampler.load_state_dict(sampler)
            batch = trainer.sampler_data.draw(cfg.train.batch_size, trainer.generator, 0, 1)
            net.train()
            with torch.no_grad():
                total, parts, *_ = trainer.batch_loss(batch)
            for k, v in {"total": total, **parts}.items():
                terms.setdefault(k, []).append(float(v))
        print(f"  {label:<28}" + "  ".join(f"{k} {np.mean(v):+.4f}" for k, v in terms.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
