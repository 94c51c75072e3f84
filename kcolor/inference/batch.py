"""Colouring files and folders: plan the outputs, read ahead, colour, write, report.

* :func:`plan_outputs` maps input files and folders to output paths (no decoding; it
  lives in :mod:`kcolor.inference.outputs`);
* :func:`colorize_files` runs a colourer over them, one batch in memory at a time, with
  decoding of the next batch and encoding of the previous one overlapping the colouring
  (threads: PIL and numpy release the GIL), and collects every failure per file;
* :class:`ColorizeResult` is what it did, with a :meth:`~ColorizeResult.summary` for people
  (:mod:`kcolor.inference.results`);
* :func:`is_color_photo` tells a colour photo from a black-and-white one (toned ones too).

Outputs are written with :func:`kcolor.io.save_image` (atomic, never clobbering), with the
input's EXIF (date taken, camera ...; Orientation removed, since the pixels are upright)
and ICC profile, except in BMP files, which cannot hold them (one warning says so).

What the user should hear while it runs comes as warnings (the ``kcolor`` command prints
them as ``kcolor: warning: ...`` on stderr, above the progress bar):
:class:`OutputRenamedWarning` when a name clash renames an output (``photo-2.png``),
:class:`ColorPhotoWarning` when a colour photo is recoloured (``skip_color=True`` leaves
colour photos alone), :class:`MetadataWarning` when metadata cannot be carried over.

Example:
    >>> from kcolor.inference.batch import colorize_files               # doctest: +SKIP
    >>> result = colorize_files(colorizer, ["album/"], "coloured/")  # doctest: +SKIP
    >>> print(result.summary())                               # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kcolor import io as kio
from kcolor.errors import ImageReadError, ImageWriteError, KcolorError
from kcolor.inference.outputs import plan_outputs
from kcolor.inference.results import ColorizeResult
from kcolor.video import io as _vio

__all__ = [
    "ColorPhotoWarning",
    "ColorizeResult",
    "MetadataWarning",
    "OutputRenamedWarning",
    "colorize_files",
    "is_color_photo",
    "plan_outputs",
]

#: Colour photos named one by one in warnings; after these, one line says there are more.
_COLOR_WARNINGS = 5

#: The ``skipped`` reason of a colour photo left alone (``skip_color=True``).
SKIPPED_COLOR = "a colour photo: left as it is (--skip-color)"


class OutputRenamedWarning(UserWarning):
    """Two inputs would have the same output name: the later one gets ``name-2.ext``."""


class ColorPhotoWarning(UserWarning):
    """An input is a colour photo: colourising replaces its colours (``skip_color`` skips it)."""


class MetadataWarning(UserWarning):
    """An input's EXIF or ICC profile could not be carried into its output."""


