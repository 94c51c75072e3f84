"""Photos in and out: reading any image file robustly, writing atomically, finding photos.

The ground floor every other kcolor package reads and writes photos with. Public names:

* reading (:mod:`kcolor.io.reading`): :func:`load_image` (any image file to ``(H, W, 3)``
  uint8 RGB: every PIL mode, EXIF orientation, transparency onto white, a decompression-bomb
  guard from the header, errors naming the file), :func:`image_size`, :func:`as_rgb` (a
  path, a ``PIL.Image`` or an array to uint8 RGB), :data:`DEFAULT_MAX_PIXELS`;
* writing (:mod:`kcolor.io.writing`, :mod:`kcolor.io.atomic`): :func:`save_image` (atomic,
  never clobbering unless asked, with the photo's EXIF and ICC), :func:`atomic_path`,
  :func:`atomic_write_bytes`;
* formats (:mod:`kcolor.io.formats`): :data:`IMAGE_EXTENSIONS`, :data:`METADATA_FORMATS`,
  :func:`holds_metadata`, :class:`ExtensionMismatchWarning`;
* finding (:mod:`kcolor.io.finding`, :mod:`kcolor.io.stream`): :func:`find_images`,
  :func:`find_photos`, :func:`iter_images` / :class:`ImageStream`;
* :func:`grey_version` (:mod:`kcolor.io.grey`): the grey photo the models see.

The pixel conversions (:mod:`kcolor.io.pixels`) and the EXIF selection
(:mod:`kcolor.io.metadata`) are the submodules' own.

Example:
    >>> import numpy as np, tempfile, os
    >>> from kcolor import io
    >>> path = os.path.join(tempfile.mkdtemp(), "red.png")
    >>> _ = io.save_image(path, np.full((4, 6, 3), (255, 0, 0), np.uint8))
    >>> io.load_image(path).shape
    (4, 6, 3)
"""

from kcolor.io.atomic import atomic_path, atomic_write_bytes
from kcolor.io.finding import find_images, find_photos
from kcolor.io.formats import (
    IMAGE_EXTENSIONS,
    METADATA_FORMATS,
    ExtensionMismatchWarning,
    holds_metadata,
)
from kcolor.io.grey import grey_if_grey, grey_version
from kcolor.io.reading import DEFAULT_MAX_PIXELS, as_photo, as_rgb, image_size, load_image
from kcolor.io.stream import ImageStream, iter_images
from kcolor.io.writing import save_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "METADATA_FORMATS",
    "ExtensionMismatchWarning",
    "ImageStream",
    "as_photo",
    "as_rgb",
    "atomic_path",
    "atomic_write_bytes",
    "find_images",
    "find_photos",
    "grey_if_grey",
    "grey_version",
    "holds_metadata",
    "image_size",
    "iter_images",
    "load_image",
    "save_image",
]
