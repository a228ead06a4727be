"""A tiny labelled synthetic dataset, rendered and preprocessed once per session."""

import pytest


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    from pulsecl.synthetic import generate

    root = tmp_path_factory.mktemp("tiny") / "data"
    generate(root, n=2, seed=7, duration=6.0, fps=30.0, width=160, height=120, hr_range=(60, 120))
    return root
