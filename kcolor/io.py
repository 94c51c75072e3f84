"""Reading and writing photos: every PIL mode to RGB uint8, safely, with errors that name the file.

* :func:`load_image` - any image file to an ``(H, W, 3)`` uint8 RGB array.
* :func:`as_rgb` - a path, a ``PIL.Image`` or an array to uint8 RGB.
* :func:`save_image` - write atomically; never overwrites unless asked.
* :func:`find_images` / :func:`iter_images` - expand files and folders; stream images one at a time.

What :func:`load_image` guarantees:

* every PIL mode (``1 L LA P PA RGB RGBA CMYK I;16 I F`` ...) becomes RGB uint8; 16-bit
  images are scaled by ``1/257``, float images are taken as ``[0, 1]`` (min-max scaled
  when they fall outside it);
* transparency (alpha, or a palette's transparent index) is composited onto **white**;
* the EXIF orientation tag is applied; animated images give their first frame;
* with ``metadata={}``, the photo's EXIF (date taken, camera ...; the Orientation tag
  removed, since the pixels are turned upright, and no embedded thumbnail) and its ICC
  profile are put into that dict, for :func:`save_image` to write into the output;
* decompression bombs are refused from the header, before any pixel is decoded: the
  limit is ``max_pixels``, else :data:`DEFAULT_MAX_PIXELS` (env ``KCOLOR_MAX_PIXELS``);
* truncated and corrupt files raise :class:`kcolor.errors.ImageReadError` (kcolor never
  sets ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES``);
* a file whose extension lies about its content (PNG data named ``.jpg``, like the
  article's alpha photos) is **loaded** - its content wins - and an
  :class:`ExtensionMismatchWarning` names the file and its real format. Pass
  ``strict_extension=True`` to get an :class:`~kcolor.errors.ImageReadError` instead.

Example:
    >>> import numpy as np, tempfile, os
    >>> from kcolor import io
    >>> path = os.path.join(tempfile.mkdtemp(), "red.png")
    >>> _ = io.save_image(path, np.full((4, 6, 3), (255, 0, 0), np.uint8))
    >>> io.load_image(path).shape
    (4, 6, 3)
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import threading
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from kcolor.errors import ImageReadError, ImageWriteError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "METADATA_FORMATS",
    "ExtensionMismatchWarning",
    "ImageStream",
    "as_rgb",
    "atomic_path",
    "atomic_write_bytes",
    "find_images",
    "holds_metadata",
    "image_size",
    "iter_images",
    "load_image",
    "save_image",
]

# --------------------------------------------------------------------- constants
#: Extensions that :func:`find_images` picks up inside folders (lower case, with the dot).
IMAGE_EXTENSIONS = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".png",
        ".bmp",
        ".dib",
        ".gif",
        ".tif",
        ".tiff",
        ".webp",
        ".ppm",
        ".pgm",
        ".pbm",
        ".pnm",
    }
)

# PIL format name -> the extensions that honestly announce it.
_FORMAT_EXTENSIONS = {
    "JPEG": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "MPO": {".jpg", ".jpeg", ".jpe", ".jfif", ".mpo"},  # multi-picture JPEG from cameras
    "PNG": {".png"},
    "GIF": {".gif"},
    "BMP": {".bmp", ".dib"},
    "DIB": {".bmp", ".dib"},
    "TIFF": {".tif", ".tiff"},
    "WEBP": {".webp"},
    "PPM": {".ppm", ".pgm", ".pbm", ".pnm"},
}
_EXT_FORMAT = {".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG"}
_EXT_FORMAT.update({".png": "PNG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF"})
_EXT_FORMAT.update({".bmp": "BMP", ".gif": "GIF"})

#: Formats :func:`save_image` writes EXIF and ICC profiles into (PIL writes neither into BMP).
METADATA_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "TIFF"})

_EXIF_IFD, _GPS_IFD, _INTEROP_POINTER = 0x8769, 0x8825, 0xA005

#: The IFD0 tags carried into outputs: those describing the photo (camera, date, author,
#: resolution, Windows XP fields, rating) and the Exif and GPS sub-IFDs. Not Orientation (the
#: pixels are upright), nor any tag about a file's layout (a TIFF's size, strips, sample
#: format ...: its ``getexif()`` holds those too), nor JPEG's IFD1 thumbnail.
_EXIF_IFD0_TAGS = frozenset(
    {
        0x010E,
        0x010F,
        0x0110,
        0x011A,
        0x011B,
        0x0128,
        0x0131,
        0x0132,
        0x013B,
        0x013C,
        0x4746,
        0x4749,
        0x8298,
        0x9C9B,
        0x9C9C,
        0x9C9D,
        0x9C9E,
        0x9C9F,
    }
)


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


class ExtensionMismatchWarning(UserWarning):
    """A file's extension names another format than its content (e.g. PNG data in ``x.jpg``)."""


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


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 -> (H, W, 3) uint8, alpha blended onto white."""
    rgb = rgba[..., :3].astype(np.uint16)
    a = rgba[..., 3:4].astype(np.uint16)
    out = (rgb * a + 255 * (255 - a) + 127) // 255
    return out.astype(np.uint8)


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
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


def _pil_to_rgb(im: Image.Image) -> np.ndarray:
    """A loaded PIL image of any mode to (H, W, 3) uint8 RGB, transparency onto white."""
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im, dtype=np.uint8).copy()
    if mode == "L":
        return _grey_to_rgb(np.asarray(im, dtype=np.uint8))
    if mode == "1":
        return _grey_to_rgb(np.asarray(im.convert("L"), dtype=np.uint8))
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode in ("P", "L", "RGB") and "transparency" in im.info
    ):
        return _composite_on_white(np.asarray(im.convert("RGBA"), dtype=np.uint8))
    if mode.startswith("I;16"):
        a = np.asarray(im).astype(np.uint16)
        return _grey_to_rgb(np.clip((a.astype(np.uint32) + 128) // 257, 0, 255).astype(np.uint8))
    if mode in ("I", "F"):
        return _grey_to_rgb(_scale_wide(np.asarray(im)))
    try:  # P, CMYK, YCbCr, RGBX, HSV, ...
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except Exception:
        return _composite_on_white(np.asarray(im.convert("RGBA"), dtype=np.uint8))


def image_size(path, *, max_pixels=None, strict_extension: bool = False) -> tuple[int, int]:
    """``(height, width)`` of an image from its header, without decoding the pixels.

    Raises:
        kcolor.errors.ImageReadError: as :func:`load_image` does for header problems.
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
            when the file has one; pass both on to :func:`save_image`.

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
                metadata.update(_metadata_of(im))
            if keep_grey and im.mode in ("L", "1") and "transparency" not in im.info:
                rgb = np.asarray(im if im.mode == "L" else im.convert("L"), np.uint8).copy()
            else:
                rgb = _pil_to_rgb(im)
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


