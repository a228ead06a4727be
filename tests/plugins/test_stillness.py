import math, torch, pytest
import pulsecl
from pulsecl.engine.step import still_faces, STILL_NOISE
def test_stillness_is_the_share_of_power_at_the_peak():
    loss = pulsecl.build("losses", "stillness")
    t = torch.arange(300) / 30.0
    tone = torch.sin(2 * math.pi * 1.2 * t)[None]  # a rhythm: all power at the peak
    noise = torch.randn(1, 300, generator=torch.Generator().manual_seed(0))
    fs = torch.tensor([30.0, 30.0])
    assert float(loss({"still": tone, "fs": fs})) > 0.95
    assert float(loss({"still": noise, "fs": fs})) < 0.2
def test_still_faces_repeat_the_middle_frame_with_noise():
    clip = torch.rand(2, 3, 10, 4, 4, generator=torch.Generator().manual_seed(1))
    still = still_faces(clip, torch.Generator().manual_seed(2))
    assert still.shape == clip.shape
    d = still - clip[:, :, 5:6]
    assert abs(float(d.std()) - STILL_NOISE) < 0.3 * STILL_NOISE and abs(float(d.mean())) < 1e-3


def test_the_training_step_makes_still_faces_only_when_asked():
    from pulsecl.engine.step import TrainingModule
    from pulsecl.testing import PassThroughBackbone

    make = lambda f: TrainingModule(  # noqa: E731
        PassThroughBackbone(), pulsecl.build("samplers", "identity"), pulsecl.build("proxy_tasks", "frequency"),
        pulsecl.build("view_windows", "windows", n_views=2), still_fraction=f)
    x = torch.rand(4, 3, 96, 8, 8, generator=torch.Generator().manual_seed(1))
    for module in (make(0.5), make(0.0)):
        module.clip_frames = 64
        out = module(x, torch.full((4,), 30.0), torch.Generator().manual_seed(2))
        if module.still_fraction:
            assert out["still"].shape == (2, 64)
            assert float(out["still"].detach().std()) < 0.1 * float(out["signal"].detach().std())  # a still face: its noise
        else:
            assert "still" not in out


def test_still_faces_and_their_loss_come_together():
    from pulsecl.config import load_config
    from pulsecl.engine.step import build_losses, check_still
    from pulsecl.errors import ConfigError

    for overrides, message in (
        (["views.still_fraction=0.25"], "makes still faces that no loss in \\[loss\\] weights reads"),
        (["loss.weights={mvtl = 1.0, stillness = 1.0}"], "loss 'stillness' reads the signal of still faces"),
    ):
        config = load_config(None, overrides)
        with pytest.raises(ConfigError, match=message):
            check_still(config, build_losses(config))
    with pytest.raises(ConfigError, match="views.still_fraction = 1.5"):
        load_config(None, ["views.still_fraction=1.5"])
