"""Scatter and Bland-Altman figures are written as whole PNG files."""

from __future__ import annotations

import pytest

from pulsecl.errors import SignalError
from pulsecl.signal.plots import bland_altman_plot, scatter_plot

PRED = [61.0, 72.5, 80.0, 95.0, 110.0]
REF = [60.0, 70.0, 83.0, 94.0, 112.0]


@pytest.mark.parametrize("plot", [scatter_plot, bland_altman_plot])
def test_plot_writes_a_png_and_nothing_else(tmp_path, plot):
    out = plot(PRED, REF, tmp_path / "figs" / "hr.png")
    assert out == tmp_path / "figs" / "hr.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.parent.iterdir()] == ["hr.png"]  # no temporary left


@pytest.mark.parametrize("plot", [scatter_plot, bland_altman_plot])
def test_plot_bad_inputs(tmp_path, plot):
    with pytest.raises(SignalError, match="differ in number"):
        plot(PRED, REF[:3], tmp_path / "a.png")
    with pytest.raises(SignalError, match="must end in .png"):
        plot(PRED, REF, tmp_path / "a.pdf")
    with pytest.raises(SignalError, match="NaN"):
        plot([float("nan")] + PRED[1:], REF, tmp_path / "a.png")
    assert list(tmp_path.iterdir()) == []
