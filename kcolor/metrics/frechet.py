"""The Fréchet distance between two sets of feature vectors (FID's formula).

Example:
    >>> import numpy as np
    >>> from kcolor.metrics.frechet import frechet_distance
    >>> x = np.random.default_rng(0).normal(size=(200, 4))
    >>> round(frechet_distance(x, x), 6), round(frechet_distance(x, x + 1.0), 3)
    (0.0, 4.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["frechet_distance"]


def frechet_distance(features_a, features_b) -> float:
    """The Fréchet distance between two sets of feature vectors, as FID computes it.

    ``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` of the Gaussians fitted to each
    set (``(n, d)`` arrays). kcolor feeds it EfficientNet-Lite1's pooled features (not
    Inception-v3's, so the value is not comparable with published FIDs); with fewer
    photos than dimensions it is biased upwards: compare values at the same ``n`` only.

    Args:
        features_a, features_b: ``(n, d)`` arrays, ``n >= 2``, one ``d``.

    Returns:
        The distance, a float ``>= 0``.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(1).normal(size=(50, 3))
        >>> frechet_distance(x, 2 * x) > 0
        True
    """

    a = np.asarray(features_a, np.float64)
    b = np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two (n >= 2, d) feature arrays of one d, got {a.shape}, {b.shape}")
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = _sqrtm(sa @ sb)
    if not np.isfinite(root).all():  # nearly singular: a small ridge, as pytorch-fid does
        eps = np.eye(len(sa)) * 1e-6
        root = _sqrtm((sa + eps) @ (sb + eps))
    value = mu @ mu + np.trace(sa) + np.trace(sb) - 2.0 * np.trace(np.real(root))
    return float(max(value, 0.0))


def _sqrtm(matrix):
    """scipy's matrix square root, quietly: SciPy 1.16+ deprecates ``disp`` and returns the
    root alone (older versions returned ``(root, error)`` with ``disp=False``)."""
    import warnings

    from scipy import linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        root = linalg.sqrtm(matrix)
    return root[0] if isinstance(root, tuple) else root
