"""Pixel metrics of a colourised photo against its original: PSNR, SSIM and AuC.

Each takes uint8 RGB (or float RGB in ``[0, 1]``), one image ``(H, W, 3)`` or a batch
``(N, H, W, 3)``, and gives one value per image: a float for one image, a ``(N,)`` array
for a batch. Average the per-image values over a set of photos, as most colourisation
papers do (:func:`kcolor.metrics.headline_scores` does).

Example:
    >>> import numpy as np
    >>> from kcolor.metrics.pixel import psnr
    >>> a = np.zeros((16, 16, 3), np.uint8)
    >>> b = a.copy(); b[0, 0, 0] = 255
    >>> round(psnr(b, a), 2)      # MSE = 255² / (16·16·3): 10 log10(768)
    28.85
"""

from __future__ import annotations

import numpy as np

from kcolor.metrics._arrays import AB_NOISE, batched, lab, pair, per_image

__all__ = ["AUC_MAX_THRESHOLD", "auc", "psnr", "ssim"]

#: Thresholds of :func:`auc`: 0, 1, ..., 150 ab units (Zhang et al. 2016).
AUC_MAX_THRESHOLD = 150
#: SSIM's Gaussian window has 11 taps: smaller images have no SSIM.
SSIM_MIN_SIDE = 11


def psnr(pred, truth):
    """Peak signal-to-noise ratio in dB, on RGB with data range 255.

    Convention: ``10 log10(255² / MSE)`` with the MSE over all pixels and all
    three RGB channels of one image (not on the Y channel, not over a whole
    set); ``inf`` for identical images.

    Args:
        pred, truth: uint8 RGB ``(H, W, 3)`` or ``(N, H, W, 3)``.

    Returns:
        A float for one image, a ``(N,)`` array for a batch.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((2, 8, 8, 3), np.uint8)
        >>> psnr(a, a).tolist()
        [inf, inf]
    """
    p, t = pair(pred, truth)
    (p, single), (t, _) = batched(p), batched(t)
    return per_image(psnr255(p, t), single)


def psnr255(p, t) -> np.ndarray:
    """:func:`psnr` per image of float batches in [0, 255]."""
    mse = np.mean((p - t) ** 2, axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(255.0**2 / mse)


def ssim(pred, truth):
    """Structural similarity on RGB, the literature's convention.

    ``skimage.metrics.structural_similarity`` with a Gaussian window
    (``sigma = 1.5``, 11 taps), ``use_sample_covariance=False``,
    ``data_range=255``, averaged over the three channels (Wang et al. 2004).
    Images must be at least 11 x 11.

    Returns:
        A float for one image, a ``(N,)`` array for a batch.

    Example:
        >>> import numpy as np
        >>> a = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
        >>> round(ssim(a, a), 6)
        1.0
    """
    p, t = pair(pred, truth)
    if min(p.shape[-3:-1]) < SSIM_MIN_SIDE:
        raise ValueError(f"ssim needs images of at least 11 x 11 pixels, got {p.shape[-3:-1]}")
    (p, single), (t, _) = batched(p), batched(t)
    return per_image(ssim255(p, t), single)


def ssim255(p, t) -> np.ndarray:
    """:func:`ssim` per image of float batches in [0, 255] (at least 11 x 11)."""
    from skimage.metrics import structural_similarity

    return np.array(
        [
            structural_similarity(
                a,
                b,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                channel_axis=-1,
                data_range=255,
            )
            for a, b in zip(p, t, strict=True)
        ]
    )


def auc(pred, truth, max_threshold: int = AUC_MAX_THRESHOLD):
    """Zhang et al.'s raw accuracy (AuC): area under the cumulative ab-error curve.

    The share of pixels whose ab error (Euclidean, in Lab ab units) is at most
    ``t``, averaged over the integer thresholds ``t = 0, 1, ..., 150``. 1 for
    a perfect colourisation; in ``[0, 1]``. Errors are compared with a
    tolerance of 0.01 ab units, so that round-off (grey RGB converts to ab up
    to 0.005 away from 0, in skimage too) does not fail the ``t = 0`` threshold.

    Returns:
        A float for one image, a ``(N,)`` array for a batch.

    Example:
        >>> import numpy as np
        >>> red = np.zeros((4, 4, 3), np.uint8); red[..., 0] = 200
        >>> auc(red, red), auc(np.full_like(red, 60), red) < 0.6
        (1.0, True)
    """
    p, t = pair(pred, truth)
    (p, single), (t, _) = batched(p), batched(t)
    return per_image(auc_of_ab(lab(p)[..., 1:], lab(t)[..., 1:], max_threshold), single)


def auc_of_ab(ab_pred, ab_truth, max_threshold: int = AUC_MAX_THRESHOLD) -> np.ndarray:
    """:func:`auc` per image of Lab ab batches ``(N, H, W, 2)`` (for callers that have them)."""
    err = np.linalg.norm(ab_pred - ab_truth, axis=-1)
    # A pixel of error e lies within t for the thresholds ceil(e) .. max: count them.
    # Errors below 0.01 ab units are round-off (grey RGB is up to 0.005 off ab = 0): count them as 0.
    n_thresholds = max_threshold + 1
    within = np.clip(n_thresholds - np.ceil(err - AB_NOISE), 0, n_thresholds)
    return within.mean(axis=(1, 2)) / n_thresholds
