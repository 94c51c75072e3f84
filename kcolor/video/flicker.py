"""Measuring flicker: how much a colour clip's colours jump between consecutive frames.

:func:`flicker` is the mean CIELAB ``|Δab|`` (Euclidean, in ab units) between each frame
and the previous one warped onto it along the optical flow of the grey frames, on the
pixels where the warped lightness agrees (``|ΔL| <`` ``threshold``): there the same surface
is seen twice, so any change of colour is flicker. The flow is OpenCV's Farneback, a
different algorithm from the DIS flow the ``"flow"`` stabiliser uses, so the measure does
not share that method's mistakes. Pairs where less than ``min_agree`` of the pixels agree
(a scene cut) are left out.
"""

from __future__ import annotations

import numpy as np

from kcolor import color
from kcolor.video.stabilize import warp

__all__ = ["farneback_flow", "flicker"]


def farneback_flow(reference: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """Dense Farneback flow from grey uint8 ``reference`` into ``moving`` (``(H, W, 2)``)."""
    import cv2

    return cv2.calcOpticalFlowFarneback(reference, moving, None, 0.5, 4, 21, 3, 5, 1.1, 0)


def _shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def flicker(
    frames,
    greys=None,
    *,
    threshold: float = 2.0,
    max_side: int = 480,
    min_agree: float = 0.2,
) -> float:
    """The mean ``|Δab|`` between consecutive colour frames along the grey frames' flow.

    Args:
        frames: uint8 RGB ``(H, W, 3)`` colour frames, in order.
        greys: the uint8 grey ``(H, W)`` frames the flow is computed on (default: the
            colour frames' own lightness).
        threshold: the largest ``|ΔL|`` (CIELAB, 0-100) for a pixel to count.
        max_side: frames are measured at most this size (area-shrunk) for speed.
        min_agree: pairs with fewer agreeing pixels than this fraction are skipped.

    Returns:
        The mean over the frame pairs of the mean ``|Δab|`` on agreeing pixels (``nan`` if
        no pair counts).

    Example:
        >>> import numpy as np
        >>> still = [np.full((24, 32, 3), (150, 90, 60), np.uint8)] * 3
        >>> flicker(still)
        0.0
    """
    frames = [_shrink(np.asarray(f)[..., :3], max_side) for f in frames]
    labs = [color.rgb_to_lab(f).astype(np.float32) for f in frames]
    if greys is None:
        greys = [np.clip(lab[..., 0] * 2.55 + 0.5, 0, 255).astype(np.uint8) for lab in labs]
    else:
        greys = [_shrink(np.asarray(g, np.uint8), max_side) for g in greys]
    values = []
    for t in range(1, len(frames)):
        flow = farneback_flow(greys[t], greys[t - 1])
        warped, inside = warp(labs[t - 1], flow)
        agree = inside & (np.abs(warped[..., 0] - labs[t][..., 0]) < threshold)
        if agree.mean() < min_agree:
            continue
        dab = np.hypot(*(warped[..., 1:] - labs[t][..., 1:]).transpose(2, 0, 1))
        values.append(float(dab[agree].mean()))
    return float(np.mean(values)) if values else float("nan")
