"""``kcolor colorize``: colour photos, folders and videos into an output folder.

Also colour hints (``--hints``/``--scribble``, one photo, either engine), the engine choice
(``--engine``: the preset's exported ONNX graph or Keras, :func:`_load_colorizer`) and the
spinner shown while a model loads (:func:`_status`). Keras and torch load only inside
:func:`run`, and not at all for a preset with an export.

Example:

>>> import argparse
>>> from kcolor.cli import colorize
>>> parser = argparse.ArgumentParser(prog="kcolor")
>>> p = colorize.add_parser(parser.add_subparsers())
>>> parser.parse_args(["colorize", "old.jpg", "-o", "out"]).engine
'auto'
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
from pathlib import Path

from kcolor import argtypes
from kcolor.cli.common import _VIVIDNESS_HELP, PROG, error

_EPILOG_COLORIZE = """\
examples:
  kcolor colorize old.jpg -o coloured/
  kcolor colorize film.mp4 -o coloured/ --crf 20            # a video: steady colours, sound kept
  kcolor colorize album/ scans/ -o coloured/ --recursive
  kcolor colorize album/ -o coloured/ --model runs/faces      # a `kcolor train` run
  kcolor colorize album/ -o coloured/ --model my_model.keras --size 384
  kcolor colorize old.jpg -o vivid/ --vividness 0.8           # stronger colours
  kcolor colorize old.jpg -o coloured/ --hints hints.json     # colour hints (docs/hints.md)

Outputs keep the input's name (and, for folders, its sub-path) under OUTDIR; formats
without a writer (e.g. GIF) are written as PNG; two inputs with the same output name
give name.png and name-2.png, with a warning. Outputs keep the input's EXIF (date taken,
camera; turned upright, so without its Orientation tag) and ICC profile, except BMP
files, which cannot hold them. A colour photo is recoloured with a warning; --skip-color
leaves colour photos alone. Inputs are never overwritten, existing outputs only with
--overwrite. Every file that fails is listed at the end with the reason, and the exit
status is then 1.
"""


def _load_colorizer(spec, engine: str = "auto", **kwargs):
    """The colouriser of ``spec`` on ``engine``: with ``"auto"``, the preset's exported graph
    (no Keras: :mod:`kcolor.fast`) when it has one, else Keras with a one-line note."""
    from kcolor.fast.engine import load_colorizer

    def note(text):
        print(f"{PROG}: note: {text}", file=sys.stderr)

    return load_colorizer(spec, engine=engine, on_fallback=note, **kwargs)


#: The spinner's frames (ASCII: every terminal encoding has them).
_SPINNER = "|/-\\"


@contextlib.contextmanager
def _status(text: str, enabled: bool = True, interval: float = 0.1):
    """A spinner and ``text`` on one stderr line while the block runs (loading a model takes
    5-9 s), wiped at the end; only on a terminal: nothing at all goes to a log or a pipe."""
    stream = sys.stderr
    try:
        tty = enabled and stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        tty = False
    if not tty:
        yield
        return
    try:
        ("… " + text).encode(getattr(stream, "encoding", None) or "ascii")
        line = text + "…"
    except (UnicodeEncodeError, LookupError):
        line = text + "..."
    stop = threading.Event()

    def spin():
        frame = 0
        while True:
            stream.write(f"\r{_SPINNER[frame % len(_SPINNER)]} {line}")
            stream.flush()
            frame += 1
            if stop.wait(interval):
                return

    thread = threading.Thread(target=spin, name="kcolor-status", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        stream.write("\r" + " " * (len(line) + 2) + "\r")
        stream.flush()


def _model_name(spec) -> str:
    """What ``--model`` names, for people: the preset name or the path as given."""
    if spec is None:
        from kcolor.presets import DEFAULT_PRESET

        return DEFAULT_PRESET
    return os.fspath(spec)


class _NoModel:
    """Stands in for the Colorizer when no photo needs colouring (nothing is loaded)."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size

    def colorize_arrays(self, photos, rgbx=False):
        raise RuntimeError("no model was loaded")


