"""Reading photos: every PIL mode to RGB uint8, safely, with errors that name the file.

* :func:`load_image` - any image file to an ``(H, W, 3)`` uint8 RGB array.
* :func:`image_size` - ``(height, width)`` from the header alone.
* :func:`as_rgb` - a path, a ``PIL.Image`` or an array to uint8 RGB.

What :func:`load_image` guarantees:

* every PIL mode (``1 L LA P PA RGB RGBA CMYK I;16 I F`` ...) becomes RGB uint8; 16-bit
  images are scaled by ``1/257``, float images are taken as ``[0, 1]`` (min-max scaled
  when they fall outside it);
* transparency (alpha, or a palette's transparent index) is composited onto **white**;
* the EXIF orientation tag is applied; animated images give their first frame;
* with ``metadata={}``, the photo's EXIF (date taken, camera ...; the Orientation tag
  removed, since the pixels are turned upright, and no embedded thumbnail) and its ICC
  profile are put into that dict, for :func:`kcolor.io.save_image` to write into the output;
* decompression bombs are refused from the header, before any pixel is decoded: the
  limit is ``max_pixels``, else :data:`DEFAULT_MAX_PIXELS` (env ``KCOLOR_MAX_PIXELS``);
* truncated and corrupt files raise :class:`kcolor.errors.ImageReadError` (kcolor never
  sets ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES``);
* a file whose extension lies about its content (PNG data named ``.jpg``, like the
  article's alpha photos) is **loaded** - its content wins - and an
  :class:`ExtensionMismatchWarning` names the file and its real format. Pass
  ``strict_extension=True`` to get an :class:`~kcolor.errors.ImageReadError` instead.

Example:
    >>> import os, tempfile
    >>> from PIL import Image
    >>> from kcolor.io.reading import image_size, load_image
    >>> path = os.path.join(tempfile.mkdtemp(), "grey.png")
    >>> Image.new("LA", (6, 4), (0, 0)).save(path)  # transparent black
    >>> image_size(path), load_image(path)[0, 0].tolist()
    ((4, 6), [255, 255, 255])
"""

from __future__ import annotations

import os
import stat
import threading
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from kcolor.errors import ImageReadError
from kcolor.io.formats import _EXT_FORMAT, _FORMAT_EXTENSIONS, ExtensionMismatchWarning
from kcolor.io.metadata import metadata_of
from kcolor.io.pixels import array_to_rgb, grey_array, pil_to_rgb

__all__ = ["DEFAULT_MAX_PIXELS", "as_rgb", "image_size", "load_image"]


def _env_max_pixels() -> int:
    value = os.environ.get("KCOLOR_MAX_PIXELS")
    if value:
        try:
            return int(float(value))
        except ValueError:
            warnings.warn(f"ignoring KCOLOR_MAX_PIXELS={value!r}: not a number", stacklevel=2)
    return 2 * 89_478_485  # PIL's own hard limit: about 179 megapixels


#: Pixel limit used when ``max_pixels`` is not given (env ``KCOLOR_MAX_PIXELS`` overrides it).
DEFAULT_MAX_PIXELS = _env_max_pixels()

_OPEN_LOCK = threading.Lock()


# --------------------------------------------------------------------- reading
def _open_file(path: str):
    """Open ``path`` for reading, turning OS errors into ImageReadError."""
    if os.path.islink(path) and not os.path.exists(path):
        raise ImageReadError(path, "broken symbolic link (its target does not exist)")
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed by the caller)
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a directory, not an image file") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except OSError as e:
        raise ImageReadError(path, f"cannot open: {e.strerror or e}") from None
    try:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ImageReadError(path, "is not a regular file")
        if st.st_size == 0:
            raise ImageReadError(path, "empty file (0 bytes)")
    except BaseException:
        f.close()
        raise
    return f


def _resolve_limit(max_pixels) -> int | None:
    if max_pixels is None:
        return DEFAULT_MAX_PIXELS
    if max_pixels <= 0:
        return None  # 0 or negative: no limit of ours (PIL's own hard limit still applies)
    return int(max_pixels)


