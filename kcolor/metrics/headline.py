"""The headline scores of a colouriser on a set of photos: the ONE definition.

``kcolor evaluate`` (:mod:`kcolor.evaluation`, streaming batches of photos) and the
held-out scores of a training run (:mod:`kcolor.training`, one set in memory) both report
these numbers, and both compute them here, in two steps:

1. :func:`image_scores`: per-image values of a batch (:data:`IMAGE_SCORES`), given the
   originals' :func:`truth_scores`;
2. :func:`summarize_scores`: the set's :data:`HEADLINE_METRICS` from all the per-image
   values:

   * ``psnr``, ``ssim``, ``auc``, ``colorfulness``: means of the per-image values (NaN
     values, the SSIM of photos under 11 x 11, left out);
   * ``delta_colorfulness``: ``|mean CF(colourised) - mean CF(originals)|``;
   * ``chroma_ratio``: mean Lab chroma of the colourised photos over the originals' (the
     mean of per-image means: photos of one size weigh alike); ``nan`` when the originals
     are grey;
   * ``vivid_recall``: vivid hits over strongly coloured true pixels, pooled over all photos
     (:mod:`kcolor.metrics.vivid`).

:func:`headline_scores` does both for photos in memory, a chunk at a time.

Example:
    >>> import numpy as np
    >>> from kcolor.metrics import headline_scores
    >>> truth = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    >>> scores = headline_scores(truth, truth)
    >>> scores["auc"], scores["chroma_ratio"], scores["vivid_recall"]
    (1.0, 1.0, 1.0)
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from kcolor.metrics._arrays import AB_NOISE, as_255, lab, pair
from kcolor.metrics.chroma import chroma_of_ab, chroma_ratio, colorfulness, colorfulness255
from kcolor.metrics.pixel import SSIM_MIN_SIDE, auc, auc_of_ab, psnr, psnr255, ssim, ssim255
from kcolor.metrics.vivid import vivid_counts_of_ab, vivid_recall

__all__ = [
    "HEADLINE_METRICS",
    "IMAGE_SCORES",
    "evaluate_pair",
    "headline_scores",
    "image_scores",
    "summarize_scores",
    "truth_scores",
]

#: The set-level scores of :func:`summarize_scores`, in table order.
HEADLINE_METRICS = (
    "psnr",
    "ssim",
    "auc",
    "colorfulness",
    "delta_colorfulness",
    "chroma_ratio",
    "vivid_recall",
)
#: The per-image scores of :func:`image_scores`, in table order.
IMAGE_SCORES = (
    "psnr",
    "ssim",
    "auc",
    "colorfulness",
    "delta_colorfulness",
    "chroma",
    "chroma_ratio",
    "vivid_hits",
    "vivid_pixels",
)


def _batch(images, name) -> np.ndarray:
    a = as_255(images, name)
    if a.ndim != 4:
        raise ValueError(f"{name} must be a batch (N, H, W, 3), got shape {a.shape}")
    return a


def truth_scores(truth) -> dict[str, np.ndarray]:
    """What :func:`image_scores` needs of the originals: per-image colourfulness and chroma.

    Compute it once per batch when scoring several colourisers on the same photos.

    Args:
        truth: the originals, uint8 RGB ``(N, H, W, 3)`` (or float in ``[0, 1]``).

    Returns:
        ``{"colorfulness_truth": (N,), "chroma_truth": (N,)}`` float arrays.

    Example:
        >>> import numpy as np
        >>> stats = truth_scores(np.full((2, 4, 4, 3), 90, np.uint8))
        >>> sorted(stats), stats["colorfulness_truth"].tolist()
        (['chroma_truth', 'colorfulness_truth'], [0.0, 0.0])
    """
    t = _batch(truth, "truth")
    return {
        "colorfulness_truth": colorfulness255(t),
        "chroma_truth": chroma_of_ab(lab(t)[..., 1:]),
    }


def image_scores(pred, truth, *, truth_stats=None) -> dict[str, np.ndarray]:
    """Per-image scores of a batch of colourised photos against their originals.

    Args:
        pred: colourised photos, uint8 RGB ``(N, H, W, 3)`` (or float in ``[0, 1]``).
        truth: the originals, same shape.
        truth_stats: :func:`truth_scores` of ``truth``, when already computed.

    Returns:
        ``{score: (N,) array}`` for :data:`IMAGE_SCORES`, in that order (``ssim`` is ``nan``
        for photos under 11 x 11; ``chroma_ratio`` is ``nan`` for a grey original;
        ``vivid_hits`` and ``vivid_pixels`` are int64 counts).

    Example:
        >>> import numpy as np
        >>> truth = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
        >>> scores = image_scores(truth, truth)
        >>> scores["auc"].tolist(), scores["chroma_ratio"].tolist()
        ([1.0, 1.0], [1.0, 1.0])
    """
    if np.shape(pred) != np.shape(truth) or np.ndim(pred) != 4:
        raise ValueError(
            "pred and truth must be batches of one shape, got "
            f"{np.shape(pred)} and {np.shape(truth)}"
        )
    p, t = pair(pred, truth)
    stats = truth_stats if truth_stats is not None else truth_scores(truth)
    ab_p, ab_t = lab(p)[..., 1:], lab(t)[..., 1:]
    cf = colorfulness255(p)
    chroma = chroma_of_ab(ab_p)
    chroma_t = np.asarray(stats["chroma_truth"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(chroma_t > AB_NOISE, chroma / chroma_t, np.nan)
    if min(p.shape[1:3]) >= SSIM_MIN_SIDE:
        ssim_values = ssim255(p, t)
    else:
        ssim_values = np.full(len(p), np.nan)
    hits, strong = vivid_counts_of_ab(ab_p, ab_t)
    return {
        "psnr": psnr255(p, t),
        "ssim": ssim_values,
        "auc": auc_of_ab(ab_p, ab_t),
        "colorfulness": cf,
        "delta_colorfulness": np.abs(cf - np.asarray(stats["colorfulness_truth"])),
        "chroma": chroma,
        "chroma_ratio": ratio,
        "vivid_hits": hits,
        "vivid_pixels": strong,
    }


def _mean(values) -> float:
    """The mean of the values that are not NaN (``nan`` when none is), without a warning."""
    values = np.asarray(values, np.float64)
    if values.size == 0 or np.isnan(values).all():
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmean(values))


def summarize_scores(scores, truth_stats) -> dict[str, float]:
    """The set's :data:`HEADLINE_METRICS` from the per-image scores of all its photos.

    Args:
        scores: ``{score: per-image values}`` as :func:`image_scores` gives them (for a
            set scored in batches, each score's values of all batches, concatenated; a
            DataFrame's columns will do).
        truth_stats: ``{"colorfulness_truth", "chroma_truth"}`` per-image values of the same
            photos, as :func:`truth_scores` gives them.

    Returns:
        ``{metric: float}`` for :data:`HEADLINE_METRICS`, in that order.

    Example:
        >>> import numpy as np
        >>> truth = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
        >>> grey = np.full_like(truth, 128)
        >>> out = summarize_scores(image_scores(grey, truth), truth_scores(truth))
        >>> out["chroma_ratio"] < 0.01, out["vivid_recall"]
        (True, 0.0)
    """
    cf = _mean(scores["colorfulness"])
    chroma_truth = _mean(truth_stats["chroma_truth"])
    strong = float(np.sum(np.asarray(scores["vivid_pixels"], np.float64)))
    return {
        "psnr": _mean(scores["psnr"]),
        "ssim": _mean(scores["ssim"]),
        "auc": _mean(scores["auc"]),
        "colorfulness": cf,
        "delta_colorfulness": abs(cf - _mean(truth_stats["colorfulness_truth"])),
        # All photos have one size: the mean of per-image mean chromas is the pooled one.
        "chroma_ratio": (
            _mean(scores["chroma"]) / chroma_truth if chroma_truth > AB_NOISE else math.nan
        ),
        # pooled over pixels: the strongly coloured pixels of all photos count alike
        "vivid_recall": (
            float(np.sum(np.asarray(scores["vivid_hits"], np.float64))) / strong
            if strong
            else math.nan
        ),
    }


def headline_scores(preds, truths, *, batch_size: int = 32) -> dict[str, float]:
    """The :data:`HEADLINE_METRICS` of colourised photos against their originals.

    :func:`image_scores` a chunk of ``batch_size`` photos at a time (memory stays small),
    then :func:`summarize_scores`. The same numbers as ``kcolor evaluate`` gives for the same
    photos.

    Args:
        preds: colourised photos, uint8 RGB ``(N, H, W, 3)`` (or a list of one size).
        truths: the originals, same shape.
        batch_size: photos per chunk.

    Returns:
        ``{metric: float}`` for :data:`HEADLINE_METRICS`.

    Example:
        >>> import numpy as np
        >>> truth = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
        >>> round(headline_scores(np.full_like(truth, 128), truth)["colorfulness"], 6)
        0.0
    """
    preds, truths = np.asarray(preds), np.asarray(truths)
    if preds.shape != truths.shape or preds.ndim != 4 or not len(preds):
        raise ValueError(
            f"preds and truths must be batches of one shape, got {preds.shape} and {truths.shape}"
        )
    parts, stats = [], []
    for i in range(0, len(preds), max(1, int(batch_size))):
        t_stats = truth_scores(truths[i : i + batch_size])
        parts.append(
            image_scores(preds[i : i + batch_size], truths[i : i + batch_size], truth_stats=t_stats)
        )
        stats.append(t_stats)
    scores = {k: np.concatenate([p[k] for p in parts]) for k in IMAGE_SCORES}
    truth_stats = {k: np.concatenate([s[k] for s in stats]) for k in stats[0]}
    return summarize_scores(scores, truth_stats)


def evaluate_pair(pred, truth) -> dict[str, float]:
    """Every per-image metric of one colourised photo against its original.

    Args:
        pred, truth: uint8 RGB ``(H, W, 3)`` of the same size.

    Returns:
        ``{"psnr", "ssim", "auc", "colorfulness", "colorfulness_truth",
        "delta_colorfulness", "chroma_ratio", "vivid_recall"}`` as floats (``ssim`` is ``nan``
        for images under 11 x 11).

    Example:
        >>> import numpy as np
        >>> red = np.zeros((4, 4, 3), np.uint8); red[..., 0] = 200
        >>> out = evaluate_pair(red, red)
        >>> out["auc"], out["vivid_recall"], math.isnan(out["ssim"])
        (1.0, 1.0, True)
    """
    p, _ = pair(pred, truth)
    if p.ndim != 3:
        raise ValueError(f"evaluate_pair takes one image (H, W, 3), got {p.shape}")
    cf_p, cf_t = colorfulness(pred), colorfulness(truth)
    return {
        "psnr": psnr(pred, truth),
        "ssim": ssim(pred, truth) if min(p.shape[:2]) >= SSIM_MIN_SIDE else math.nan,
        "auc": auc(pred, truth),
        "colorfulness": cf_p,
        "colorfulness_truth": cf_t,
        "delta_colorfulness": abs(cf_p - cf_t),
        "chroma_ratio": chroma_ratio(pred, truth),
        "vivid_recall": vivid_recall(pred, truth),
    }
