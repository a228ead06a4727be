"""LGI: local group invariance.

C. S. Pilz, S. Zaunseder, J. Krajewski, V. Blazek, "Local group invariance for heart
rate estimation from face videos in the wild", CVPR Workshops 2018.

The RGB samples of a window form a 3 x L matrix ``X``.  Its principal left singular
vector ``u`` is the direction along which the colour varies most, dominated by the
skin's mean colour and so by illumination intensity; projecting on the orthogonal
complement, ``Y = (I - u u^T) X``, leaves what does not scale with the light, and the
green row of ``Y`` is the pulse.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulsecl_classical._common import check_trace, optional_windows, overlap_add


def project_out_green(win: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Green row of ``(I - u u^T) X`` for windows ``X`` (W, 3, L) and unit ``u`` (W, 3),
    divided by the window's mean green and mean-removed, inverted to rise with blood
    volume.  Returns (W, L)."""
    along = np.einsum("wc,wcl->wl", u, win)  # u^T X
    y_green = win[:, 1, :] - u[:, 1, None] * along
    y_green = y_green / win[:, 1, :].mean(axis=-1, keepdims=True)
    return -(y_green - y_green.mean(axis=-1, keepdims=True))


class LGI:
    """LGI (Pilz et al. 2018).

    Args:
        window_s: ``None`` (the paper's formulation) treats the whole trace as one
            matrix; a number of seconds processes Hann-weighted windows with 50 %
            overlap, which follows slow changes of light over long recordings.

    Shape: ``trace (T, 3)`` -> ``(T,)``.  The singular vectors come from the 3 x 3
    matrices ``X X^T`` of all windows at once (batched ``eigh``).
    """

    name = "lgi"

    def __init__(self, window_s: float | None = None):
        self.window_s = window_s

    def __call__(self, trace: Any, fs: float) -> np.ndarray:
        rgb, fs = check_trace(trace, fs, method=self.name)
        n = rgb.shape[0]
        _, starts, win = optional_windows(rgb, fs, self.window_s, method=self.name)  # (W, 3, L)
        gram = np.einsum("wcl,wdl->wcd", win, win)  # X X^T, (W, 3, 3)
        _, vecs = np.linalg.eigh(gram)
        u = vecs[..., -1]  # principal left singular vector, (W, 3)
        seg = project_out_green(win, u)
        return seg[0] if len(starts) == 1 else overlap_add(seg, starts, n, taper=True)

    def __repr__(self) -> str:
        return f"LGI(window_s={self.window_s})"
