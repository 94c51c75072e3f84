"""The iso-luminant colour-MNIST palette: one Lab ab colour per digit, same lightness and chroma.

Every colour has CIELAB lightness ``L* = 60`` and chroma ``C* = 30``; only the hue differs
(``36°`` per digit), so a grey digit carries no trace of its colour. Used by
:mod:`kcolor.datasets.mnist` (to paint the digits) and :mod:`kcolor.metrics` (to read the
colour back).

Example:
    >>> from kcolor.palette import MNIST_PALETTE_AB
    >>> MNIST_PALETTE_AB.shape
    (10, 2)
"""

from __future__ import annotations

import numpy as np

__all__ = ["MNIST_CHROMA", "MNIST_HUE_STEP", "MNIST_L", "MNIST_PALETTE_AB"]

#: Lightness of every palette colour (and of a full-intensity MNIST pixel).
MNIST_L = 60.0
#: Chroma ``sqrt(a² + b²)`` of every palette colour.
MNIST_CHROMA = 30.0
#: Hue step between consecutive digits, in degrees.
MNIST_HUE_STEP = 36.0

#: ``(10, 2)`` float32: the Lab ``(a, b)`` colour of each digit 0-9
#: (``C* = 30``, hue ``36° × digit``). All ten colours lie inside sRGB at ``L* = 60``.
MNIST_PALETTE_AB = np.stack(
    [
        MNIST_CHROMA * np.cos(np.deg2rad(MNIST_HUE_STEP * np.arange(10))),
        MNIST_CHROMA * np.sin(np.deg2rad(MNIST_HUE_STEP * np.arange(10))),
    ],
    axis=-1,
).astype(np.float32)
