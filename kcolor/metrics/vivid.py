"""Vivid recall: do the strongly coloured parts of a photo come out strongly coloured, and right?

A true pixel is *strongly coloured* when its Lab chroma is at least
:data:`VIVID_TRUTH_CHROMA` (30); it is *recalled* when the colourised pixel has chroma at
least :data:`VIVID_PRED_CHROMA` (15) and a hue within :data:`VIVID_HUE_DEGREES` (45) of the
truth's. It says what PSNR hides: whether red caps, yellow rafts and blue birds come out
red, yellow and blue.

Example:
    >>> import numpy as np
    >>> from kcolor.metrics.vivid import vivid_counts
    >>> red = np.zeros((4, 4, 3), np.uint8); red[..., 0] = 200
    >>> vivid_counts(red, red), vivid_counts(np.full_like(red, 90), red)
    ((16, 16), (0, 16))
"""

from __future__ import annotations

import numpy as np

from kcolor.metrics._arrays import batched, lab, pair

__all__ = [
    "VIVID_HUE_DEGREES",
    "VIVID_PRED_CHROMA",
    "VIVID_TRUTH_CHROMA",
    "vivid_counts",
    "vivid_recall",
]

#: Vivid recall: a true pixel is strongly coloured at this Lab chroma or more ...
VIVID_TRUTH_CHROMA = 30.0
#: ... and recalled when the output there has at least this chroma ...
VIVID_PRED_CHROMA = 15.0
#: ... and a hue within this many degrees of the truth's.
VIVID_HUE_DEGREES = 45.0


def vivid_counts(pred, truth):
    """``(hits, strong)`` per image: the vivid-recall counts of :func:`vivid_recall`.

    Returns:
        Two ``(N,)`` int arrays (or two ints for one image): the strongly coloured true
        pixels, and those of them the output colours vividly with the right hue.
    """
    p, t = pair(pred, truth)
    (p, single), (t, _) = batched(p), batched(t)
    hits, strong = vivid_counts_of_ab(lab(p)[..., 1:], lab(t)[..., 1:])
    if single:
        return int(hits[0]), int(strong[0])
    return hits, strong


def vivid_counts_of_ab(ab_p: np.ndarray, ab_t: np.ndarray):
    """:func:`vivid_counts` of Lab ab batches ``(N, H, W, 2)``: two ``(N,)`` int64 arrays."""
    chroma_p = np.hypot(ab_p[..., 0], ab_p[..., 1])
    chroma_t = np.hypot(ab_t[..., 0], ab_t[..., 1])
    strong = chroma_t >= VIVID_TRUTH_CHROMA
    hue_p = np.arctan2(ab_p[..., 1], ab_p[..., 0])
    hue_t = np.arctan2(ab_t[..., 1], ab_t[..., 0])
    gap = np.abs(np.angle(np.exp(1j * (hue_p - hue_t))))  # wrapped to [0, pi]
    hit = strong & (chroma_p >= VIVID_PRED_CHROMA) & (gap <= np.deg2rad(VIVID_HUE_DEGREES))
    return hit.sum(axis=(1, 2)).astype(np.int64), strong.sum(axis=(1, 2)).astype(np.int64)


def vivid_recall(preds, truths) -> float:
    """The share of strongly coloured true pixels that the output colours vividly and right.

    Pooled over all pixels of all photos; a grey output scores 0, a perfect one 1; ``nan``
    when no true pixel is strongly coloured.

    Example:
        >>> import numpy as np
        >>> red = np.zeros((1, 4, 4, 3), np.uint8); red[..., 0] = 200
        >>> vivid_recall(red, red), vivid_recall(np.full_like(red, 90), red)
        (1.0, 0.0)
    """
    hits, strong = vivid_counts(preds, truths)
    total = int(np.sum(strong))
    return float(np.sum(hits)) / total if total else float("nan")
