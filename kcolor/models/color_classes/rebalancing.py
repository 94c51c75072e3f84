"""Class rebalancing: weights that make rare, saturated colours count more.

Each pixel's cross-entropy is weighted by ``w[q] ~ ((1 - lam) p[q] + lam / Q) ** -1`` for
its nearest bin ``q``, where ``p`` is the training set's ab distribution over the bins,
smoothed by a Gaussian (sigma 5); ``w`` is normalised so that its expectation over the
training pixels is 1, ``sum(p * w) == 1`` (:func:`fit_class_weights`). This pulls against the
brownish mean that plain regression converges to.

Example:
    >>> import numpy as np
    >>> from kcolor.models.color_classes.rebalancing import fit_class_weights
    >>> ab = np.random.default_rng(0).normal(0.0, 0.1, (4, 8, 8, 2)).astype("float32")
    >>> w = fit_class_weights(ab)
    >>> w.shape, w.dtype
    ((229,), dtype('float32'))
"""

from __future__ import annotations

import keras
import numpy as np

from kcolor import color
from kcolor.models.color_classes.bins import DEFAULT_SIGMA, as_bins, nearest_bin

__all__ = ["DEFAULT_LAMBDA", "ab_histogram", "class_weights_from_counts", "fit_class_weights"]

DEFAULT_LAMBDA = 0.5


def _encoded_ab_batches(data, max_batches):
    """Yield encoded ab arrays ``(..., 2)`` from an array, a sequence of arrays or (x, y) batches."""
    if isinstance(data, np.ndarray) or hasattr(data, "shape"):
        yield np.asarray(keras.ops.convert_to_numpy(data))[..., -2:]
        return
    if not (hasattr(data, "__getitem__") and hasattr(data, "__len__")):
        raise TypeError(
            f"expected encoded ab arrays or a dataset of (x, y) batches, got {type(data).__name__}"
        )
    count = len(data) if max_batches is None else min(len(data), int(max_batches))
    for i in range(count):
        item = data[i]
        if isinstance(item, (tuple, list)):
            item = item[1]
        yield np.asarray(keras.ops.convert_to_numpy(item))[..., -2:]


def ab_histogram(data, bins=None, max_batches: int | None = None) -> np.ndarray:
    """Counts ``(Q,)`` of nearest bins over encoded ab data.

    Args:
        data: encoded ab ``(N, H, W, 2)`` (or packed ``(..., 3)``), a sequence of such
            arrays, or a dataset of ``(x, y)`` batches (``y`` encoded ab).
        bins: bin centres (default :func:`gamut_bins`).
        max_batches: read at most this many items of a sequence or dataset.
    """
    bins = as_bins(bins)
    counts = np.zeros(len(bins), np.float64)
    for ab in _encoded_ab_batches(data, max_batches):
        idx = nearest_bin(color.decode_ab(np.asarray(ab, np.float32)), bins)
        counts += np.bincount(idx.ravel(), minlength=len(bins))
    if counts.sum() == 0:
        raise ValueError("ab_histogram: the data holds no pixels")
    return counts


def fit_class_weights(
    data, bins=None, lam: float = DEFAULT_LAMBDA, sigma: float = DEFAULT_SIGMA, max_batches=None
) -> np.ndarray:
    """Class-rebalancing weights ``(Q,)`` float32 from the training data's ab distribution.

    ``p`` is the nearest-bin histogram of the data, normalised and smoothed by a Gaussian
    of ``sigma`` ab units over the bin centres; the weights are
    ``((1 - lam) * p + lam / Q) ** -1``, scaled so that ``sum(p * w) == 1`` (mean 1 over
    the training pixels).

    Args:
        data: see :func:`ab_histogram`.
        bins: bin centres (default :func:`gamut_bins`).
        lam: mixing with the uniform distribution (0: full rebalancing, 1: none).
        sigma: smoothing of the histogram in ab units.
        max_batches: read at most this many batches.
    """
    bins = as_bins(bins)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    counts = ab_histogram(data, bins, max_batches)
    return class_weights_from_counts(counts, bins, lam, sigma)


def class_weights_from_counts(counts, bins=None, lam=DEFAULT_LAMBDA, sigma=DEFAULT_SIGMA):
    """:func:`fit_class_weights` from a histogram ``(Q,)`` already counted."""
    bins = as_bins(bins)
    p = np.asarray(counts, np.float64) / np.sum(counts)
    if sigma and sigma > 0:
        d2 = ((bins[:, None, :] - bins[None, :, :]) ** 2).sum(-1)
        kernel = np.exp(-d2 / (2.0 * sigma**2))
        p = kernel @ p
        p /= p.sum()
    w = 1.0 / ((1.0 - lam) * p + lam / len(bins))
    w /= np.sum(p * w)
    return w.astype(np.float32)