def _open_image(path: str, f, limit: int | None, strict_extension: bool):
    """PIL.Image.open with the size guard and the extension check; reads only the header."""
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            # Our own limit decides below; PIL's soft-limit warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(f)
    except Image.DecompressionBombError as e:
        raise ImageReadError(path, f"refused as a possible decompression bomb: {e}") from None
    except UnidentifiedImageError:
        raise ImageReadError(
            path, "not an image file PIL can identify (corrupt, or another kind of file)"
        ) from None
    except Exception as e:  # PIL raises many types on garbage headers
        raise ImageReadError(path, f"corrupt image header ({type(e).__name__}: {e})") from None
    w, h = im.size
    if limit is not None and w * h > limit:
        im.close()
        raise ImageReadError(
            path,
            f"image is {w}x{h} = {w * h:,} pixels, over the limit of {limit:,} "
            "(possible decompression bomb; raise max_pixels or KCOLOR_MAX_PIXELS to allow it)",
        )
    ext = os.path.splitext(path)[1].lower()
    fmt = im.format or "?"
    honest = _FORMAT_EXTENSIONS.get(fmt)
    if ext in _EXT_FORMAT and honest is not None and ext not in honest:
        msg = f"extension {ext!r} but the content is {fmt}"
        if strict_extension:
            im.close()
            raise ImageReadError(path, msg)
        warnings.warn(f"{path}: {msg}; loading it as {fmt}", ExtensionMismatchWarning, stacklevel=3)
    return im


def image_size(path, *, max_pixels=None, strict_extension: bool = False) -> tuple[int, int]:
    """``(height, width)`` of an image from its header, without decoding the pixels.

    Args:
        path: the image file.
        max_pixels, strict_extension: as :func:`load_image`.

    Returns:
        ``(height, width)`` as stored (before any EXIF rotation).

    Raises:
        kcolor.errors.ImageReadError: as :func:`load_image` does for header problems.

    Example:
        >>> image_size("photo.jpg")  # doctest: +SKIP
        (768, 1024)
    """
    path = os.fspath(path)
    with _open_file(path) as f:
        im = _open_image(path, f, _resolve_limit(max_pixels), strict_extension)
        w, h = im.size
        im.close()
    return h, w


