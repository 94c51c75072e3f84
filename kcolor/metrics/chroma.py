"""How much colour: colourfulness (Hasler & Süsstrunk) and Lab chroma, per image and per set.

Per image: :func:`colorfulness` and :func:`chroma` (a float for one image, a ``(N,)`` array
for a batch). Per *set* of photos (batches or lists, sizes may differ):
:func:`delta_colorfulness`, :func:`mean_chroma` and :func:`chroma_ratio`.

Example:
    >>> import numpy as np
    >>> from kcolor.metrics.chroma import chroma_ratio, colorfulness
    >>> grey = np.full((8, 8, 3), 128, np.uint8)
    >>> red = np.zeros((8, 8, 3), np.uint8); red[..., 0] = 200
    >>> colorfulness(grey), chroma_ratio(grey, red) < 0.01
    (0.0, True)
"""

from __future__ import annotations

import numpy as np

from kcolor.metrics._arrays import AB_NOISE, as_255, batched, images, lab, per_image

__all__ = ["chroma", "chroma_ratio", "colorfulness", "delta_colorfulness", "mean_chroma"]


def colorfulness(image):
    """Hasler & Süsstrunk's (2003) colourfulness of sRGB on a 0-255 scale.

    ``rg = R - G``, ``yb = (R + G) / 2 - B``;
    ``CF = sqrt(std(rg)² + std(yb)²) + 0.3 sqrt(mean(rg)² + mean(yb)²)``
    (population standard deviations over the image's pixels). 0 for grey.

    Returns:
        A float for one image, a ``(N,)`` array for a batch.

    Example:
        >>> import numpy as np
        >>> red = np.zeros((4, 4, 3), np.uint8); red[..., 0] = 100
        >>> round(colorfulness(red), 6)   # 0.3 * sqrt(100² + 50²)
        33.54102
    """
    a, single = batched(as_255(image))
    return per_image(colorfulness255(a), single)


def colorfulness255(a: np.ndarray) -> np.ndarray:
    """:func:`colorfulness` per image of a float batch in [0, 255]."""
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    std = np.sqrt(rg.var(axis=(1, 2)) + yb.var(axis=(1, 2)))
    mean = np.sqrt(rg.mean(axis=(1, 2)) ** 2 + yb.mean(axis=(1, 2)) ** 2)
    return std + 0.3 * mean


def chroma(image):
    """Mean Lab chroma ``sqrt(a² + b²)`` of each image's pixels.

    Returns:
        A float for one image, a ``(N,)`` array for a batch.

    Example:
        >>> import numpy as np
        >>> red = np.zeros((2, 4, 4, 3), np.uint8); red[..., 0] = 200
        >>> (chroma(red) > 80).tolist(), chroma(np.full((4, 4, 3), 90, np.uint8)) < 0.01
        ([True, True], True)
    """
    a, single = batched(as_255(image))
    return per_image(chroma_of_ab(lab(a)[..., 1:]), single)


def chroma_of_ab(ab: np.ndarray) -> np.ndarray:
    """:func:`chroma` per image of a Lab ab batch ``(N, H, W, 2)``."""
    return np.hypot(ab[..., 0], ab[..., 1]).mean(axis=(1, 2))


def delta_colorfulness(preds, truths) -> float:
    """``|mean CF(preds) - mean CF(truths)|`` over a set of photos (:func:`colorfulness`).

    Args:
        preds, truths: batches or lists of RGB images (sizes may differ).

    Example:
        >>> import numpy as np
        >>> red = np.zeros((4, 4, 3), np.uint8); red[..., 0] = 100
        >>> round(delta_colorfulness(np.zeros_like(red), red), 6)
        33.54102
    """
    cp = np.mean([colorfulness(im) for im in images(preds, "preds")])
    ct = np.mean([colorfulness(im) for im in images(truths, "truths")])
    return float(abs(cp - ct))


def mean_chroma(values) -> float:
    """Mean Lab chroma ``sqrt(a² + b²)`` over all pixels of all images of ``values``."""
    total, count = 0.0, 0
    for im in images(values, "images"):
        ab = lab(as_255(im))[..., 1:]
        total += float(np.linalg.norm(ab, axis=-1).sum())
        count += ab.shape[0] * ab.shape[1]
    return total / count


def chroma_ratio(preds, truths) -> float:
    """Mean Lab chroma of ``preds`` over mean Lab chroma of ``truths``.

    1 means as saturated as the originals; MSE-trained colourisers tend to
    give well below 1 (desaturated, "mostly brown"). Pooled over all pixels of
    each set. ``nan`` when the truths are all grey (mean chroma under 0.01).
    """
    den = mean_chroma(truths)
    return mean_chroma(preds) / den if den > AB_NOISE else float("nan")
