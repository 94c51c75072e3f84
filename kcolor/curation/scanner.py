"""Scan folders of photos into a manifest: one row per file, read from a thumbnail.

Each file is decoded once, small (JPEG files at a reduced DCT scale with ``Image.draft``,
then shrunk to at most :data:`THUMB_SIDE` pixels a side), in worker processes; nothing
but the row comes back, so memory does not grow with the photos' sizes. A file that
cannot be read becomes a row with its ``error`` and never stops the scan.

Columns (see :data:`kcolor.curation.manifest.COLUMNS`):

* ``path`` (absolute), ``folder`` (the scanned folder, relative to the common parent of
  all folders scanned), ``label`` (see :func:`kcolor.curation.labels.LabelFinder`), ``bytes``;
* ``format``, ``mode``, ``width``, ``height`` (as displayed, after the EXIF orientation);
* ``chroma``: the 99th percentile of the CIELAB chroma ``sqrt(a**2 + b**2)`` over the
  thumbnail's pixels; ``grey``: ``chroma < grey_threshold`` (:data:`GREY_THRESHOLD`);
* ``colourfulness``: Hasler & Suesstrunk's (2003) metric of the thumbnail (0-255 scale);
  ``mean_l``: the thumbnail's mean CIELAB L (0-100);
* ``hash`` and ``dhash``: ``imagehash.phash`` and ``imagehash.dhash`` of the thumbnail
  (64 bits each, hexadecimal); ``duplicate_of`` and ``group``: see
  :func:`kcolor.curation.duplicates.near_duplicates`;
* ``error``: why the file could not be read, empty otherwise.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import warnings
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from kcolor import color, io
from kcolor.curation.duplicates import near_duplicates
from kcolor.curation.labels import LabelFinder
from kcolor.curation.manifest import COLUMNS, normalise
from kcolor.errors import DataError, ImageReadError

__all__ = ["GREY_THRESHOLD", "THUMB_SIDE", "analyse_file", "folder_names", "scan"]

#: Thumbnails are at most this many pixels a side (JPEG files decode at >= this scale).
THUMB_SIDE = 64

#: A photo is grey when the 99th percentile of its thumbnail's chroma is below this.
GREY_THRESHOLD = 8.0

#: The fields :func:`analyse_file` returns, in order.
FIELDS = (
    "bytes",
    "format",
    "mode",
    "width",
    "height",
    "chroma",
    "grey",
    "colourfulness",
    "mean_l",
    "hash",
    "dhash",
    "error",
)

_ERROR_ROW = (None, "", "", None, None, None, None, None, None, "", "")


def _limit(max_pixels):
    if max_pixels is None:
        return io.DEFAULT_MAX_PIXELS
    return int(max_pixels) if max_pixels > 0 else None


def _thumbnail(path: str, max_pixels):
    """``(rgb, format, mode, width, height)`` with one open of the file.

    The photo is decoded small (``Image.draft``) and converted by :func:`kcolor.io.as_rgb`
    (EXIF orientation, every mode). Anything unusual (a header PIL cannot read, too many
    pixels, a decoding error) goes to :func:`kcolor.io.load_image`, whose
    :class:`~kcolor.errors.ImageReadError` says what is wrong; the header fields are then
    read on their own, when they can be.
    """
    limit = _limit(max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                fmt, mode, (width, height) = im.format or "", im.mode, im.size
                if limit is None or width * height <= limit:
                    if fmt in ("JPEG", "MPO"):
                        im.draft(mode, (THUMB_SIDE, THUMB_SIDE))
                    if getattr(im, "n_frames", 1) > 1:
                        im.seek(0)
                    im.load()
                    return io.as_rgb(im), fmt, mode, width, height
    except Exception:
        pass
    header = ("", "", None, None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                header = (im.format or "", im.mode, im.size[0], im.size[1])
    except Exception:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a lying extension is fine: `format` shows it
        try:
            rgb = io.load_image(path, max_pixels=max_pixels, draft_size=THUMB_SIDE)
        except ImageReadError as e:
            e.header = header
            raise
    return (rgb, *header)


def _colourfulness(rgb: np.ndarray) -> float:
    rgb = rgb.reshape(-1, 3).astype(np.float32)
    rg = rgb[:, 0] - rgb[:, 1]
    yb = 0.5 * (rgb[:, 0] + rgb[:, 1]) - rgb[:, 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def analyse_file(path, max_pixels: int | None = None, grey_threshold: float = GREY_THRESHOLD):
    """The manifest fields of one file (:data:`FIELDS`), as a tuple; never raises for a bad file.

    Args:
        path: the file.
        max_pixels: pixel limit, as in :func:`kcolor.io.load_image` (``None``: its default).
        grey_threshold: chroma below which the photo is grey.
    """
    path = os.fspath(path)
    try:
        size = os.stat(path).st_size
    except OSError as e:
        return (None, *_ERROR_ROW[1:-1], f"cannot stat the file: {e.strerror or e}")
    try:
        rgb, fmt, mode, width, height = _thumbnail(path, max_pixels)
    except ImageReadError as e:
        fmt, mode, width, height = e.header
        return (size, fmt, mode, width, height, None, None, None, None, "", "", e.reason)
    except Exception as e:  # never stop a scan
        return (
            size,
            "",
            "",
            None,
            None,
            None,
            None,
            None,
            None,
            "",
            "",
            f"unexpected {type(e).__name__}: {e}",
        )
    h, w = rgb.shape[:2]
    if width and height and width != height and (w > h) != (width > height) and w != h:
        width, height = height, width  # the EXIF orientation turned it
    im = Image.fromarray(rgb)
    if max(w, h) > THUMB_SIDE:
        im.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BILINEAR)
    thumb = np.asarray(im)
    lab = color.rgb_to_lab(thumb)
    chroma = np.hypot(lab[..., 1], lab[..., 2]).ravel()
    chroma = float(
        np.partition(chroma, int(0.99 * (chroma.size - 1)))[int(0.99 * (chroma.size - 1))]
    )
    return (
        size,
        fmt,
        mode,
        width,
        height,
        round(chroma, 3),
        bool(chroma < grey_threshold),
        round(_colourfulness(thumb), 3),
        round(float(lab[..., 0].mean()), 3),
        str(imagehash.phash(im)),
        str(imagehash.dhash(im)),
        "",
    )


def _analyse(job):
    path, max_pixels, grey_threshold = job
    return analyse_file(path, max_pixels, grey_threshold)


def _init_worker():
    # Workers are for PIL and numpy; one thread each (the pool is the parallelism).
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def folder_names(dirs) -> list[str]:
    """Each folder's name relative to the common parent of all of them (``a/b``, ``c``)."""
    absolute = [os.path.abspath(os.fspath(d)) for d in dirs]
    if len(absolute) == 1:
        return [os.path.basename(absolute[0].rstrip(os.sep)) or absolute[0]]
    common = os.path.commonpath([os.path.dirname(a) for a in absolute])
    names = []
    for a in absolute:
        rel = os.path.relpath(a, common) if common else a
        names.append(rel if rel != "." else os.path.basename(a))
    return names