def _metadata_of(im: Image.Image) -> dict:
    """``{"exif": bytes, "icc_profile": bytes}`` of an upright (exif-transposed) image,
    each key only when there is one. The EXIF keeps the IFD0 tags of
    :data:`_EXIF_IFD0_TAGS` and the Exif and GPS sub-IFDs (date taken, camera, lens,
    exposure, place ...): no Orientation, no layout tags, no thumbnail (it would show the
    original photo, unturned)."""
    out = {}
    icc = im.info.get("icc_profile")
    if icc:
        out["icc_profile"] = bytes(icc)
    try:
        exif = im.getexif()
        kept = Image.Exif()
        for tag, value in exif.items():
            if tag in _EXIF_IFD0_TAGS:
                kept[tag] = value
        for pointer in (_EXIF_IFD, _GPS_IFD):
            sub = {k: v for k, v in exif.get_ifd(pointer).items() if k != _INTEROP_POINTER}
            if sub:
                kept.get_ifd(pointer).update(sub)
        if len(kept) or any(kept.get_ifd(p) for p in (_EXIF_IFD, _GPS_IFD)):
            out["exif"] = kept.tobytes()
    except Exception:  # noqa: BLE001 - a mangled EXIF block only costs the metadata
        pass
    return out


def as_rgb(image, *, max_pixels: int | None = None) -> np.ndarray:
    """A path, a ``PIL.Image`` or an array to RGB uint8 ``(H, W, 3)``.

    Arrays may be ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` (alpha goes onto
    white), of dtype uint8, bool, uint16 (scaled by 1/257), or float in ``[0, 1]``.
    Torch tensors on the CPU work as arrays.

    Raises:
        ValueError: for any other shape, or floats outside ``[0, 1]``.
        kcolor.errors.ImageReadError: for an unreadable path.
    """
    if isinstance(image, (str, os.PathLike)):
        return load_image(image, max_pixels=max_pixels)
    if isinstance(image, Image.Image):
        return _pil_to_rgb(ImageOps.exif_transpose(image))
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
        return _grey_to_rgb(a)
    if a.shape[-1] == 4:
        return _composite_on_white(a)
    return np.ascontiguousarray(a)


