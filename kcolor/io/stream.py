"""Streaming photos: ``(path, rgb)`` one image at a time over files and folders.

Example:
    >>> import numpy as np, os, tempfile
    >>> from kcolor.io.stream import iter_images
    >>> from kcolor.io.writing import save_image
    >>> folder = tempfile.mkdtemp()
    >>> _ = save_image(os.path.join(folder, "a.png"), np.zeros((2, 3, 3), np.uint8))
    >>> open(os.path.join(folder, "b.png"), "wb").close()  # empty: skipped
    >>> stream = iter_images(folder)
    >>> [(p.name, rgb.shape) for p, rgb in stream], [(p.name, why) for p, why in stream.skipped]
    ([('a.png', (2, 3, 3))], [('b.png', 'empty file (0 bytes)')])
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from kcolor.errors import ImageReadError
from kcolor.io.finding import find_images
from kcolor.io.reading import load_image

__all__ = ["ImageStream", "iter_images"]


class ImageStream:
    """Iterable of ``(path, rgb)`` over the readable images of some files/folders.

    Decodes one image at a time (memory stays flat). Files that cannot be read are not
    yielded but recorded in :attr:`skipped` as ``(path, reason)``, together with the
    inputs :func:`~kcolor.io.finding.find_images` could not use. Iterating again re-reads
    the files.

    Args:
        inputs: one path or an iterable of paths (files and/or folders).
        recursive: descend into sub-folders.
        max_pixels: the pixel limit, as in :func:`kcolor.io.load_image`.

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
    """Lazily yield ``(path, rgb)`` for every readable image; see :class:`ImageStream`.

    Args:
        path_or_folder: one path or an iterable of paths (files and/or folders).
        recursive: descend into sub-folders.
        max_pixels: the pixel limit, as in :func:`kcolor.io.load_image`.

    Returns:
        An :class:`ImageStream` (its :attr:`~ImageStream.skipped` fills as it is iterated).

    Example:
        >>> for path, rgb in iter_images("photos/", recursive=True): ...  # doctest: +SKIP
    """
    return ImageStream(path_or_folder, recursive=recursive, max_pixels=max_pixels)
