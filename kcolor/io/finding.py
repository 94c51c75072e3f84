"""Finding photos: files and folders expanded into a sorted list of candidate image files.

* :func:`find_images` - the candidates and the inputs passed over, with reasons;
* :func:`find_photos` - the same, raising :class:`~kcolor.errors.DataError` (in the words of
  a command line) when there is nothing to work on.

Nothing is decoded here; :func:`kcolor.io.iter_images` reads what is found.

Example:
    >>> import os, tempfile
    >>> from kcolor.io.finding import find_images
    >>> folder = tempfile.mkdtemp()
    >>> for name in ("b.png", "a.JPG", "notes.txt"):
    ...     open(os.path.join(folder, name), "wb").close()
    >>> paths, skipped = find_images([folder, os.path.join(folder, "gone.png")])
    >>> [p.name for p in paths], [(p.name, why) for p, why in skipped]
    (['a.JPG', 'b.png'], [('gone.png', 'not found')])
"""

from __future__ import annotations

import os
from pathlib import Path

from kcolor.errors import DataError
from kcolor.io.formats import is_image_name

__all__ = ["find_images", "find_photos"]


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
        if not is_image_name(entry.name):
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
    (:data:`~kcolor.io.formats.IMAGE_EXTENSIONS`) and sub-folders (unless ``recursive``) are passed over; the
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

    Example:
        >>> paths, skipped = find_images(["photos/", "extra.jpg"], recursive=True)  # doctest: +SKIP
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


def find_photos(sources, *, recursive: bool = False) -> tuple[list[Path], list[tuple[Path, str]]]:
    """:func:`find_images`, with a :class:`~kcolor.errors.DataError` when nothing is found.

    The one finder behind ``kcolor train`` (:func:`kcolor.training.find_colour_photos`, which
    then drops the grey photos) and ``kcolor evaluate``
    (:func:`kcolor.evaluation.find_photos`).

    Args:
        sources: a folder, an image file, or a list of them.
        recursive: descend into sub-folders.

    Returns:
        ``(paths, skipped)`` as :func:`find_images` gives them (``paths`` not empty).

    Raises:
        kcolor.errors.DataError: ``"<path>: no such file or folder"`` when no image is found
            and a source does not exist; otherwise ``"no images found in <sources>"``, with a
            hint at ``--recursive`` when it was not given.

    Example:
        >>> import tempfile
        >>> find_photos(tempfile.mkdtemp())
        Traceback (most recent call last):
        ...
        kcolor.errors.DataError: no images found in ... (--recursive looks into sub-folders)
    """
    inputs = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    paths, skipped = find_images(inputs, recursive=recursive)
    if not paths:
        missing = [p for p, reason in skipped if reason == "not found"]
        if missing:
            raise DataError(f"{os.fspath(missing[0])}: no such file or folder")
        where = ", ".join(os.fspath(p) for p in inputs)
        raise DataError(
            f"no images found in {where}"
            + ("" if recursive else " (--recursive looks into sub-folders)")
        )
    return paths, list(skipped)
