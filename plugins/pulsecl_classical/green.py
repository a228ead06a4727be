"""GREEN: the green channel.

W. Verkruysse, L. O. Svaasand, J. S. Nelson, "Remote plethysmographic imaging using
ambient light", Optics Express 16(26), 2008: of the three channels of an ordinary camera
the green one carries the strongest plethysmographic signal (haemoglobin absorbs green
light most).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulsecl_classical._common import check_trace


class Green:
    """GREEN (Verkruysse et al. 2008): the normalised, inverted green channel.

    ``pulse = 1 - G / mean(G)``: relative change of green reflectance, inverted so that
    the pulse rises with blood volume.  No window, no parameters; band-limiting is left
    to the heart-rate post-processing.

    Shape: ``trace (T, 3)`` -> ``(T,)``.
    """

    name = "green"

    def __call__(self, trace: Any, fs: float) -> np.ndarray:
        rgb, fs = check_trace(trace, fs, method=self.name)
        g = rgb[:, 1]
        return 1.0 - g / g.mean()

    def __repr__(self) -> str:
        return "Green()"
