"""Semantic agreement: does a frozen classifier see the same thing in colour as in truth?

The classifier (a *judge*, e.g. :func:`kcolor.evaluation.judges.get_judge`) is any callable taking
float RGB ``(N, H, W, 3)`` in ``[0, 1]`` and returning class scores ``(N, C)``.

Example:
    >>> import numpy as np
    >>> from kcolor.metrics.semantic import top1_classes
    >>> def judge(rgb):  # "class" = the dominant RGB channel
    ...     return rgb.mean(axis=(1, 2))
    >>> red = np.zeros((1, 4, 4, 3), np.uint8); red[..., 0] = 200
    >>> top1_classes(judge, red).tolist()
    [0]
"""

from __future__ import annotations

import numpy as np

from kcolor.metrics._arrays import as_255, images

__all__ = ["semantic_agreement", "top1_classes"]


def top1_classes(judge, batch) -> np.ndarray:
    """The judge's top-1 class of each photo of a uint8 RGB batch ``(N, H, W, 3)``: ``(N,)``."""
    probs = np.asarray(judge(np.asarray(batch).astype(np.float32) / 255.0))
    return probs.argmax(axis=-1)


def semantic_agreement(preds, truths, embedder) -> float:
    """Share of photos on which a frozen classifier sees the same thing in colour as in truth.

    The classifier's top-1 class on each colourised photo is compared with its top-1 class
    on the true photo. :func:`kcolor.evaluation.judges.get_judge` builds the ImageNet classifiers
    ``kcolor evaluate --semantic`` uses.

    Args:
        preds, truths: batches or lists of RGB images (paired, sizes may differ).
        embedder: the classifier: a callable taking float RGB ``(N, H, W, 3)`` in
            ``[0, 1]`` and returning class scores ``(N, C)``.

    Returns:
        The share of agreeing photos, in ``[0, 1]``.

    Example:
        >>> import numpy as np
        >>> red = np.zeros((4, 4, 3), np.uint8); red[..., 0] = 200
        >>> blue = red[..., ::-1]
        >>> semantic_agreement([red, blue], [red, red], lambda x: x.mean(axis=(1, 2)))
        0.5
    """
    if not callable(embedder):
        raise TypeError(f"embedder must be a callable classifier, got {embedder!r}")
    p, t = images(preds, "preds"), images(truths, "truths")
    if len(p) != len(t):
        raise ValueError(f"{len(p)} predictions but {len(t)} truths")
    agree = 0
    for a, b in zip(p, t, strict=True):
        if a.shape != b.shape:
            raise ValueError(f"pred and truth differ in shape: {a.shape} vs {b.shape}")
        batch = np.stack([as_255(a), as_255(b)]).astype(np.float32) / 255.0
        probs = np.asarray(embedder(batch))
        agree += int(np.argmax(probs[0]) == np.argmax(probs[1]))
    return agree / len(p)