# ---------------------------------------------------------------- colour photos
def is_color_photo(photo: np.ndarray) -> bool:
    """True for a colour photo; False for a grey one and for a toned one (sepia, cyanotype,
    yellowed paper), which are black-and-white photos to colourise.

    A toned photo's colour follows its lightness: the pixels of one lightness share one
    colour, JPEG's coarse colour only smearing it along that hue. So, on a thumbnail (at
    most 128 px a side), each pixel's CIELAB ``(a, b)`` is compared with the mean ``(a, b)``
    of its lightness band (50 bands). A colour photo has pixels that stray across the
    photo's mean hue (99th percentile of that distance >= 8), or many pixels whose colour
    differs from their band's (90th percentile of the distance >= 4 and >= a quarter of
    the photo's 99th-percentile chroma: grey clothes beside skin of the same lightness).
    On 200 BSDS500 photos, 4% of the colour photos pass for toned (6% of 4,000 Tiny
    ImageNet ones: photos of one hue family, a blue jellyfish, a brown insect on sand);
    grey, yellowed, cyan-toned and sepia-toned JPEG copies of them (strong or faded, with
    noise) pass for colour in at most 0.5% of cases.

    Args:
        photo: uint8 grey ``(H, W)`` or RGB ``(H, W, 3)``.
    """
    from kcolor import color

    photo = np.asarray(photo)
    if photo.ndim != 3 or photo.shape[-1] < 3:
        return False
    step = max(1, -(-max(photo.shape[:2]) // 128))
    thumb = np.ascontiguousarray(photo[::step, ::step, :3])
    if np.array_equal(thumb[..., 0], thumb[..., 1]) and np.array_equal(
        thumb[..., 0], thumb[..., 2]
    ):
        return False
    lab = color.rgb_to_lab(thumb).reshape(-1, 3).astype(np.float64)
    bands = np.clip((lab[:, 0] * 0.5).astype(np.int64), 0, 49)  # L in [0, 100]: 50 bands
    n = np.maximum(np.bincount(bands, minlength=50), 1)
    da = lab[:, 1] - (np.bincount(bands, lab[:, 1], 50) / n)[bands]
    db = lab[:, 2] - (np.bincount(bands, lab[:, 2], 50) / n)[bands]
    total = lab[:, 1:].sum(axis=0)
    norm = float(np.hypot(total[0], total[1]))
    ua, ub = (total / norm) if norm > 1e-9 else (1.0, 0.0)
    if np.percentile(np.abs(da * ub - db * ua), 99) >= 8.0:  # across the mean hue
        return True
    spread = float(np.percentile(np.hypot(da, db), 90))
    chroma = float(np.percentile(np.hypot(lab[:, 1], lab[:, 2]), 99))
    return spread >= 4.0 and spread >= 0.25 * chroma


# ---------------------------------------------------------------- failures
def _reason(err: BaseException) -> str:
    if isinstance(err, KcolorError) and getattr(err, "reason", None):
        return err.reason
    return str(err) or type(err).__name__


# ---------------------------------------------------------------- running
def _to_pil(image: np.ndarray):
    """A colourer's output as a PIL RGB image: RGBX ``(H, W, 4)`` wrapped without a copy."""
    from PIL import Image

    if image.ndim == 3 and image.shape[-1] == 4 and image.flags.c_contiguous:
        h, w = image.shape[:2]
        return Image.frombuffer("RGB", (w, h), image, "raw", "RGBX", 0, 1)
    return Image.fromarray(np.ascontiguousarray(image[..., :3]), "RGB")


def colorize_files(
    colorizer,
    paths,
    out_dir: str | os.PathLike,
    overwrite: bool = False,
    suffix: str = "",
    progress: bool = True,
    recursive: bool = False,
    skip_color: bool = False,
    keep_metadata: bool = True,
    crf: int = 18,
) -> ColorizeResult:
    """Colour image files and folders into ``out_dir``, one batch in memory at a time.

    Files given directly are written as ``out_dir/<name><suffix><ext>``; files found in a
    folder keep their path relative to that folder (see :func:`plan_outputs`). Existing
    outputs are only replaced with ``overwrite=True``; inputs never. ``out_dir`` is created
    only when something is written. While one batch is coloured, the next is decoded and
    the previous one encoded, on threads. Errors are collected per file.

    Each output gets its input's EXIF (date taken, camera ..., the Orientation tag removed:
    the pixels are written upright) and ICC profile, except BMP outputs, which cannot hold
    them (a :class:`MetadataWarning` says so, once). Renamed outputs
    (:class:`OutputRenamedWarning`) and colour photos (:func:`is_color_photo`;
    :class:`ColorPhotoWarning`, unless ``skip_color``) are warned about as they come.

    Args:
        colorizer: a :class:`kcolor.Colorizer` (anything with ``batch_size`` and
            ``colorize_arrays(photos, rgbx=True)``).
        paths: a path or a list of files and folders.
        out_dir: the output folder.
        overwrite: replace existing output files.
        suffix: appended to each output's stem (e.g. ``"_color"``).
        progress: show a tqdm progress bar on stderr (when it is a terminal and there is
            something to colour).
        recursive: look into sub-folders of input folders.
        skip_color: leave colour photos alone (no output; listed in ``.skipped``) instead of
            recolouring them with a warning.
        keep_metadata: carry EXIF and ICC profiles into the outputs.
        crf: H.264 quality of video outputs (0 lossless ... 51; 18 looks lossless).
            Video files (:data:`kcolor.video.VIDEO_EXTENSIONS`) are coloured after the
            photos, one at a time, by :func:`kcolor.video.colorize_video` (steady colours,
            sound kept, a progress bar in frames each); a bad video is reported in
            ``.failed`` and the job goes on.

    Returns:
        A :class:`ColorizeResult` (``.written``, ``.failed``, ``.skipped``, ``.ignored``).

    Raises:
        kcolor.errors.ImageWriteError: ``out_dir`` is a file.
        KeyboardInterrupt: with ``.result``, the partial :class:`ColorizeResult` (what is
            listed as written is complete).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    result = ColorizeResult()
    out_root = Path(out_dir)
    if out_root.exists() and not out_root.is_dir():
        raise ImageWriteError(out_root, "the output folder is a file.")
    plan = plan_outputs(paths, out_root, suffix=suffix, recursive=recursive, result=result)

    todo: list[tuple[str, Path]] = []
    for src, dst in plan:
        if dst.exists() and not overwrite:
            result.failed.append(
                (src, f"output {dst} exists already (use --overwrite / overwrite=True)")
            )
        else:
            todo.append((src, dst))
    videos = [(src, dst) for src, dst in todo if _vio.is_video_name(src)]
    todo = [(src, dst) for src, dst in todo if not _vio.is_video_name(src)]

    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        # disable=None: no bar when stderr is not a terminal (a log gets no bar lines).
        bar = tqdm(total=len(todo), unit="photo", file=sys.stderr, desc="colorize", disable=None)

    def tell(message: str, category) -> None:
        """A warning, printed above the progress bar rather than through it."""
        if bar is None or bar.disable:
            warnings.warn(message, category, stacklevel=3)
            return
        with bar.external_write_mode(file=sys.stderr):
            warnings.warn(message, category, stacklevel=3)

    going = {src for src, _ in todo}
    for src, dst, other in result.renamed:
        if src in going:
            tell(
                f"{src} and {other} have the same output name: {src} is written as {dst}",
                OutputRenamedWarning,
            )

    def load(chunk):
        loaded, failed = [], []
        for src, dst in chunk:
            meta: dict = {}
            try:
                photo = kio.load_image(
                    src, keep_grey=True, metadata=meta if keep_metadata else None
                )
                loaded.append((src, dst, photo, meta, is_color_photo(photo)))
            except ImageReadError as err:
                failed.append((src, _reason(err)))
            except Exception as err:  # noqa: BLE001 - one bad file never stops the batch
                failed.append((src, f"cannot read it ({type(err).__name__}: {_reason(err)})"))
        return loaded, failed

    dropped_by_format: list[str] = []  # the BMP outputs whose input had metadata

    def save(src, dst, colour, meta) -> None:
        if meta and not kio.holds_metadata(dst):
            if not dropped_by_format:
                tell(
                    f"{dst}: BMP files cannot hold EXIF (date taken, camera) or ICC "
                    "profiles, so the .bmp outputs are written without them (this is said "
                    "once)",
                    MetadataWarning,
                )
            dropped_by_format.append(os.fspath(dst))
            meta = {}
        try:
            kio.save_image(dst, _to_pil(colour), overwrite=overwrite, **meta)
        except ImageWriteError as err:
            if not meta or "encode" not in err.reason:
                raise
            # e.g. an EXIF block too big for a JPEG segment: the photo matters more.
            kio.save_image(dst, _to_pil(colour), overwrite=overwrite)
            tell(
                f"{src}: its EXIF/ICC metadata could not be written into {dst} "
                f"({err.reason}); written without it",
                MetadataWarning,
            )

    colour_inputs: set[str] = set()  # the colour photos sent to the model

    def write(items):
        # One batch, in order; a BaseException (Ctrl-C) stops it where it is.
        for src, dst, colour, meta in items:
            if isinstance(colour, Exception):
                result.failed.append((src, f"colorizing failed: {_reason(colour)}"))
            else:
                try:
                    save(src, dst, colour, meta)
                    result.written.append(os.fspath(dst))
                    result.pairs.append((src, os.fspath(dst)))
                    if src in colour_inputs:
                        result.recolored.append(src)
                except ImageWriteError as err:
                    result.failed.append((src, f"cannot write {err.path}: {err.reason}"))
                except Exception as err:  # noqa: BLE001 - reported per file
                    result.failed.append((src, f"cannot write {dst}: {_reason(err)}"))
            if bar is not None:
                bar.update(1)

    def colour_photos(loaded):
        """Colour photos: skipped (``skip_color``) or warned about; the others go on."""
        keep = []
        for item in loaded:
            src, is_colour = item[0], item[4]
            if not is_colour:
                keep.append(item)
            elif skip_color:
                result.skipped.append((src, SKIPPED_COLOR))
                if bar is not None:
                    bar.update(1)
            else:
                colour_inputs.add(src)
                k = len(colour_inputs)
                if k <= _COLOR_WARNINGS:
                    tell(
                        f"{src} is a colour photo: its colours are replaced by the model's "
                        "(--skip-color / skip_color=True leaves colour photos alone)",
                        ColorPhotoWarning,
                    )
                elif k == _COLOR_WARNINGS + 1:
                    tell(
                        "more colour photos are being recoloured; the summary counts them",
                        ColorPhotoWarning,
                    )
                keep.append(item)
        return keep

    chunks = [todo[i : i + colorizer.batch_size] for i in range(0, len(todo), colorizer.batch_size)]
    # At most three batches in memory: the one being decoded, the one being coloured and
    # the one being encoded, however many files there are.
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kcolor-read")
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kcolor-write")
    writing = None
    try:
        pending = reader.submit(load, chunks[0]) if chunks else None
        for k in range(len(chunks)):
            loaded, failed = pending.result()
            pending = reader.submit(load, chunks[k + 1]) if k + 1 < len(chunks) else None
            result.failed.extend(failed)
            if bar is not None and failed:
                bar.update(len(failed))
            loaded = colour_photos(loaded)
            if not loaded:
                continue
            photos = [photo for _, _, photo, _, _ in loaded]
            try:
                colours = colorizer.colorize_arrays(photos, rgbx=True)
            except Exception:
                # Find the culprit(s): one photo at a time.
                colours = []
                for photo in photos:
                    try:
                        colours.append(colorizer.colorize_arrays([photo], rgbx=True)[0])
                    except Exception as err:  # noqa: BLE001 - reported per file
                        colours.append(err)
            del photos
            items = [
                (src, dst, col, meta)
                for (src, dst, _, meta, _), col in zip(loaded, colours, strict=True)
            ]
            del loaded, colours
            if writing is not None:
                writing.result()  # the previous batch is on disk (or raised)
            writing = writer.submit(write, items)
            del items
        if writing is not None:
            writing.result()
    except KeyboardInterrupt as interrupt:
        # Ctrl-C: the batch already coloured is still written (atomic saves; a Ctrl-C inside
        # the writer stops it at once), then the partial result goes up.
        writer.shutdown(wait=True)
        finished = {src for src, _ in result.failed} | {src for src, _ in result.pairs}
        finished |= {src for src, _ in result.skipped}
        result.interrupted = True
        result.not_done = sum(1 for src, _ in todo if src not in finished) + len(videos)
        interrupt.result = result
        raise
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
        writer.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    _colorize_videos(colorizer, videos, result, overwrite=overwrite, progress=progress, crf=crf)
    return result


def _colorize_videos(colorizer, videos, result, *, overwrite, progress, crf) -> None:
    """Colour video files one at a time into ``result``; a bad one is reported, not fatal."""
    from kcolor.video import colorize_video

    for k, (src, dst) in enumerate(videos):
        try:
            colorize_video(colorizer, src, dst, crf=crf, overwrite=overwrite, progress=progress)
        except KeyboardInterrupt as interrupt:  # the output is not written (atomic)
            result.interrupted = True
            result.not_done = len(videos) - k
            interrupt.result = result
            raise
        except ImageReadError as err:  # VideoReadError: truncated, no video stream, ...
            result.failed.append((src, _reason(err)))
        except ImageWriteError as err:
            result.failed.append((src, f"cannot write {err.path}: {err.reason}"))
        except Exception as err:  # noqa: BLE001 - one bad video never stops the job
            result.failed.append((src, f"colorizing the video failed: {_reason(err)}"))
        else:
            result.written.append(os.fspath(dst))
            result.pairs.append((src, os.fspath(dst)))