# --------------------------------------------------------------------- writing
def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def holds_metadata(path) -> bool:
    """True when :func:`save_image` writes EXIF and ICC profiles into files named like
    ``path`` (JPEG, PNG, WebP, TIFF; not BMP): see :data:`METADATA_FORMATS`."""
    return _EXT_FORMAT.get(Path(os.fspath(path)).suffix.lower()) in METADATA_FORMATS


def save_image(
    path,
    rgb,
    *,
    overwrite: bool = False,
    quality: int = 95,
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
) -> Path:
    """Write an RGB image atomically; the format comes from the extension.

    The image is written to a temporary file in the same folder, then moved into place, so a
    reader never sees half a file and a crash leaves no debris. Parent folders are created.

    Args:
        path: ``.jpg``/``.jpeg``, ``.png``, ``.webp``, ``.tif``/``.tiff`` or ``.bmp``.
        rgb: anything :func:`as_rgb` accepts except a path (array, PIL image).
        overwrite: replace an existing file; otherwise an existing file is an error.
        quality: JPEG/WebP quality.
        exif, icc_profile: metadata to embed (e.g. what ``load_image(..., metadata=d)``
            put into ``d``), in the formats of :data:`METADATA_FORMATS`; BMP cannot hold
            them and is written without (:func:`holds_metadata` tells beforehand). The
            EXIF is written as given: remove its Orientation tag if the pixels are upright.

    Returns:
        The path written, as a ``pathlib.Path``.

    Raises:
        kcolor.errors.ImageWriteError: the file exists (and ``overwrite`` is False), the
            extension is not a writable format, or the disk refused.
    """
    path = Path(os.fspath(path))
    ext = path.suffix.lower()
    fmt = _EXT_FORMAT.get(ext)
    if fmt is None or fmt == "GIF":
        raise ImageWriteError(
            path,
            f"cannot tell the format from extension {ext or '(none)'!r}; "
            "use .jpg, .png, .webp, .tif or .bmp",
        )
    if isinstance(rgb, (str, os.PathLike)):
        raise TypeError("save_image(path, rgb): rgb must be an image array, not a path")
    if (
        isinstance(rgb, Image.Image)
        and rgb.mode in ("RGB", "RGBX")
        and not (rgb.getexif().get(0x0112))
    ):
        # Encoded as it is, without a copy (JPEG takes RGBX, e.g. a buffer wrapped by
        # Image.frombuffer); other formats get RGB.
        image = rgb if rgb.mode == "RGB" or fmt == "JPEG" else rgb.convert("RGB")
    else:
        image = Image.fromarray(as_rgb(rgb), "RGB")
    if not overwrite and os.path.lexists(path):
        raise ImageWriteError(path, "file exists already (pass overwrite=True to replace it)")
    if path.is_dir():
        raise ImageWriteError(path, "is a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ImageWriteError(path, f"cannot create its folder: {e.strerror or e}") from None
    kwargs = {"quality": int(quality)} if fmt in ("JPEG", "WEBP") else {}
    if fmt in METADATA_FORMATS:
        if exif:
            kwargs["exif"] = exif
        if icc_profile:
            kwargs["icc_profile"] = icc_profile
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            image.save(f, format=fmt, **kwargs)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        if overwrite:
            os.replace(tmp, path)
        else:
            try:  # link() refuses to clobber: no race between the check above and here
                os.link(tmp, path)
            except FileExistsError:
                raise ImageWriteError(path, "file exists already (pass overwrite=True)") from None
            except OSError:  # no hard links on this file system
                if os.path.lexists(path):
                    raise ImageWriteError(path, "file exists already") from None
                os.replace(tmp, path)
                tmp = None
    except ImageWriteError:
        raise
    except OSError as e:
        raise ImageWriteError(path, f"could not write it: {e.strerror or e}") from None
    except Exception as e:
        raise ImageWriteError(path, f"could not encode it as {fmt}: {e}") from None
    finally:
        if tmp is not None and os.path.lexists(tmp):
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


# --------------------------------------------------------------------- atomic writes
@contextlib.contextmanager
def atomic_path(path, suffix: str = ".tmp"):
    """Yield a temp file path beside ``path`` to write; on success it replaces ``path``.

    The temp file lies in the same folder (so ``os.replace`` is atomic), gets the mode a new
    file would have (or the mode of the file it replaces) and is removed on any error, leaving
    ``path`` as it was. Parent folders are created.

    Args:
        path: the file to write.
        suffix: the temp file's suffix (e.g. ``".tmp.keras"`` for ``model.save``).

    Example:
        >>> with atomic_path("runs/a/model.keras", suffix=".tmp.keras") as tmp:  # doctest: +SKIP
        ...     model.save(tmp)
    """
    path = Path(os.fspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            mode = 0o666 & ~_UMASK
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`), flushed to disk.

    A reader, or a process killed half-way, sees the old file or the new one, never half of
    one.

    Returns:
        The path written, as a ``pathlib.Path``.
    """
    path = Path(os.fspath(path))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return path


# --------------------------------------------------------------------- finding
def _is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _scan_folder(folder: str, recursive: bool, paths: list, skipped: list, ignored=None) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except PermissionError:
        skipped.append((Path(folder), "permission denied (cannot list the folder)"))
        return
    except OSError as e:
        skipped.append((Path(folder), f"cannot list the folder: {e.strerror or e}"))
        return
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if recursive and not entry.is_symlink():
                _scan_folder(entry.path, recursive, paths, skipped, ignored)
            continue
        if not _is_image_name(entry.name):
            if ignored is not None and not entry.name.startswith("."):
                ignored.append(Path(entry.path))
            continue
        if entry.is_symlink() and not os.path.exists(entry.path):
            skipped.append((Path(entry.path), "broken symbolic link (its target does not exist)"))
            continue
        paths.append(Path(entry.path))


def find_images(
    inputs, recursive: bool = False, ignored: list | None = None
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand files and folders into a sorted, de-duplicated list of candidate image files.

    Nothing is decoded here. Inside a folder, files without an image extension
    (:data:`IMAGE_EXTENSIONS`) and sub-folders (unless ``recursive``) are passed over; the
    non-image files (hidden ones aside) are appended to ``ignored`` when it is a list.
    A path named explicitly is always a candidate if it is a file (its content decides later),
    and is reported in ``skipped`` if it is missing, a broken link, or an unreadable folder.

    Args:
        inputs: one path or an iterable of paths (files and/or folders).
        recursive: descend into sub-folders (symbolic links to folders are not followed).
        ignored: a list to receive the non-image files found inside folders.

    Returns:
        ``(paths, skipped)``: ``paths`` a list of ``pathlib.Path``; ``skipped`` a list of
        ``(path, reason)``.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    paths: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for item in inputs:
        p = os.fspath(item)
        if os.path.isdir(p):
            found: list[Path] = []
            _scan_folder(p, recursive, found, skipped, ignored)
            paths.extend(found)
        elif os.path.isfile(p):
            paths.append(Path(p))
        elif os.path.islink(p):
            skipped.append((Path(p), "broken symbolic link (its target does not exist)"))
        elif os.path.lexists(p):
            skipped.append((Path(p), "not a regular file or folder"))
        else:
            skipped.append((Path(p), "not found"))
    seen = set()
    unique = []
    for p in paths:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique, skipped


class ImageStream:
    """Iterable of ``(path, rgb)`` over the readable images of some files/folders.

    Decodes one image at a time (memory stays flat). Files that cannot be read are not
    yielded but recorded in :attr:`skipped` as ``(path, reason)``, together with the
    inputs :func:`find_images` could not use. Iterating again re-reads the files.

    Example:
        >>> stream = iter_images("photos/")           # doctest: +SKIP
        >>> for path, rgb in stream: ...              # doctest: +SKIP
        >>> stream.skipped                            # doctest: +SKIP
        [(PosixPath('photos/broken.jpg'), 'truncated image data (...)')]
    """

    def __init__(self, inputs, recursive: bool = False, max_pixels: int | None = None):
        self.paths, self._find_skipped = find_images(inputs, recursive=recursive)
        self.max_pixels = max_pixels
        self.skipped: list[tuple[Path, str]] = list(self._find_skipped)

    def __len__(self) -> int:
        """Number of candidate files (an upper bound on what iteration yields)."""
        return len(self.paths)

    def __iter__(self) -> Iterator[tuple[Path, np.ndarray]]:
        self.skipped = list(self._find_skipped)
        for path in self.paths:
            try:
                rgb = load_image(path, max_pixels=self.max_pixels)
            except ImageReadError as e:
                self.skipped.append((path, e.reason))
                continue
            yield path, rgb


def iter_images(
    path_or_folder: str | os.PathLike | Iterable,
    recursive: bool = False,
    max_pixels: int | None = None,
) -> ImageStream:
    """Lazily yield ``(path, rgb)`` for every readable image; see :class:`ImageStream`."""
    return ImageStream(path_or_folder, recursive=recursive, max_pixels=max_pixels)
