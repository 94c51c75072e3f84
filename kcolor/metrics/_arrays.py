"""What the photo metrics take: uint8 RGB, or float RGB in ``[0, 1]``; one image or a batch.

Private helpers shared by :mod:`kcolor.metrics.pixel`, :mod:`kcolor.metrics.chroma`,
:mod:`kcolor.metrics.vivid`, :mod:`kcolor.metrics.semantic` and
:mod:`kcolor.metrics.headline`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kcolor import color

#: Chroma below this (Lab ab units) is float noise, not colour.
AB_NOISE = 0.01


def as_255(img, name="image") -> np.ndarray:
    """uint8 RGB, or float RGB in [0, 1], to float64 in [0, 255]."""
    a = np.asarray(img)
    if a.ndim not in (3, 4) or a.shape[-1] != 3:
        raise ValueError(f"{name} must be RGB (H, W, 3) or (N, H, W, 3), got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float64)
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name} must be uint8 or float in [0, 1], got {a.dtype}")
    if a.size and (a.min() < -1e-6 or a.max() > 1 + 1e-6):
        raise ValueError(
            f"{name} is float with values in [{a.min():.3g}, {a.max():.3g}]; float RGB must be in "
            "[0, 1] (pass uint8 for 0-255)"
        )
    return np.clip(a.astype(np.float64), 0.0, 1.0) * 255.0


def pair(pred, truth):
    """``pred`` and ``truth`` as float64 in [0, 255], checked to have one shape."""
    p, t = as_255(pred, "pred"), as_255(truth, "truth")
    if p.shape != t.shape:
        raise ValueError(f"pred and truth differ in shape: {p.shape} vs {t.shape}")
    return p, t


def per_image(values: np.ndarray, single: bool):
    """A float for one image, the ``(N,)`` array for a batch."""
    return float(values[0]) if single else values


def batched(a):
    """``(batch, single)``: a batch of one for one image ``(H, W, 3)``."""
    return (a[None], True) if a.ndim == 3 else (a, False)


def lab(img255: np.ndarray) -> np.ndarray:
    """CIELAB of float RGB in [0, 255] (float64, skimage's conventions)."""
    return color.rgb_to_lab(img255 / 255.0)


def images(values, name) -> list[np.ndarray]:
    """A batch array or a sequence of (possibly differently sized) images -> list of (H, W, 3)."""
    if isinstance(values, np.ndarray) or not isinstance(values, Sequence):
        a = np.asarray(values)
        if a.ndim == 3:
            return [a]
        if a.ndim == 4:
            return list(a)
        raise ValueError(f"{name} must be images (H, W, 3), (N, H, W, 3) or a list of them")
    out = []
    for im in values:
        out.extend(images(im, name))
    if not out:
        raise ValueError(f"{name} holds no images")
    return out
