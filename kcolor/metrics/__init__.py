"""Colourisation metrics: colour MNIST accuracies (Keras metrics) and photo metrics (numpy).

Colour MNIST (:mod:`kcolor.metrics.mnist`; usable in ``model.compile(metrics=[...])`` and
as plain functions):

* :class:`DigitColorAccuracy` / :func:`digit_color_accuracy`: share of digits painted with
  the right palette colour;
* :class:`PixelColorAccuracy` / :func:`pixel_color_accuracy`: share of digit pixels whose
  predicted ab is within 8 ab units of the truth.

Photos (plain functions on uint8 RGB, one image ``(H, W, 3)`` or a batch ``(N, H, W, 3)``;
float input is taken to be RGB in ``[0, 1]``):

* :mod:`kcolor.metrics.pixel`: :func:`psnr`, :func:`ssim`, :func:`auc` (Zhang et al.'s raw
  accuracy), one value per image;
* :mod:`kcolor.metrics.chroma`: :func:`colorfulness` (Hasler & Süsstrunk) and
  :func:`chroma` per image; :func:`delta_colorfulness`, :func:`mean_chroma` and
  :func:`chroma_ratio` per *set* of photos;
* :mod:`kcolor.metrics.vivid`: :func:`vivid_counts` per image, :func:`vivid_recall` per set;
* :mod:`kcolor.metrics.semantic`: :func:`semantic_agreement` of a frozen classifier and
  :func:`top1_classes`;
* :mod:`kcolor.metrics.frechet`: :func:`frechet_distance` of two sets of features;
* :mod:`kcolor.metrics.headline`: the one definition of the headline scores that
  ``kcolor evaluate`` and a training run's held-out scores report:
  :func:`image_scores` (per image), :func:`summarize_scores` (per set),
  :func:`headline_scores` (both, for photos in memory), and :func:`evaluate_pair`.

Example:
    >>> import numpy as np
    >>> from kcolor import metrics
    >>> a = np.zeros((16, 16, 3), np.uint8)
    >>> b = a.copy(); b[0, 0, 0] = 255
    >>> round(metrics.psnr(b, a), 2)      # MSE = 255² / (16·16·3): 10 log10(768)
    28.85
"""

from __future__ import annotations

from kcolor.metrics.chroma import (
    chroma,
    chroma_ratio,
    colorfulness,
    delta_colorfulness,
    mean_chroma,
)
from kcolor.metrics.frechet import frechet_distance
from kcolor.metrics.headline import (
    HEADLINE_METRICS,
    IMAGE_SCORES,
    evaluate_pair,
    headline_scores,
    image_scores,
    summarize_scores,
    truth_scores,
)
from kcolor.metrics.mnist import (
    PIXEL_THRESHOLD,
    DigitColorAccuracy,
    PixelColorAccuracy,
    digit_color_accuracy,
    pixel_color_accuracy,
)
from kcolor.metrics.pixel import AUC_MAX_THRESHOLD, auc, psnr, ssim
from kcolor.metrics.semantic import semantic_agreement, top1_classes
from kcolor.metrics.vivid import (
    VIVID_HUE_DEGREES,
    VIVID_PRED_CHROMA,
    VIVID_TRUTH_CHROMA,
    vivid_counts,
    vivid_recall,
)

__all__ = [
    "AUC_MAX_THRESHOLD",
    "HEADLINE_METRICS",
    "IMAGE_SCORES",
    "PIXEL_THRESHOLD",
    "VIVID_HUE_DEGREES",
    "VIVID_PRED_CHROMA",
    "VIVID_TRUTH_CHROMA",
    "DigitColorAccuracy",
    "PixelColorAccuracy",
    "auc",
    "chroma",
    "chroma_ratio",
    "colorfulness",
    "delta_colorfulness",
    "digit_color_accuracy",
    "evaluate_pair",
    "frechet_distance",
    "headline_scores",
    "image_scores",
    "mean_chroma",
    "pixel_color_accuracy",
    "psnr",
    "semantic_agreement",
    "ssim",
    "summarize_scores",
    "top1_classes",
    "truth_scores",
    "vivid_counts",
    "vivid_recall",
]
