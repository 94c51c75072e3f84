"""Image file formats: the extensions kcolor reads and writes, and what each can hold.

* :data:`IMAGE_EXTENSIONS` - the extensions :func:`kcolor.io.find_images` picks up in folders.
* :data:`METADATA_FORMATS` / :func:`holds_metadata` - the formats EXIF and ICC go into.
* :class:`ExtensionMismatchWarning` - a file's extension names another format than its content.

Example:
    >>> from kcolor.io.formats import holds_metadata, is_image_name
    >>> is_image_name("Photo.JPG"), holds_metadata("out.bmp")
    (True, False)
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "IMAGE_EXTENSIONS",
    "METADATA_FORMATS",
    "ExtensionMismatchWarning",
    "holds_metadata",
    "is_image_name",
]

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


class ExtensionMismatchWarning(UserWarning):
    """A file's extension names another format than its content (e.g. PNG data in ``x.jpg``)."""


def is_image_name(name) -> bool:
    """True when the file name ``name`` ends in one of :data:`IMAGE_EXTENSIONS` (any case).

    Example:
        >>> is_image_name("a/b.tiff"), is_image_name("notes.txt")
        (True, False)
    """
    return os.path.splitext(os.fspath(name))[1].lower() in IMAGE_EXTENSIONS


def holds_metadata(path) -> bool:
    """True when :func:`kcolor.io.save_image` writes EXIF and ICC profiles into files named
    like ``path`` (JPEG, PNG, WebP, TIFF; not BMP): see :data:`METADATA_FORMATS`.

    Args:
        path: a file name; only its extension matters.

    Returns:
        ``bool``.

    Example:
        >>> holds_metadata("out.jpg"), holds_metadata("out.bmp")
        (True, False)
    """
    return _EXT_FORMAT.get(Path(os.fspath(path)).suffix.lower()) in METADATA_FORMATS
