"""Joining steady ab to each frame's own lightness, without dither.

:func:`kcolor.color.join_lightness` dithers ab onto its table's grid (steps of
:data:`kcolor.color.AB_STEP`) with an ordered pattern fixed to the image. On a still photo
that hides the grid; in a clip the pattern stays put while the picture moves, so every
moving pixel changes colour by up to a step from frame to frame: on the benchmark clips it
alone measured 0.5 of flicker (|Δab|), more than the stabilised colours' own.
:func:`join_grey` rounds ab to the nearest step instead (at most 1 ab unit off, below what
the eye tells apart), so a steady colour stays exactly steady and moves with the picture.
The same table (:func:`kcolor.color.grey_ab_table`, through
:func:`kcolor.color.lab_to_rgb_keep_l`) keeps each pixel's L (to uint8 rounding).
"""

from __future__ import annotations

import numpy as np

from kcolor import color

__all__ = ["join_grey"]


def join_grey(grey: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """A colour frame from a grey frame and low-resolution ab, ab rounded (no dither).

    Args:
        grey: uint8 ``(H, W)``: the frame's grey picture (its L is kept).
        ab: float ``(h, w, 2)`` CIELAB a and b at any size (resized bilinearly).

    Returns:
        uint8 RGB ``(H, W, 3)``.

    Example:
        >>> import numpy as np
        >>> rgb = join_grey(np.full((4, 6), 128, np.uint8), np.full((2, 3, 2), 20.0))
        >>> rgb.shape, bool(rgb[0, 0, 0] > rgb[0, 0, 2])
        ((4, 6, 3), True)
    """
    import cv2

    grey = np.asarray(grey)
    if grey.dtype != np.uint8 or grey.ndim != 2 or grey.size == 0:
        raise ValueError(f"join_grey expects uint8 (H, W), got {grey.dtype} {grey.shape}")
    H, W = grey.shape
    ab = np.asarray(ab, np.float32)
    # ab at exactly the size join_lightness works at (half the frame's each way, as
    # yuv420p stores chroma; the full size for odd sides) needs no resizing there, and ab
    # on its table's grid gets no dither: every pixel is one exact look-up.
    k = 2 if H % 2 == 0 and W % 2 == 0 and H >= 2 * ab.shape[0] and W >= 2 * ab.shape[1] else 1
    size = (W // k, H // k)
    if ab.shape[:2] != size[::-1]:
        ab = cv2.resize(ab, size, interpolation=cv2.INTER_LINEAR)
    step = np.float32(color.AB_STEP)
    ab = np.rint((ab + 128.0) / step) * step - 128.0
    return color.join_lightness(grey, np.clip(ab, -128.0, 126.0 - step))
