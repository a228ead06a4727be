"""OMIT: orthogonal matrix image transformation.

C. Alvarez Casado, M. Bordallo Lopez, "Face2PPG: An unsupervised pipeline for blood
volume pulse extraction from faces", IEEE J. Biomed. Health Inform. 27(11), 2023.

A QR decomposition of the colour matrix gives an orthonormal basis whose first vector
spans the skin's colour, the direction that illumination intensity scales; projecting on
the orthogonal complement ``I - q q^T`` removes it, and the green row of the projected
signals is the pulse.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulsecl_classical._common import check_trace, optional_windows, overlap_add
from pulsecl_classical.lgi import project_out_green


class OMIT:
    """OMIT (Casado & Lopez 2023).

    The first column of the decomposed matrix fixes ``q``.  The authors' code
    decomposes the raw 3 x T matrix, whose first column is the *first frame's* colour;
    pulsecl puts the window's mean colour first, so that ``q`` does not hang on one
    noisy frame.  ``q`` is the first column of ``Q`` in ``QR = [mean colour | X]``.

    Args:
        window_s: ``None`` (the paper's formulation) uses the whole trace; a number of
            seconds processes Hann-weighted windows with 50 % overlap.

    Shape: ``trace (T, 3)`` -> ``(T,)``.
    """

    name = "omit"

    def __init__(self, window_s: float | None = None):
        self.window_s = window_s

    def __call__(self, trace: Any, fs: float) -> np.ndarray:
        rgb, fs = check_trace(trace, fs, method=self.name)
        n = rgb.shape[0]
        _, starts, win = optional_windows(rgb, fs, self.window_s, method=self.name)  # (W, 3, L)
        mean_colour = win.mean(axis=-1)  # (W, 3)
        # Only Q's first column is needed, which depends on the first column alone.
        q, _ = np.linalg.qr(mean_colour[:, :, None])  # (W, 3, 1)
        seg = project_out_green(win, q[..., 0])
        return seg[0] if len(starts) == 1 else overlap_add(seg, starts, n, taper=True)

    def __repr__(self) -> str:
        return f"OMIT(window_s={self.window_s})"
