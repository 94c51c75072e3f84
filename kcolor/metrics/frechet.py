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

__all__ = ["frechet_distance", "trace_sqrt_product"]


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
    a, b = a - a.mean(0), b - b.mean(0)
    trace_a = np.einsum("ij,ij->", a, a) / (len(a) - 1)  # Tr(S_a), without forming S_a
    trace_b = np.einsum("ij,ij->", b, b) / (len(b) - 1)
    value = mu @ mu + trace_a + trace_b - 2.0 * trace_sqrt_product(a, b)
    return float(max(value, 0.0))


def trace_sqrt_product(a, b) -> float:
    """``Tr((S_a S_b)^(1/2))`` of the covariances of centred ``(n, d)`` features, exactly.

    ``S_a S_b`` is similar to the positive semi-definite ``S_a^(1/2) S_b S_a^(1/2)``, so
    the trace is the sum of the square roots of its eigenvalues. With fewer photos than
    dimensions (kcolor's case: a few hundred photos, 1,280 features) those are the singular
    values of ``a b^T / sqrt((n_a - 1)(n_b - 1))``, an ``(n_a, n_b)`` matrix: milliseconds,
    where scipy's ``sqrtm`` of the ``(d, d)`` product took 6-15 s and, on such rank-deficient
    products, lost digits (pytorch-fid's formula). Otherwise ``S_a^(1/2)`` comes from
    ``eigh``.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(30, 5)); x -= x.mean(0)
        >>> s = np.cov(x, rowvar=False)
        >>> round(trace_sqrt_product(x, x), 9) == round(float(np.trace(s)), 9)
        True
    """
    na, nb, d = len(a), len(b), a.shape[1]
    if min(na, nb) <= d:
        return float(np.linalg.svd(a @ b.T, compute_uv=False).sum() / np.sqrt((na - 1) * (nb - 1)))
    sa, sb = a.T @ a / (na - 1), b.T @ b / (nb - 1)
    w, v = np.linalg.eigh(sa)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(root @ sb @ root), 0.0, None)).sum())