def _candidates(dirs, all_files: bool):
    """``(path, folder, root, skipped_reason)`` for every file under the folders, in order."""
    names = folder_names(dirs)
    for d, name in zip(dirs, names, strict=False):
        d = os.fspath(d)
        if not os.path.isdir(d):
            if os.path.isfile(d):
                yield Path(os.path.abspath(d)), name, os.path.dirname(os.path.abspath(d)), ""
                continue
            raise DataError(f"{d}: not a folder (or not found)")
        root = os.path.abspath(d)
        if all_files:
            found = []
            for base, subdirs, files in os.walk(root):
                subdirs.sort()
                found.extend(Path(base, f) for f in sorted(files))
            found.sort()
            skipped = []
        else:
            found, skipped = io.find_images([root], recursive=True)
        for p in found:
            yield Path(os.path.abspath(p)), name, root, ""
        for p, reason in skipped:
            yield Path(os.path.abspath(p)), name, root, reason


def scan(
    dirs,
    *,
    workers: int | None = None,
    chunksize: int = 32,
    max_pixels: int | None = None,
    grey_threshold: float = GREY_THRESHOLD,
    all_files: bool = False,
    progress: bool = True,
    duplicates: bool = True,
    **duplicate_kwargs,
):
    """Scan folders (recursively) into a manifest ``pandas.DataFrame``, one row per file.

    Args:
        dirs: folders (or single files) to scan; their order is the rows' order, files
            within a folder sorted by path.
        workers: decoding processes (default: the number of CPU cores); 1 decodes in this
            process.
        chunksize: files handed to a worker at a time.
        max_pixels: per-photo pixel limit (see :func:`kcolor.io.load_image`); bigger photos
            get an ``error``.
        grey_threshold: see :data:`GREY_THRESHOLD`.
        all_files: list every file, not only those with an image extension (the others then
            get an ``error``, e.g. "not an image file").
        progress: show a progress bar on stderr.
        duplicates: fill ``duplicate_of`` and ``group`` (see
            :func:`kcolor.curation.duplicates.near_duplicates`).
        **duplicate_kwargs: ``max_distance`` / ``max_dhash_distance`` for it.

    Returns:
        The manifest, columns :data:`kcolor.curation.manifest.COLUMNS`.

    Raises:
        kcolor.errors.DataError: when a folder does not exist or none holds any file.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    dirs = [dirs] if isinstance(dirs, (str, os.PathLike)) else list(dirs)
    if not dirs:
        raise DataError("no folder to scan")
    files = list(_candidates(dirs, all_files))
    if not files:
        raise DataError(f"no files found in {', '.join(os.fspath(d) for d in dirs)}")
    labels = LabelFinder()
    jobs = [(os.fspath(p), max_pixels, grey_threshold) for p, _, _, reason in files if not reason]
    workers = (os.cpu_count() or 1) if workers is None else max(1, int(workers))
    workers = min(workers, max(1, len(jobs) // max(1, chunksize)))
    chunks, columns = [], {name: [] for name in ("path", "folder", "label", *FIELDS)}

    def flush():
        if columns["path"]:
            chunks.append(pd.DataFrame(columns))
            for values in columns.values():
                values.clear()

    bar = tqdm(
        total=len(files),
        desc="scanning",
        unit="file",
        disable=None if progress else True,
        file=sys.stderr,
        smoothing=0.05,
    )
    pool = None
    try:
        if workers > 1:
            pool = multiprocessing.get_context().Pool(workers, initializer=_init_worker)
            results = pool.imap(_analyse, jobs, chunksize=chunksize)
        else:
            results = map(_analyse, jobs)
        results = iter(results)
        for path, folder, root, reason in files:
            row = (None, *_ERROR_ROW[1:-1], reason) if reason else next(results)
            columns["path"].append(os.fspath(path))
            columns["folder"].append(folder)
            columns["label"].append(labels.label_for(path, root))
            for name, value in zip(FIELDS, row, strict=False):
                columns[name].append(value)
            bar.update()
            if len(columns["path"]) >= 4096:
                flush()
        flush()
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
    df = pd.concat(chunks, ignore_index=True)
    df["duplicate_of"] = ""
    df["group"] = ""
    df = normalise(df)
    if duplicates:
        df["duplicate_of"], df["group"] = near_duplicates(df, **duplicate_kwargs)
    return df[list(COLUMNS)]
