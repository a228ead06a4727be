"""The built-in backbones other than PhysNet train through the same engine, in both
modes, with only ``model.backbone`` changed, and load back for inference."""

import pytest
import torch

from engine_settings import TINY
from pulsecl.config import load_config
from pulsecl.engine.trainer import train
from pulsecl.models import load_model


@pytest.mark.parametrize("mode", ["contrastive", "supervised"])
@pytest.mark.parametrize("backbone", ["tscan", "physformer_lite"])
def test_trains_with_only_the_backbone_changed(backbone, mode, tiny_dataset, tmp_path):
    sets = [*TINY, f"model.backbone={backbone}", "train.epochs=1"]
    if mode == "supervised":
        sets += ["train.mode=supervised", "loss.weights={neg_pearson = 1.0}", "data.val_fraction=0.5"]
    res = train(load_config(None, sets), tiny_dataset, tmp_path / "run", progress=False, log=None)
    assert (res.steps, res.interrupted) == (2, False)
    model = load_model(tmp_path / "run" / "last.pt")  # two steps: best.pt may be withheld as collapsed
    assert model.spec["backbone"] == backbone
    x = 0.4 + 0.2 * torch.rand(1, 3, 75, 16, 16)
    with torch.no_grad():
        y = model.inference_net()(x.contiguous(memory_format=torch.channels_last_3d))
    assert y.shape == (1, 75) and bool(torch.isfinite(y).all())
    torch.testing.assert_close(y, model.net(x), rtol=1e-4, atol=1e-5)
