"""POS: plane-orthogonal-to-skin projection.

W. Wang, A. C. den Brinker, S. Stuijk, G. de Haan, "Algorithmic principles of remote
PPG", IEEE Trans. Biomed. Eng. 64(7), 2017 (Algorithm 1).

For every window of ``l`` frames starting at every frame ``n``: normalise the window by
its mean colour, ``Cn``; project on the plane orthogonal to the skin tone,
``S = P Cn`` with ``P = [[0, 1, -1], [-2, 1, 1]]``; tune ``h = S1 + (sigma(S1) /
sigma(S2)) S2``; add ``h - mean(h)`` into the output (overlap-add, stride one frame).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulsecl_classical._common import check_trace, window_length

#: POS projection: rows are the two axes of the plane orthogonal to the skin tone.
P_POS = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])


def _moving_sum(x: np.ndarray, length: int) -> np.ndarray:
    """Sums of ``x`` over every window ``[n, n + length)``; ``x`` is (T, ...) ->
    (T - length + 1, ...)."""
    c = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])
    return c[length:] - c[:-length]


class POS:
    """POS (Wang et al. 2017), the paper's Algorithm 1 with windows at every frame.

    Every window's output is linear in the trace, ``h_n(t) = sum_c beta_{n,c}
    (C_c(t) - mu_{n,c})``, with ``beta_n = P_1 / mu_n + alpha_n P_2 / mu_n``.  The
    window means and covariances (hence ``alpha_n``), and the overlap-added sum over all
    windows covering ``t``, come from running sums, so the stride-one algorithm costs
    O(T) instead of O(T l); ``tests/plugins/test_classical.py`` checks it against a
    plain loop over windows.

    Args:
        window_s: window length ``l`` in seconds (the paper: 32 frames at 20 fps, 1.6 s).

    Shape: ``trace (T, 3)`` -> ``(T,)``; traces shorter than the window are one window.
    """

    name = "pos"

    def __init__(self, window_s: float = 1.6):
        self.window_s = window_s

    def __call__(self, trace: Any, fs: float) -> np.ndarray:
        rgb, fs = check_trace(trace, fs, method=self.name)
        n = rgb.shape[0]
        length = window_length(self.window_s, fs, n, method=self.name, minimum=3)
        # Running sums on a trace shifted by its global mean keep the variances exact.
        centre = rgb.mean(axis=0)
        x = rgb - centre  # (T, 3)
        sums = _moving_sum(x, length)  # (W, 3)
        prods = _moving_sum(x[:, :, None] * x[:, None, :], length)  # (W, 3, 3)
        mean_x = sums / length
        cov = prods / length - mean_x[:, :, None] * mean_x[:, None, :]  # window covariances
        mu = mean_x + centre  # (W, 3) window mean colours
        a = P_POS[None, :, :] / mu[:, None, :]  # (W, 2, 3): S_k = sum_c a_kc C_c
        var = np.einsum("wkc,wcd,wkd->wk", a, cov, a)  # (W, 2) variances of S1, S2
        sd = np.sqrt(np.maximum(var, 0.0))
        alpha = sd[:, 0] / np.where(sd[:, 1] > 0, sd[:, 1], np.inf)
        beta = a[:, 0, :] + alpha[:, None] * a[:, 1, :]  # (W, 3)
        offset = np.einsum("wc,wc->w", beta, mu)  # mean of h over its window
        # Sum over the windows n covering t (n in [t - l + 1, t] within [0, W - 1]).
        beta_cover = _cover_sum(beta, length, n)  # (T, 3)
        offset_cover = _cover_sum(offset[:, None], length, n)[:, 0]  # (T,)
        h = np.einsum("tc,tc->t", rgb, beta_cover) - offset_cover
        return -h  # POS's h falls with blood volume (P maps the pulse signature < 0)

    def __repr__(self) -> str:
        return f"POS(window_s={self.window_s})"


def _cover_sum(v: np.ndarray, length: int, n: int) -> np.ndarray:
    """For per-window values ``v`` (W, K), the sum over windows covering each sample.

    Window ``w`` covers samples ``[w, w + length)``; returns (n, K).
    """
    c = np.concatenate([np.zeros((1, v.shape[1])), np.cumsum(v, axis=0)])  # (W + 1, K)
    t = np.arange(n)
    hi = np.minimum(t, v.shape[0] - 1) + 1  # windows w <= t
    lo = np.maximum(t - length + 1, 0)  # windows w >= t - l + 1
    return c[hi] - c[lo]