def load_image(
    path,
    *,
    max_pixels: int | None = None,
    strict_extension: bool = False,
    draft_size: tuple[int, int] | int | None = None,
    keep_grey: bool = False,
    metadata: dict | None = None,
) -> np.ndarray:
    """Read an image file as RGB uint8 ``(H, W, 3)``.

    Args:
        path: the image file.
        max_pixels: refuse images with more pixels than this, checked from the header before
            decoding. ``None`` uses :data:`DEFAULT_MAX_PIXELS`; ``0`` disables kcolor's limit
            (PIL's own hard limit, ``2 * PIL.Image.MAX_IMAGE_PIXELS``, still applies).
        strict_extension: raise instead of warning when the extension names another format
            than the content (e.g. PNG data named ``.jpg``).
        draft_size: optional ``(height, width)`` (or one int) the caller will shrink the image
            to anyway. JPEG files are then decoded at a reduced scale (1/2 .. 1/8, by the
            decoder's DCT scaling) that stays at least this big; much faster for thumbnails.
            Other formats ignore it.
        keep_grey: return a grey image (PIL modes ``L`` and ``1``, without transparency)
            as ``(H, W)`` uint8 instead of repeating it into three equal channels.
        metadata: a dict that receives the photo's ``"exif"`` (bytes: date taken, camera
            ..., with the Orientation tag removed, since the pixels returned are upright,
            and without the embedded thumbnail) and ``"icc_profile"`` (bytes), each only
            when the file has one; pass both on to :func:`kcolor.io.save_image`.

    Returns:
        A new ``np.uint8`` array ``(H, W, 3)``, with EXIF orientation applied and any
        transparency composited onto white.

    Raises:
        kcolor.errors.ImageReadError: naming the file and the reason: missing, a directory,
            permission denied, empty, not an image, truncated or corrupt, over the pixel limit,
            or (with ``strict_extension``) a lying extension.

    Example:
        >>> from kcolor.io import load_image
        >>> rgb = load_image("photo.jpg")  # doctest: +SKIP
    """
    path = os.fspath(path)
    limit = _resolve_limit(max_pixels)
    with _open_file(path) as f:
        im = _open_image(path, f, limit, strict_extension)
        try:
            if draft_size is not None and im.format in ("JPEG", "MPO"):
                dh, dw = (draft_size, draft_size) if isinstance(draft_size, int) else draft_size
                # draft keeps the image >= the requested size; EXIF rotation may swap axes.
                side = max(int(dh), int(dw))
                im.draft(im.mode if im.mode != "CMYK" else "CMYK", (side, side))
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)
            im.load()  # full decode now: truncated data raises here
            ImageOps.exif_transpose(im, in_place=True)
            if metadata is not None:
                metadata.update(metadata_of(im))
            if keep_grey and im.mode in ("L", "1") and "transparency" not in im.info:
                rgb = grey_array(im if im.mode == "L" else im.convert("L"))
            else:
                rgb = pil_to_rgb(im)
        except ImageReadError:
            raise
        except Image.DecompressionBombError as e:
            raise ImageReadError(path, f"refused as a possible decompression bomb: {e}") from None
        except MemoryError:
            raise ImageReadError(path, "not enough memory to decode it") from None
        except Exception as e:
            reason = str(e) or type(e).__name__
            if "truncated" in reason or isinstance(e, EOFError):
                reason = f"truncated image data ({reason})"
            else:
                reason = f"corrupt image data ({type(e).__name__}: {reason})"
            raise ImageReadError(path, reason) from None
        finally:
            im.close()
    return rgb


def as_rgb(image, *, max_pixels: int | None = None) -> np.ndarray:
    """A path, a ``PIL.Image`` or an array to RGB uint8 ``(H, W, 3)``.

    Arrays may be ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` (alpha goes onto
    white), of dtype uint8, bool, uint16 (scaled by 1/257), or float in ``[0, 1]``.
    Torch tensors on the CPU work as arrays (see :func:`kcolor.io.pixels.array_to_rgb`).

    Args:
        image: an image file's path, a ``PIL.Image`` (its EXIF orientation is applied) or an
            array.
        max_pixels: the pixel limit for a path, as in :func:`load_image`.

    Returns:
        ``(H, W, 3)`` uint8.

    Raises:
        ValueError: for any other shape, or floats outside ``[0, 1]``.
        kcolor.errors.ImageReadError: for an unreadable path.

    Example:
        >>> import numpy as np
        >>> as_rgb(np.full((2, 2, 1), 0.5)).shape, as_rgb(np.full((2, 2, 1), 0.5))[0, 0].tolist()
        ((2, 2, 3), [128, 128, 128])
    """
    if isinstance(image, (str, os.PathLike)):
        return load_image(image, max_pixels=max_pixels)
    if isinstance(image, Image.Image):
        return pil_to_rgb(ImageOps.exif_transpose(image))
    return array_to_rgb(image)


def as_photo(image) -> np.ndarray:
    """Anything :func:`as_rgb` takes, or a path, as uint8 grey ``(H, W)`` or RGB
    ``(H, W, 3)``: what the colourisers (Keras and fast) take in.

    Example:
        >>> import numpy as np
        >>> as_photo(np.zeros((4, 5), np.uint8)).shape
        (4, 5)
    """
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 2:
        if image.shape[0] == 0 or image.shape[1] == 0:
            raise ValueError(f"got an empty image of shape {image.shape}")
        return np.ascontiguousarray(image)
    if isinstance(image, (str, os.PathLike)):
        return load_image(image, keep_grey=True)
    return as_rgb(image)
