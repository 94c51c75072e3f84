"""The grey version of a photo: the same lightness L, no colour (``a = b = 0``), as uint8 RGB.

This is what every kcolor model sees and the grey baseline every score is compared with
(``kcolor evaluate``, the held-out scores of ``kcolor train``, the examples and tools).

Example:
    >>> import numpy as np
    >>> from kcolor.io.grey import grey_version
    >>> grey_version(np.array([[[255, 0, 0], [0, 0, 255]]], np.uint8)).tolist()
    [[[127, 127, 127], [76, 76, 76]]]
"""

from __future__ import annotations

import numpy as np

from kcolor import color

__all__ = ["grey_version"]


def grey_version(rgb) -> np.ndarray:
    """The grey photo the models see, and the grey baseline: same L, ``a = b = 0``, uint8.

    ``kcolor.color.rgb_to_gray`` rounded to uint8. A uint8 photo is converted through
    ``rgb_to_lab``'s exact 256-entry table; a float one (in ``[0, 1]``) with float powers,
    which rounds to another uint8 level for about 2 colours in 100,000.

    Args:
        rgb: one photo ``(H, W, 3)`` or a batch ``(N, H, W, 3)``, uint8 or float in
            ``[0, 1]`` (numpy or torch).

    Returns:
        uint8 numpy array of the same shape, its three channels equal up to rounding (a
        float error may put one channel a level off).

    Example:
        >>> import numpy as np
        >>> grey_version(np.full((1, 1, 3), 255, np.uint8)).tolist()
        [[[255, 255, 255]]]
    """
    if not hasattr(rgb, "detach"):  # numpy-like (torch tensors go to rgb_to_gray as they are)
        rgb = np.asarray(rgb)
        if not (rgb.dtype == np.uint8 or np.issubdtype(rgb.dtype, np.floating)):
            rgb = rgb.astype(np.uint8)
    return color.to_uint8(color.rgb_to_gray(rgb))


def grey_if_grey(photo: np.ndarray) -> np.ndarray:
    """An RGB photo whose three channels are equal, as ``(H, W)``; anything else as it is.

    Example:
        >>> import numpy as np
        >>> grey_if_grey(np.full((2, 3, 3), 7, np.uint8)).shape
        (2, 3)
    """
    if photo.ndim == 3:
        r = photo[..., 0]
        if np.array_equal(r, photo[..., 1]) and np.array_equal(r, photo[..., 2]):
            return np.ascontiguousarray(r)
    return photo
