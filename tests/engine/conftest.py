"""A tiny labelled synthetic dataset, rendered and preprocessed once per session."""

import pytest


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    from pulsecl.synthetic import generate

    root = tmp_path_factory.mktemp("tiny") / "data"
    generate(root, n=2, seed=7, duration=6.0, fps=30.0, width=160, height=120, hr_range=(60, 120))
    return root


TINY = [
    "model.options={channels = 4, norm = 'temporal'}",
    "preprocess.size=16",
    "data.clip_frames=64",
    "data.exclude=[]",
    "train.batch_size=2",
    "train.steps_per_epoch=2",
    "train.epochs=2",
    "train.lr=0.001",
    "views.windows_options={n_views = 2}",
]


#: TINY with the pass-through backbone, which is never collapsed on these clips.
PASS = [*TINY, "model.backbone='pass-through'", "model.options={}"]
