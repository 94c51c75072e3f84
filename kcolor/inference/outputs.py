"""Planning a file batch's outputs: which output path each input file gets (no decoding).

:func:`plan_outputs` maps input files and folders to output paths under an output folder:
names sanitised (:func:`_safe_part`) and given an extension we can write
(:func:`_output_name`), de-duplicated (``name-2.png``), never an input and never outside
the output folder (:func:`_inside`, :func:`_real`); what cannot be planned goes to a
:class:`~kcolor.inference.results.ColorizeResult`.

Example:
    >>> from pathlib import Path
    >>> from kcolor.inference.outputs import _output_name
    >>> _output_name(Path("album/scan 1.tif"), "_c").as_posix()
    'album/scan 1_c.tif'
    >>> _output_name(Path("notes.gif"), "").as_posix()
    'notes.png'
"""

from __future__ import annotations

import os
from pathlib import Path

from kcolor import io as kio
from kcolor.inference.results import ColorizeResult
from kcolor.video import io as _vio

__all__ = ["plan_outputs"]

#: Output formats written with the input's own extension; anything else is written as PNG.
_WRITABLE = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
_BAD_CHARS = set('\\/:*?"<>|')


def _safe_part(part: str) -> str:
    cleaned = "".join("_" if (c in _BAD_CHARS or not c.isprintable()) else c for c in part)
    cleaned = cleaned.strip().lstrip(".")
    return cleaned or "_"


def _output_name(rel: Path, suffix: str) -> Path:
    parts = [_safe_part(p) for p in rel.parts]
    name = Path(parts[-1])
    ext = name.suffix.lower() if name.suffix.lower() in _WRITABLE else ".png"
    if _vio.is_video_name(name):  # a video's colour copy: H.264 in mp4/mov/mkv
        ext = _vio.output_extension(name)
    stem = name.stem if name.suffix else name.name
    parts[-1] = f"{stem}{_safe_part(suffix) if suffix else ''}{ext}"
    return Path(*parts)


def _real(path) -> str:
    return os.path.realpath(path)


def _inside(path, root) -> bool:
    try:
        return os.path.commonpath([_real(path), _real(root)]) == _real(root)
    except ValueError:
        return False


def _image_named_folders(folder: Path) -> list[tuple[str, str]]:
    """Sub-folders of ``folder`` named like images (``x.jpg/``), which a flat scan passes over."""
    out = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if os.path.splitext(entry.name)[1].lower() in kio.IMAGE_EXTENSIONS:
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    if is_dir:
                        out.append(
                            (
                                entry.path,
                                "a folder named like an image, not an image file "
                                "(its contents are coloured only with --recursive)",
                            )
                        )
    except OSError:
        pass
    return sorted(out)


def plan_outputs(
    inputs, out_dir: str | os.PathLike, *, suffix: str = "", recursive: bool = False, result=None
) -> list[tuple[str, Path]]:
    """Map input files and folders to output paths under ``out_dir`` (no I/O besides listing).

    Files keep their name; files found in a folder keep their sub-path relative to it.
    Names are sanitised and de-duplicated (``name-2.png``, ...), so no two inputs share an
    output (each rename is recorded in ``result.renamed``); an output that would be an
    input, or fall outside ``out_dir``, is refused.
    ``out_dir`` may be an input folder itself (with a ``suffix``, the results land beside
    the photos); our own outputs are never read back: a folder's files inside ``out_dir``
    are passed over when ``out_dir`` is a sub-folder of it, and files whose name already
    ends with ``suffix`` are skipped. Missing inputs, broken links and refusals go to
    ``result.failed``; folders with no images, sub-folders named like images (``x.jpg/``)
    and earlier outputs to ``result.skipped``; non-image files in folders to
    ``result.ignored``.

    Returns:
        ``[(input path, output path), ...]`` in input order.
    """
    result = result if result is not None else ColorizeResult()
    out_root = Path(out_dir)
    tail = _safe_part(suffix) if suffix else ""
    found: list[tuple[str, Path]] = []  # (source, relative output)
    for inp in inputs:
        inp = Path(inp)
        if inp.is_dir():
            ignored: list[Path] = []
            files, unusable = kio.find_images([inp], recursive=recursive, ignored=ignored)
            videos = [p for p in ignored if _vio.is_video_name(p)]  # coloured too
            files = sorted([*files, *videos])
            result.ignored.extend(os.fspath(p) for p in ignored if not _vio.is_video_name(p))
            # Broken links and folders that cannot be listed: photos the user asked for.
            result.failed.extend((os.fspath(p), r) for p, r in unusable)
            if not recursive:
                result.skipped.extend(_image_named_folders(inp))
            # An output folder below this input folder holds our outputs: never feed them
            # back in. (The input folder itself as output is fine: results land beside.)
            own = _real(out_root) != _real(inp) and _inside(out_root, inp)
            n_before, n_earlier = len(found), 0
            for f in files:
                f = Path(f)
                if own and _inside(f, out_root):
                    continue
                if tail and f.stem.endswith(tail) and _inside(f, out_root):
                    result.skipped.append(
                        (
                            os.fspath(f),
                            f"already ends with the suffix {tail!r}: an earlier "
                            "output, not coloured again",
                        )
                    )
                    n_earlier += 1
                    continue
                try:
                    rel = f.relative_to(inp)
                except ValueError:
                    rel = Path(f.name)
                found.append((os.fspath(f), rel))
            if len(found) == n_before and not unusable and not n_earlier:
                hint = "" if recursive else " (sub-folders are searched with --recursive)"
                result.skipped.append((os.fspath(inp), f"folder holds no images{hint}"))
        elif inp.is_file():
            found.append((os.fspath(inp), Path(inp.name)))
        elif os.path.islink(inp):
            result.failed.append(
                (os.fspath(inp), "broken symbolic link (its target does not exist)")
            )
        else:
            result.failed.append((os.fspath(inp), "no such file or folder"))

    sources = {_real(src) for src, _ in found}
    taken: dict[str, str] = {}  # output name (lower case) -> the input that has it
    plan = []
    for src, rel in found:
        out_rel = _output_name(rel, suffix)
        candidate, n = out_rel, 1
        while str(candidate).lower() in taken:
            n += 1
            candidate = out_rel.with_name(f"{out_rel.stem}-{n}{out_rel.suffix}")
        taken[str(candidate).lower()] = src
        dst = out_root / candidate
        if not _inside(dst, out_root):
            result.failed.append((src, f"output {dst} would fall outside {out_root}"))
        elif _real(dst) in sources:
            result.failed.append(
                (
                    src,
                    f"output {dst} would overwrite an input; choose another output folder "
                    "or a suffix",
                )
            )
        else:
            plan.append((src, dst))
            if candidate != out_rel:
                result.renamed.append((src, os.fspath(dst), taken[str(out_rel).lower()]))
    return plan
