"""The models pulsecl ships (framework/pulsecl/pretrained/): ``pulsecl-small`` (synthetic
faces) and ``pulsecl-face`` (UBFC-rPPG faces, POS pseudo-labels).  Each is there, small,
carries its card with its data's terms, was trained without reading a label, reads the
heart rate put into two synthetic faces of different rates (a rate per face, not one for
all), and its output depends on its input on real skin video (not the collapse of issue
12).  ``pulsecl-real-small`` (skin patches, POS pseudo-labels) answered about 70 bpm for
every real face and is no longer shipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import pulsecl
from pulsecl.cli import main

NAMES = ["pulsecl-small", "pulsecl-face"]
# what each card must say of its training data's terms
TERMS = {"pulsecl-small": ["MIT"], "pulsecl-face": ["research use", "Bobbia", "UBFC-rPPG"]}
REAL = Path(__file__).resolve().parents[1] / "data" / "bias-eval" / "Data" / "India"


@pytest.fixture(scope="module", params=NAMES)
def name(request):
    return request.param


@pytest.fixture(scope="module")
def model(name):
    from pulsecl.models import load_model

    return load_model(name)


def test_the_shipped_models_are_listed_and_the_removed_one_is_gone():
    from pulsecl.models import list_models

    names = {m.name for m in list_models()}
    assert set(NAMES) <= names and "pulsecl-real-small" not in names


def test_it_ships_with_its_card_and_is_small(name):
    from pulsecl.models import list_models

    (m,) = [m for m in list_models() if m.name == name]
    assert m.path.stat().st_size < 5e6
    card = m.card.read_text(encoding="utf-8")
    for section in ("## Data", "## Recipe", "## Figures", "## Not good for"):
        assert section in card, section
    # the card states its data's licence and its figures on real faces beside POS
    assert all(term in card for term in TERMS[name]) and "real" in m.summary.lower()
    assert "ubfc-dev" in card and "POS" in card


def test_it_was_trained_without_labels_and_is_not_collapsed(model):
    from pulsecl.engine.checkpoint import load_checkpoint

    data = load_checkpoint(model.path)
    assert data["config"]["train"]["mode"] == "contrastive"
    assert data["collapsed"] is False and data["train_state"] is None
    assert data["model"]["options"]["time_padding"] == "replicate"


def test_it_reads_the_heart_rate_put_into_two_synthetic_faces(videos, name):
    """Two faces whose rates differ by more than 10 bpm: each answer within 3 bpm of its
    own face's rate, so a model answering one rate for every face fails."""
    light, dark = videos["light-30fps"], videos["dark-30fps"]
    assert abs(light.hr_bpm - dark.hr_bpm) > 10.0
    for video in (light, dark):
        result = pulsecl.predict(str(video.path), model=name, progress=False)
        assert result.hr_bpm == pytest.approx(video.hr_bpm, abs=3.0), video.path.name
        assert result.checkpoint == name


def test_its_pulse_on_a_real_patch_is_not_its_pulse_on_noise_or_grey(model):
    """The collapse probe on a real skin patch: |r| with the output for uniform noise
    below 0.5 (issue 12's limit), and a grey clip gives a flat output."""
    from pulsecl.config import PreprocessConfig
    from pulsecl.engine.probe import collapse_probe
    from pulsecl.video import iter_crops

    clips = []
    for name in ("video10_forehead.avi", "video1_leftcheek.avi"):
        blocks = [b for b, _ in iter_crops(str(REAL / name), PreprocessConfig(roi="full", size=32))]
        frames = np.concatenate(blocks)
        start = (len(frames) - model.clip_frames) // 2
        clips.append(frames[start : start + model.clip_frames])
    with torch.no_grad():
        probe = collapse_probe(lambda x: model.net(x), clips)
        grey = model.net(torch.full((1, 3, model.clip_frames, 32, 32), 0.5))[0]
    assert probe.noise_r < 0.5 and not probe.collapsed
    assert float(grey.max() - grey.min()) < 1e-4


def test_predict_cli_by_name(videos, capsys, name):
    assert main(["predict", str(videos["light-30fps"].path), "--model", name, "--no-progress"]) == 0
    assert name in capsys.readouterr().out
