"""Writing photos: atomically, never clobbering unless asked, with the photo's EXIF and ICC.

Example:
    >>> import numpy as np, os, tempfile
    >>> from kcolor.io.reading import load_image
    >>> from kcolor.io.writing import save_image
    >>> path = save_image(os.path.join(tempfile.mkdtemp(), "red.png"),
    ...                   np.full((4, 6, 3), (255, 0, 0), np.uint8))
    >>> load_image(path).shape
    (4, 6, 3)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

from kcolor.errors import ImageWriteError
from kcolor.io.atomic import new_file_mode
from kcolor.io.formats import _EXT_FORMAT, METADATA_FORMATS
from kcolor.io.reading import as_rgb

__all__ = ["save_image"]


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
            them and is written without (:func:`~kcolor.io.formats.holds_metadata` tells beforehand). The
            EXIF is written as given: remove its Orientation tag if the pixels are upright.

    Returns:
        The path written, as a ``pathlib.Path``.

    Raises:
        kcolor.errors.ImageWriteError: the file exists (and ``overwrite`` is False), the
            extension is not a writable format, or the disk refused.

    Example:
        >>> import numpy as np, os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "red.png")
        >>> save_image(path, np.full((4, 6, 3), (255, 0, 0), np.uint8)).name
        'red.png'
        >>> save_image(path, np.zeros((4, 6, 3), np.uint8))
        Traceback (most recent call last):
        ...
        kcolor.errors.ImageWriteError: ...file exists already (pass overwrite=True to replace it)
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
        os.chmod(tmp, new_file_mode())
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
