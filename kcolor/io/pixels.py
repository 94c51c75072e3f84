"""Pixels of any kind to RGB uint8: every PIL mode, and arrays of the usual shapes and dtypes.

* :func:`pil_to_rgb` - a loaded ``PIL.Image`` of any mode to ``(H, W, 3)`` uint8,
  transparency composited onto white, 16-bit and float data scaled;
* :func:`array_to_rgb` - an array (or CPU torch tensor) ``(H, W)``, ``(H, W, 1)``,
  ``(H, W, 3)`` or ``(H, W, 4)`` to ``(H, W, 3)`` uint8.

:func:`kcolor.io.as_rgb` and :func:`kcolor.io.load_image` are built on them.

Example:
    >>> import numpy as np
    >>> from kcolor.io.pixels import array_to_rgb
    >>> array_to_rgb(np.zeros((2, 3), bool)).shape
    (2, 3, 3)
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["array_to_rgb", "composite_on_white", "grey_array", "grey_to_rgb", "pil_to_rgb"]


def grey_array(im: Image.Image) -> np.ndarray:
    """A loaded ``L`` image's pixels as a new, writable ``(H, W)`` uint8 array, fast.

    ``np.asarray(im)`` goes through ``im.tobytes()``, which packs the pixels line by line
    through Pillow's raw encoder: 14 ms for 12 MP on a 2-core EPYC, as long as decoding the
    JPEG. Here Pillow copies the pixels straight into a numpy array that it maps
    (``Image.frombuffer`` shares an ``L`` buffer): 0.6 ms. Spot checks of the corners and
    centre guard the trick; if they or any step fail, the plain copy is taken.

    Args:
        im: a loaded ``PIL.Image`` in mode ``L``.

    Returns:
        ``(H, W)`` uint8, equal to ``np.asarray(im)``.

    Example:
        >>> from PIL import Image
        >>> grey_array(Image.frombytes("L", (3, 2), bytes(range(6)))).tolist()
        [[0, 1, 2], [3, 4, 5]]
    """
    if im.mode != "L":
        raise ValueError(f"grey_array expects an L image, got mode {im.mode}")
    w, h = im.size
    out = np.empty((h, w), np.uint8)
    if out.size:
        try:
            view = Image.frombuffer("L", (w, h), out, "raw", "L", 0, 1)
            view.im.paste(im.im, (0, 0, w, h))
            spots = [(0, 0), (w - 1, h - 1), (w // 2, h // 2), (w - 1, 0), (0, h - 1)]
            if all(out[y, x] == im.getpixel((x, y)) for x, y in spots):
                return out
        except Exception:  # a Pillow without the shared buffer or core paste
            pass
    return np.array(im, dtype=np.uint8)


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """RGBA onto a white background.

    Args:
        rgba: ``(H, W, 4)`` uint8.

    Returns:
        ``(H, W, 3)`` uint8, each pixel ``rgb * a + 255 * (1 - a)``, rounded.

    Example:
        >>> import numpy as np
        >>> composite_on_white(np.array([[[0, 0, 0, 0], [0, 0, 0, 255]]], np.uint8)).tolist()
        [[[255, 255, 255], [0, 0, 0]]]
    """
    rgb = rgba[..., :3].astype(np.uint16)
    a = rgba[..., 3:4].astype(np.uint16)
    out = (rgb * a + 255 * (255 - a) + 127) // 255
    return out.astype(np.uint8)


def grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    """A grey image ``(H, W)`` as RGB ``(H, W, 3)``: the one channel three times.

    Args:
        grey: ``(H, W)`` array of any dtype.

    Returns:
        A new ``(H, W, 3)`` array of the same dtype.

    Example:
        >>> import numpy as np
        >>> grey_to_rgb(np.array([[7]], np.uint8)).tolist()
        [[[7, 7, 7]]]
    """
    return np.repeat(grey[..., None], 3, axis=-1)


def _scale_wide(a: np.ndarray) -> np.ndarray:
    """16/32-bit integer or float grey data to uint8, scaled sensibly."""
    if np.issubdtype(a.dtype, np.floating):
        a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 1.0)
        if lo < 0.0 or hi > 1.0:  # not in [0, 1]: stretch what is there
            a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    a = a.astype(np.int64)
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    if lo >= 0 and hi <= 255:  # 32-bit container holding 8-bit values
        return a.astype(np.uint8)
    if lo >= 0 and hi <= 65535:  # 16-bit values
        return ((a + 128) // 257).astype(np.uint8)
    return np.clip(np.rint((a - lo) * (255.0 / max(hi - lo, 1))), 0, 255).astype(np.uint8)


def pil_to_rgb(im: Image.Image) -> np.ndarray:
    """A loaded PIL image of any mode to RGB uint8, transparency onto white.

    16-bit grey is scaled by ``1/257``; 32-bit integer and float grey is scaled to fit
    (float data in ``[0, 1]`` is taken as it is).

    Args:
        im: a loaded ``PIL.Image`` (``1 L LA P PA RGB RGBA CMYK I;16 I F`` ...).

    Returns:
        A new ``(H, W, 3)`` uint8 array.

    Example:
        >>> from PIL import Image
        >>> pil_to_rgb(Image.new("LA", (1, 1), (0, 0))).tolist()
        [[[255, 255, 255]]]
    """
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im, dtype=np.uint8).copy()
    if mode == "L":
        return grey_to_rgb(grey_array(im))
    if mode == "1":
        return grey_to_rgb(np.asarray(im.convert("L"), dtype=np.uint8))
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode in ("P", "L", "RGB") and "transparency" in im.info
    ):
        return composite_on_white(np.asarray(im.convert("RGBA"), dtype=np.uint8))
    if mode.startswith("I;16"):
        a = np.asarray(im).astype(np.uint16)
        return grey_to_rgb(np.clip((a.astype(np.uint32) + 128) // 257, 0, 255).astype(np.uint8))
    if mode in ("I", "F"):
        return grey_to_rgb(_scale_wide(np.asarray(im)))
    try:  # P, CMYK, YCbCr, RGBX, HSV, ...
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except Exception:
        return composite_on_white(np.asarray(im.convert("RGBA"), dtype=np.uint8))


def array_to_rgb(image) -> np.ndarray:
    """An image array to RGB uint8 ``(H, W, 3)``.

    Arrays may be ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` (alpha goes onto
    white), of dtype uint8, bool, uint16 (scaled by 1/257), or float in ``[0, 1]``.
    Torch tensors on the CPU work as arrays.

    Args:
        image: the array.

    Returns:
        ``(H, W, 3)`` uint8, C-contiguous (a new array unless ``image`` already was one).

    Raises:
        ValueError: for any other shape, or floats outside ``[0, 1]``.

    Example:
        >>> import numpy as np
        >>> array_to_rgb(np.array([[0.0, 1.0]]))[0].tolist()
        [[0, 0, 0], [255, 255, 255]]
    """
    if hasattr(image, "detach"):  # torch tensor
        image = image.detach().cpu().numpy()
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise ValueError(
            "as_rgb expects an image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); "
            f"got shape {a.shape}"
        )
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"as_rgb got an empty image of shape {a.shape}")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)):
            raise ValueError("as_rgb got a float image with NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < -1e-3 or hi > 1.0 + 1e-3:
            raise ValueError(
                f"float images must be in [0, 1]; got values in [{lo:g}, {hi:g}]"
                + (" (divide by 255?)" if hi > 1.5 else "")
            )
        a = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer):
        if a.dtype != np.uint8:
            lo, hi = int(a.min()), int(a.max())
            if lo < 0 or hi > 255:
                raise ValueError(
                    f"integer images must be in [0, 255] (or uint16); got {a.dtype} in [{lo}, {hi}]"
                )
            a = a.astype(np.uint8)
    else:
        raise ValueError(f"as_rgb cannot use arrays of dtype {a.dtype}")
    if a.ndim == 2:
        return grey_to_rgb(a)
    if a.shape[-1] == 4:
        return composite_on_white(a)
    return np.ascontiguousarray(a)
