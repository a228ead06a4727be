"""pulsecl.predict with a checkpoint: streamed inference against whole-clip inference,
the trained small checkpoint against known heart rates, and bad checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import pulsecl
from pulsecl.errors import CheckpointError

TRAINED = Path(__file__).resolve().parents[1] / "data" / "pulsecl-small.pt"


def test_streamed_windows_equal_whole_clip_inference(videos, make_checkpoint):
    from predict_helpers import face_crops

    from pulsecl.engine.inference import infer_signal
    from pulsecl.extractors import ModelPulse
    from pulsecl.models import load_model

    # A trained model: an untrained one's output is a tiny wave on a large offset, and
    # z-scoring each window turns float rounding (batch of 1 against 4) into 0.1.
    loaded = load_model("pulsecl-small")
    crops, ts = face_crops(videos["light-15fps"].path)
    window = loaded.clip_frames
    expected = infer_signal(loaded.net, crops, window, overlap=0.5)
    for chunk in (5, 100):  # smaller and larger than the window
        ex = ModelPulse(loaded, overlap=0.5, resample=False)
        ex.adapt(15.0)
        held = 0
        for s in range(0, len(crops), chunk):
            ex.feed(crops[s : s + chunk], ts[s : s + chunk])
            held = max(held, ex.engine.frames_held)
        ex.finish()
        np.testing.assert_allclose(ex.raw_pulse(), expected, atol=1e-4)
        assert held <= window + chunk  # the crops kept: one window and one chunk, whatever the length


def test_checkpoint_prediction_uses_the_checkpoints_settings(videos, make_checkpoint):
    ck = make_checkpoint()
    result = pulsecl.predict(videos["light-15fps"].path, checkpoint=ck)
    assert result.checkpoint == str(ck) and result.method is None
    assert 40.0 <= result.hr_bpm <= 250.0  # untrained weights: any rate in the band
    assert result.frames_read == videos["light-15fps"].n_frames
    summary = result.summary()
    assert summary["checkpoint"] == str(ck) and summary["pulsecl_version"] == pulsecl.__version__


def test_short_clip_is_one_window(small_frames, make_checkpoint):
    frames, fs, _ = small_frames
    result = pulsecl.predict(frames[:100], fs=fs, checkpoint=make_checkpoint(clip_frames=128))
    assert result.pulse.shape == (100,)


@pytest.mark.skipif(not TRAINED.is_file(), reason=f"the trained small checkpoint {TRAINED} is not there yet (the lead provides it)")
@pytest.mark.parametrize("name", ["light-30fps", "dark-30fps", "light-15fps"])
def test_trained_checkpoint_heart_rate_within_3_bpm(videos, name):
    video = videos[name]
    result = pulsecl.predict(video.path, checkpoint=TRAINED)
    assert abs(result.hr_bpm - video.hr_bpm) < 3.0


# ----------------------------------------------------------------------------------------
# Bad checkpoints: one clear error each, nothing written (the CLI tests check the files)
# ----------------------------------------------------------------------------------------


def test_missing_checkpoint(small_frames, tmp_path):
    frames, fs, _ = small_frames
    with pytest.raises(CheckpointError, match=r"checkpoint '.*nope\.pt' does not exist"):
        pulsecl.predict(frames, fs=fs, checkpoint=tmp_path / "nope.pt")


def test_checkpoint_from_a_different_backbone(small_frames, make_checkpoint):
    frames, fs, _ = small_frames
    from predict_helpers import physnet_payload

    wider = physnet_payload(channels=8)["state_dict"]
    ck = make_checkpoint("other.pt", state_dict=wider)  # spec says channels=4
    with pytest.raises(CheckpointError, match="does not fit backbone 'physnet'.*shape mismatch"):
        pulsecl.predict(frames, fs=fs, checkpoint=ck)
    unknown = make_checkpoint("unknown.pt", model={"backbone": "resnet3d", "options": {}})
    with pytest.raises(CheckpointError, match="cannot rebuild its model.*resnet3d"):
        pulsecl.predict(frames, fs=fs, checkpoint=unknown)


@pytest.mark.parametrize("bad", [
    [torch.zeros(3)],
    "weights",
    {"stem.0.weight": [1.0, 2.0]},
])
def test_tampered_state_dict(small_frames, make_checkpoint, bad):
    frames, fs, _ = small_frames
    ck = make_checkpoint("tampered.pt", state_dict=bad)
    with pytest.raises(CheckpointError) as err:
        pulsecl.predict(frames, fs=fs, checkpoint=ck)
    assert "'state_dict' is a" in str(err.value) and "not a state dict" in str(err.value)
    assert "\n" not in str(err.value)


def test_plain_state_dict_file(small_frames, tmp_path):
    frames, fs, _ = small_frames
    path = tmp_path / "weights.pt"
    torch.save(pulsecl.build("backbones", "physnet", channels=4).state_dict(), path)
    with pytest.raises(CheckpointError, match="is not a pulsecl checkpoint"):
        pulsecl.predict(frames, fs=fs, checkpoint=path)


class _Payload:
    def __reduce__(self):
        return (print, ("this would run on load",))


def test_checkpoint_with_code_is_not_loaded(small_frames, tmp_path, capsys):
    frames, fs, _ = small_frames
    path = tmp_path / "evil.pt"
    torch.save({"format": "pulsecl-checkpoint", "model": {"backbone": "physnet"}, "state_dict": _Payload()}, path)
    with pytest.raises(CheckpointError, match=r"would run code when loaded \(it calls builtins.print\): refused"):
        pulsecl.predict(frames, fs=fs, checkpoint=path)
    assert "this would run on load" not in capsys.readouterr().out


def test_frame_resampler_interpolates_in_time_whatever_the_chunks():
    from pulsecl.extractors import FrameResampler

    # 15 fps frames whose value rises 2 levels per frame: at 30 fps, 1 level per frame
    n = 45
    frames = np.repeat((10 + 2 * np.arange(n, dtype=np.float64))[:, None, None, None], 3, axis=-1)
    frames = np.broadcast_to(frames, (n, 4, 4, 3)).astype(np.uint8)
    ts = np.arange(n) / 15.0
    for chunk in (1, 7, 45):
        r = FrameResampler(30.0)
        parts = [r(frames[s : s + chunk], ts[s : s + chunk]) for s in range(0, n, chunk)]
        out = np.concatenate([p[0] for p in parts])
        out_t = np.concatenate([p[1] for p in parts])
        assert len(out) == 2 * n - 1
        np.testing.assert_allclose(out_t, np.arange(2 * n - 1) / 30.0, atol=1e-9)
        np.testing.assert_array_equal(out[:, 0, 0, 0], 10 + np.arange(2 * n - 1))


def test_checkpoint_sees_its_training_rate_and_the_pulse_keeps_the_videos(videos, make_checkpoint):
    from pulsecl.extractors import ModelPulse
    from pulsecl.predictor import setup

    video = videos["light-15fps"]
    ck = make_checkpoint()  # trained at 30 fps
    result = pulsecl.predict(video.path, checkpoint=ck)
    assert result.fs == pytest.approx(15.0, rel=1e-3) and result.pulse.shape == (video.n_frames,)
    s = setup(checkpoint=ck)
    s.extractor.adapt(15.0)
    assert isinstance(s.extractor, ModelPulse) and s.extractor.resampler.fs == 30.0
    assert s.extractor.window == 64  # the training clip, at the rate the model runs at
    no = setup(checkpoint=ck)
    no.extractor.adapt(29.0)  # within 5 %: no resampling
    assert no.extractor.resampler is None
