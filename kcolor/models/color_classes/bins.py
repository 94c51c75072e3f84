"""The ab bins of colour classification: the in-gamut grid, nearest bins and soft targets.

Following Zhang, Isola and Efros, *Colorful Image Colorization* (ECCV 2016), the ab plane
is cut into a grid of bins (side ``grid=10`` ab units) and only the bins whose centre is a
displayable sRGB colour for some lightness are kept (:func:`gamut_bins`). Each true ab is
spread over its 5 nearest bin centres with Gaussian weights (sigma 5 ab units) that sum to 1
(:func:`soft_encode`). Plain numpy.

Example:
    >>> from kcolor.models.color_classes.bins import gamut_bins, nearest_bin
    >>> bins = gamut_bins()
    >>> bins.shape, bins[nearest_bin([[0.0, 0.0], [3.0, -4.0]], bins)].tolist()
    ((229, 2), [[0.0, 0.0], [0.0, 0.0]])
"""

from __future__ import annotations

import functools

import numpy as np

from kcolor import color

__all__ = [
    "DEFAULT_GRID",
    "DEFAULT_NEIGHBOURS",
    "DEFAULT_SIGMA",
    "gamut_bins",
    "nearest_bin",
    "soft_encode",
]

DEFAULT_GRID = 10
DEFAULT_NEIGHBOURS = 5
DEFAULT_SIGMA = 5.0


@functools.lru_cache(maxsize=8)
def _gamut_bins(grid: float, l_steps: int) -> np.ndarray:
    half = int(np.ceil(128.0 / grid)) * grid
    axis = np.arange(-half, half + grid / 2, grid, dtype=np.float64)
    a, b = np.meshgrid(axis, axis, indexing="ij")
    ab = np.stack([a.ravel(), b.ravel()], -1)
    lightness = np.linspace(0.0, color.L_MAX, l_steps)
    lab = np.concatenate(
        [
            np.broadcast_to(lightness[:, None, None], (l_steps, len(ab), 1)),
            np.broadcast_to(ab[None], (l_steps, len(ab), 2)),
        ],
        -1,
    )
    rgb = color.lab_to_rgb(lab, clip=False)
    inside = ((rgb >= 0.0) & (rgb <= 1.0)).all(-1).any(0)
    return ab[inside].astype(np.float32)


def gamut_bins(grid: float = DEFAULT_GRID, l_steps: int = 1001) -> np.ndarray:
    """The ab bin centres ``(Q, 2)`` (in ab units) whose colour is in the sRGB gamut.

    Centres lie on the multiples of ``grid`` in ``[-130, 130]``; a centre is kept when
    ``kcolor.color.lab_to_rgb(clip=False)`` maps it into ``[0, 1]`` for at least one of
    ``l_steps`` lightnesses evenly spaced in ``[0, 100]``. Row-major in (a, b).

    Args:
        grid: bin side in ab units.
        l_steps: lightnesses sampled.

    Returns:
        float32 array ``(Q, 2)``; ``Q == 229`` for ``grid=10``.
    """
    return _gamut_bins(float(grid), int(l_steps)).copy()


def as_bins(bins) -> np.ndarray:
    """Bin centres as float32 ``(Q, 2)``: ``bins`` checked, or :func:`gamut_bins` for ``None``.

    Args:
        bins: ab centres ``(Q, 2)`` in ab units (any array-like), or ``None``.

    Returns:
        float32 array ``(Q, 2)``.

    Raises:
        ValueError: ``bins`` is not of shape ``(Q, 2)``.

    Example:
        >>> as_bins([[0, 0], [10, 0]]).dtype, len(as_bins(None))
        (dtype('float32'), 229)
    """
    if bins is None:
        return gamut_bins()
    bins = np.asarray(bins, np.float32)
    if bins.ndim != 2 or bins.shape[1] != 2:
        raise ValueError(f"bins must be ab centres of shape (Q, 2), got shape {bins.shape}")
    return bins


def squared_distances(ab: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Squared ab distances ``(P, Q)`` of ``P`` ab pairs (any leading shape) to ``Q`` centres.

    Example:
        >>> squared_distances(np.array([[3.0, 4.0]]), np.zeros((1, 2), np.float32)).tolist()
        [[25.0]]
    """
    ab = ab.reshape(-1, 2).astype(np.float32)
    return ((ab**2).sum(-1, keepdims=True) - 2.0 * ab @ bins.T + (bins**2).sum(-1)[None]).clip(
        min=0.0
    )


def nearest_bin(ab, bins=None) -> np.ndarray:
    """Index of the nearest bin centre of each ab pair (ab units, ``(..., 2)``) -> ``(...)``."""
    ab = np.asarray(ab, np.float32)
    bins = as_bins(bins)
    return squared_distances(ab, bins).argmin(-1).reshape(ab.shape[:-1])


def soft_encode(ab, bins=None, neighbours: int = DEFAULT_NEIGHBOURS, sigma: float = DEFAULT_SIGMA):
    """Soft one-hot targets ``(..., Q)`` of ab pairs (ab units, ``(..., 2)``).

    Each pair gets Gaussian weights ``exp(-d**2 / (2 sigma**2))`` on its ``neighbours``
    nearest bin centres, normalised to sum 1; 0 elsewhere.
    """
    ab = np.asarray(ab, np.float32)
    bins = as_bins(bins)
    d2 = squared_distances(ab, bins)
    idx = np.argpartition(d2, neighbours - 1, axis=-1)[:, :neighbours]
    near = np.take_along_axis(d2, idx, -1)
    w = np.exp(-(near - near.min(-1, keepdims=True)) / (2.0 * sigma**2))
    w /= w.sum(-1, keepdims=True)
    out = np.zeros(d2.shape, np.float32)
    np.put_along_axis(out, idx, w.astype(np.float32), -1)
    return out.reshape(ab.shape[:-1] + (len(bins),))
