"""The evaluation photos: found, read, brought to one size, grey ones dropped, in batches.

1. every photo is read (:func:`kcolor.io.load_image`) and brought to ``size x size`` by
   **resize-to-fill + centre crop** (:func:`prepare`, :func:`kcolor.datasets.augment.resize_fill`:
   the aspect ratio is kept, the short side is scaled to ``size``, the overhang of the long
   side is cut evenly; the same geometry as the training pipeline's validation images);
2. photos without colour are dropped (:func:`kcolor.datasets.folder.is_grey`: 99% of the
   pixels under 3 units of Lab chroma) and counted, as are unreadable files (:class:`Tally`);
3. each photo's grey version is made (:func:`kcolor.io.grey_version`, re-exported here): its
   own L with ``a = b = 0``.
   This is what the models see, and it is also the **grey baseline**: the "colourisation"
   that adds no colour at all.

:func:`iter_eval_batches` does all three and yields :class:`EvalBatch` ``(files, truth,
grey)``, a batch at a time, so folders of any size can be measured. The photos are found by
:func:`kcolor.io.find_photos` (re-exported here, as :func:`grey_version` is).

Example:
    >>> import numpy as np
    >>> from kcolor.evaluation.photos import grey_version, prepare
    >>> photo = prepare(np.zeros((40, 60, 3), np.uint8), 32)
    >>> photo.shape, grey_version(photo).dtype
    ((32, 32, 3), dtype('uint8'))
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import numpy as np

from kcolor import io as kio
from kcolor.errors import ImageReadError
from kcolor.io import find_photos, grey_version

__all__ = [
    "GEOMETRY",
    "EvalBatch",
    "Tally",
    "find_photos",
    "grey_version",
    "iter_eval_batches",
    "prepare",
]

#: How the photos are brought to ``size x size`` (stated in the report).
GEOMETRY = "resize-to-fill + centre crop"


def prepare(rgb, size) -> np.ndarray:
    """A photo as evaluated: uint8 RGB ``(size, size, 3)`` by resize-to-fill + centre crop.

    Example:
        >>> import numpy as np
        >>> prepare(np.zeros((10, 20, 3), np.uint8), 8).shape
        (8, 8, 3)
    """
    from kcolor.datasets.augment import resize_fill

    return np.ascontiguousarray(resize_fill(np.asarray(rgb, dtype=np.uint8), size))


@dataclass
class EvalBatch:
    """One batch of evaluation photos.

    Attributes:
        files: the photos' paths.
        truth: the photos as evaluated, uint8 RGB ``(N, size, size, 3)``.
        grey: their grey versions (:func:`grey_version`), what the models see; uint8.
    """

    files: list
    truth: np.ndarray
    grey: np.ndarray

    def __iter__(self):  # files, truth, grey = batch
        return iter((self.files, self.truth, self.grey))

    def __len__(self) -> int:
        return len(self.files)


@dataclass
class Tally:
    """What :func:`iter_eval_batches` left out: grey photos and unreadable or missing files."""

    n_grey: int = 0
    skipped: list = field(default_factory=list)  # [(path, reason)]


def as_inputs(data_dir_or_files) -> list:
    """A folder, a file or a list of them, as a list."""
    if isinstance(data_dir_or_files, (str, os.PathLike)):
        return [data_dir_or_files]
    return list(data_dir_or_files)


def iter_eval_batches(
    data_dir_or_files,
    size: int = 256,
    batch_size: int = 8,
    drop_grey: bool = True,
    *,
    limit: int | None = None,
    recursive: bool = False,
    grey_threshold: float = 3.0,
    tally: Tally | None = None,
    progress: bool = False,
):
    """Yield the photos of a folder as :class:`EvalBatch` ``(files, truth, grey)``, in file order.

    Every photo is read, brought to ``size x size`` (:func:`prepare`) and, with ``drop_grey``,
    left out when it has no colour; unreadable files are left out too. ``tally`` (a
    :class:`Tally`) counts both.

    Args:
        data_dir_or_files: a folder of colour photos, an image file, or a list of them.
        size: the side photos are brought to.
        batch_size: photos per batch (the last batch may be smaller).
        drop_grey: leave out photos without colour (:func:`kcolor.datasets.folder.is_grey`).
        limit: yield at most this many photos.
        recursive: also use photos in sub-folders.
        grey_threshold: Lab chroma under which a photo counts as grey.
        tally: filled with the grey photos dropped and the files skipped (path, reason).
        progress: a tqdm progress bar on stderr.

    Raises:
        DataError: nothing exists there, or no image is found.

    Example:
        >>> for files, truth, grey in iter_eval_batches("photos/", size=64):  # doctest: +SKIP
        ...     print(len(files), truth.shape, grey.dtype)
    """
    from kcolor.datasets.folder import is_grey

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    tally = Tally() if tally is None else tally
    paths, skipped = find_photos(data_dir_or_files, recursive=recursive)
    tally.skipped.extend(skipped)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = len(paths) if limit is None else min(limit, len(paths))
        # disable=None: no bar when stderr is not a terminal (a log gets no bar lines).
        bar = tqdm(total=total, unit="img", file=sys.stderr, desc="evaluate", disable=None)
    files, truths, n_yielded = [], [], 0
    try:
        for path in paths:
            if limit is not None and n_yielded + len(files) >= limit:
                break
            try:
                rgb = prepare(kio.load_image(path), size)
            except ImageReadError as err:
                tally.skipped.append((path, err.reason))
                if bar is not None and limit is None:
                    bar.update(1)
                continue
            if drop_grey and is_grey(rgb, grey_threshold):
                tally.n_grey += 1
                if bar is not None and limit is None:
                    bar.update(1)
                continue
            files.append(path)
            truths.append(rgb)
            if bar is not None:
                bar.update(1)
            if len(files) == batch_size:
                truth = np.stack(truths)
                yield EvalBatch(files, truth, grey_version(truth))
                n_yielded += len(files)
                files, truths = [], []
        if files:
            truth = np.stack(truths)
            yield EvalBatch(files, truth, grey_version(truth))
    finally:
        if bar is not None:
            bar.close()