def add_parser(sub):
    """Add ``kcolor colorize`` to the subparsers ``sub``; return its parser."""
    p = sub.add_parser(
        "colorize",
        help="colour photos (files and folders) into an output folder",
        description="Colour black-and-white photos. Any size and any image mode work: the "
        "model paints the colours at its own resolution, and they are laid onto the photo's "
        "full-resolution lightness, so no detail is lost.",
        epilog=_EPILOG_COLORIZE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image files, video files (mp4, mov, mkv, avi, webm) and/or folders",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUTDIR",
        help="output folder (created when the first photo is written)",
    )
    p.add_argument(
        "--model",
        default=None,
        metavar="PRESET_OR_PATH",
        help="a preset name (see `kcolor models`), a .keras file, or a run folder made by "
        "`kcolor train` (default: the default preset)",
    )
    p.add_argument(
        "--batch-size",
        type=argtypes.positive_int,
        default=8,
        metavar="N",
        help="photos per model call (default 8)",
    )
    p.add_argument(
        "-r", "--recursive", action="store_true", help="also colour photos in sub-folders"
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument(
        "--size",
        type=argtypes.size,
        default=None,
        metavar="N",
        help="run the model at NxN (a multiple of 8; default: the size the model was trained at)",
    )
    p.add_argument(
        "--vividness", type=argtypes.vividness, default=None, metavar="V", help=_VIVIDNESS_HELP
    )
    p.add_argument("--suffix", default="", help="appended to each output name, e.g. _color")
    p.add_argument(
        "--crf",
        type=int,
        choices=range(52),
        default=18,
        metavar="0-51",
        help="H.264 quality of video outputs: 0 lossless, 18 (default) looks lossless, 23 "
        "FFmpeg's default, higher is smaller. Videos keep their frame rate, size and sound; "
        "webm and avi inputs are written as .mkv",
    )
    p.add_argument(
        "--skip-color",
        action="store_true",
        help="leave colour photos alone: no output, listed as skipped (by default they are "
        "recoloured, with a warning; sepia and other toned photos count as black and white)",
    )
    p.add_argument(
        "--unsafe",
        action="store_true",
        help="allow a .keras model that holds Python code (a Lambda layer) to load: only for "
        "files you trust, since loading them can run that code",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar, no model-loading status line"
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also list the non-image files found in input folders (they are only counted)",
    )
    p.add_argument(
        "--engine",
        choices=("auto", "onnx", "keras"),
        default="auto",
        help="auto (default): the preset's exported graph (model.onnx, run by onnxruntime: "
        "no Keras, a start in about a second) when it has one, else Keras; onnx: the export "
        "or an error; keras: always Keras (see docs/export.md)",
    )
    hint = p.add_mutually_exclusive_group()
    hint.add_argument(
        "--hints",
        default=None,
        metavar="HINTS.json",
        help="colour hints for a single photo: a JSON list of {'x': .., 'y': .., 'color': "
        "'#rrggbb'} or [x, y, '#rrggbb'] in the photo's pixels (at most 500 points); each "
        "colour spreads over its region (see docs/hints.md)",
    )
    hint.add_argument(
        "--scribble",
        default=None,
        metavar="SCRIBBLE.png",
        help="colour hints for a single photo as an image of its size: pixels with alpha "
        "(or, without alpha, coloured pixels) give their colour to their region",
    )
    return p


def _colorize_hinted(args, kwargs) -> int:
    """``kcolor colorize PHOTO --hints/--scribble``: one photo, on the engine of ``--engine``
    (the exported graph when the preset has one: no Keras)."""
    from kcolor import io as kio
    from kcolor.errors import HintError, KcolorError
    from kcolor.inference import batch
    from kcolor.inference.hints import check_hints

    flag = "--hints" if args.hints else "--scribble"
    if len(args.inputs) != 1 or not os.path.isfile(args.inputs[0]):
        error(f"{flag} takes a single photo file as input, got {' '.join(args.inputs)}")
        return 2
    try:
        if args.hints:
            try:
                with open(args.hints, encoding="utf-8") as f:
                    hints = json.load(f)
            except (OSError, ValueError) as err:
                error(f"{args.hints}: cannot read the hints: {err}")
                return 2
        else:
            hints = Path(args.scribble)
        [(src, dst)] = batch.plan_outputs(args.inputs, args.output, suffix=args.suffix)
        if dst.exists() and not args.overwrite:
            error(f"{dst} exists already (use --overwrite to replace it)")
            return 1
        photo = kio.load_image(src, keep_grey=True)
        hints = check_hints(hints, photo)  # refused before the model loads
        with _status(f"loading {_model_name(args.model)}", enabled=not args.quiet):
            colorizer = _load_colorizer(args.model, **kwargs)
        rgb = colorizer.colorize(photo, hints=hints)
        kio.save_image(dst, rgb, overwrite=args.overwrite)
    except KcolorError as err:
        error(f"{args.hints or args.scribble}: {err}" if isinstance(err, HintError) else str(err))
        return 2
    print(f"wrote {dst}")
    return 0


def run(args) -> int:
    """Run ``kcolor colorize`` with the parsed ``args``; return the exit status."""
    from kcolor.errors import KcolorError

    kwargs = {"batch_size": args.batch_size}
    if args.size:
        kwargs["input_size"] = args.size
    if getattr(args, "vividness", None) is not None:
        kwargs["vividness"] = args.vividness
    if getattr(args, "unsafe", False):
        kwargs["safe_mode"] = False
    if getattr(args, "engine", "auto") != "auto":
        kwargs["engine"] = args.engine
    if getattr(args, "hints", None) or getattr(args, "scribble", None):
        return _colorize_hinted(args, kwargs)
    from kcolor import presets
    from kcolor.inference import batch

    try:
        # Usage errors before torch and Keras load: an unknown preset, a missing model file;
        # and no model at all when nothing needs colouring (missing inputs, all done).
        presets.check_spec(args.model)
        plan = batch.plan_outputs(
            args.inputs, args.output, suffix=args.suffix, recursive=args.recursive
        )
        needed = any(args.overwrite or not dst.exists() for _, dst in plan)
        if needed:
            with _status(f"loading {_model_name(args.model)}", enabled=not args.quiet):
                colorizer = _load_colorizer(args.model, **kwargs)
        else:
            colorizer = _NoModel(args.batch_size)
    except KcolorError as err:
        error(str(err))
        return 2
    except Exception as err:  # noqa: BLE001 - e.g. a library error from deep inside h5py
        error(
            f"cannot load the model {args.model or '(default preset)'}: "
            f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0]}"
        )
        return 2
    try:
        result = batch.colorize_files(
            colorizer,
            args.inputs,
            args.output,
            overwrite=args.overwrite,
            suffix=args.suffix,
            progress=not args.quiet,
            recursive=args.recursive,
            skip_color=getattr(args, "skip_color", False),
            crf=getattr(args, "crf", 18),
        )
    except KcolorError as err:
        error(str(err))
        return 2
    except KeyboardInterrupt as interrupt:
        partial = getattr(interrupt, "result", None)
        if partial is not None:
            print(partial.summary(verbose=getattr(args, "verbose", False)))
        error(
            "interrupted: the outputs listed as written are complete; run the same command "
            "again to do the rest (existing outputs are kept and reported)."
        )
        return 130
    print(result.summary(verbose=getattr(args, "verbose", False)))
    left_alone = any(reason == batch.SKIPPED_COLOR for _, reason in result.skipped)
    if not result.written and not result.failed and not left_alone:
        error(
            "no images found in the inputs"
            + ("" if args.recursive else " (use --recursive for sub-folders)")
        )
        return 1
    if result.written:
        print(f"output folder: {args.output}")
    return 1 if result.failed else 0
