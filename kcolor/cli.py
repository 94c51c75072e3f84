"""The ``kcolor`` command: colour photos, list models, train on your own folder, run a demo.

Each subcommand is a pair ``_add_<name>(subparsers)`` / ``_cmd_<name>(args) -> exit code``
registered in :data:`COMMANDS`; heavy modules (Keras, torch) load only inside the
commands, so ``kcolor --help`` is instant.

Exit codes: 0 success; 1 some inputs failed (the summary says which and why), or the
command could not do its job (e.g. no trained preset for ``demo``); 2 bad usage or a
model/data error before any work was done; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import threading
from pathlib import Path

from kcolor import argtypes
from kcolor.formatting import plural as _plural
from kcolor.serve import cli as _serve_cli

PROG = "kcolor"

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

_EPILOG_TRAIN = """\
examples:
  kcolor train --model beta --data photos/ -o runs/beta --epochs 20
  kcolor train --model beta --data photos/ -o runs/beta --epochs 40 --resume
  kcolor train --model unet --model-arg 'head="classes"' --loss color_classes \\
      --init unet-lite0-photos --data photos/ -o runs/mine   # fine-tune the default preset
  kcolor train --model beta --data photos/ -o runs/beta --epochs 100 --minutes 30
  kcolor train --model fusion --data photos/ -o runs/fusion --loss saturation --penalty 1.5
  kcolor train --model beta --manifest splits/train.csv --val-manifest splits/val.csv -o runs/b
  torchrun --nproc-per-node 2 -m kcolor train --model beta --data photos/ -o runs/ddp

The run folder is a preset folder (config.json, model.weights.h5 of the best epoch,
metadata.json with this command) plus train_config.json, history.csv, previews/,
backup/ (for --resume) and report.html: use it with `kcolor colorize --model RUN_DIR`.
A run that failed before finishing an epoch leaves nothing to resume: run it again. A
finished run resumes with a larger --epochs (or --init RUN_DIR starts a new run from it).
"""


_positive_int, _size, _fraction = argtypes.positive_int, argtypes.size, argtypes.fraction

#: The help of ``--vividness`` (colorize and demo).
_VIVIDNESS_HELP = (
    "how colourful, from 0 to 1: 0 muted, 0.5 the preset's balance, 1 vivid (default: the "
    "preset's own, 0.5 unless it records another)"
)


def _err(message: str) -> None:
    """Print ``kcolor: error: ...`` on stderr, on one line (library messages may hold newlines)."""
    text = " ".join(str(message).split())
    print(f"{PROG}: error: {text}", file=sys.stderr)


# ---------------------------------------------------------------- colorize
def _add_colorize(sub):
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
        type=_positive_int,
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
        type=_size,
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
    """``kcolor colorize PHOTO --hints/--scribble``: one photo, with the Keras colouriser."""
    from kcolor import io as kio
    from kcolor.errors import HintError, KcolorError
    from kcolor.inference import batch
    from kcolor.inference.colorizer import Colorizer
    from kcolor.inference.hints import check_hints

    flag = "--hints" if args.hints else "--scribble"
    if len(args.inputs) != 1 or not os.path.isfile(args.inputs[0]):
        _err(f"{flag} takes a single photo file as input, got {' '.join(args.inputs)}")
        return 2
    try:
        if args.hints:
            try:
                with open(args.hints, encoding="utf-8") as f:
                    hints = json.load(f)
            except (OSError, ValueError) as err:
                _err(f"{args.hints}: cannot read the hints: {err}")
                return 2
        else:
            hints = Path(args.scribble)
        [(src, dst)] = batch.plan_outputs(args.inputs, args.output, suffix=args.suffix)
        if dst.exists() and not args.overwrite:
            _err(f"{dst} exists already (use --overwrite to replace it)")
            return 1
        photo = kio.load_image(src, keep_grey=True)
        hints = check_hints(hints, photo)  # refused before the model loads
        with _status(f"loading {_model_name(args.model)}", enabled=not args.quiet):
            colorizer = Colorizer.from_preset(args.model, **kwargs)
        rgb = colorizer.colorize(photo, hints=hints)
        kio.save_image(dst, rgb, overwrite=args.overwrite)
    except KcolorError as err:
        _err(f"{args.hints or args.scribble}: {err}" if isinstance(err, HintError) else str(err))
        return 2
    print(f"wrote {dst}")
    return 0


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


def _cmd_colorize(args) -> int:
    from kcolor.errors import KcolorError

    kwargs = {"batch_size": args.batch_size}
    if args.size:
        kwargs["input_size"] = args.size
    if getattr(args, "vividness", None) is not None:
        kwargs["vividness"] = args.vividness
    if getattr(args, "unsafe", False):
        kwargs["safe_mode"] = False
    if getattr(args, "hints", None) or getattr(args, "scribble", None):
        return _colorize_hinted(args, kwargs)
    if getattr(args, "engine", "auto") != "auto":
        kwargs["engine"] = args.engine
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
        _err(str(err))
        return 2
    except Exception as err:  # noqa: BLE001 - e.g. a library error from deep inside h5py
        _err(
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
        _err(str(err))
        return 2
    except KeyboardInterrupt as interrupt:
        partial = getattr(interrupt, "result", None)
        if partial is not None:
            print(partial.summary(verbose=getattr(args, "verbose", False)))
        _err(
            "interrupted: the outputs listed as written are complete; run the same command "
            "again to do the rest (existing outputs are kept and reported)."
        )
        return 130
    print(result.summary(verbose=getattr(args, "verbose", False)))
    left_alone = any(reason == batch.SKIPPED_COLOR for _, reason in result.skipped)
    if not result.written and not result.failed and not left_alone:
        _err(
            "no images found in the inputs"
            + ("" if args.recursive else " (use --recursive for sub-folders)")
        )
        return 1
    if result.written:
        print(f"output folder: {args.output}")
    return 1 if result.failed else 0


# ---------------------------------------------------------------- train
def _add_train(sub):
    p = sub.add_parser(
        "train",
        help="train a colouriser on folders of colour photos (makes a preset folder)",
        description="Train a kcolor network with model.fit (kcolor.training.train): augmented "
        "training photos, a held-out split, a CSV log, previews, the best epoch as a preset "
        "folder, a resumable backup and an HTML report, all in RUN_DIR. Every shipped preset "
        "lists the command that made it (`kcolor models --json`).",
        epilog=_EPILOG_TRAIN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from kcolor.training.config import add_arguments

    add_arguments(p)  # every TrainConfig field, from its one option table
    p.add_argument(
        "--config",
        metavar="JSON",
        help="read the options from a train_config.json (command-line options given as well win)",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR")
    p.add_argument("-q", "--quiet", action="store_true", help="one line per epoch")
    return p


def train_config_from_args(args):
    """The :class:`kcolor.training.TrainConfig` of parsed ``kcolor train`` arguments
    (with ``--config FILE``, the file's options, overridden by those given)."""
    from kcolor.training.config import TrainConfig

    base = TrainConfig.from_json(args.config) if args.config else None
    return TrainConfig.from_args(args, base=base)


def _check_train_args(args) -> None:
    """Usage errors found before torch and Keras load."""
    from kcolor.errors import DataError

    for d in args.data:
        if not Path(d).exists():
            raise DataError(f"{d}: no such folder or file")
    for m in (args.manifest, args.val_manifest, args.config):
        if m and not Path(m).is_file():
            raise DataError(f"{m}: no such file")
    from kcolor import presets

    if args.model not in presets.BUILDERS and args.model in presets.preset_names():
        flags = " ".join(shlex.quote(f) for f in presets.fine_tune_flags(args.model))
        raise DataError(
            f"--model {args.model} is a preset, not a builder. --model takes a "
            f"builder: {', '.join(presets.BUILDERS)}. A preset is fine-tuned with "
            f"--init {args.model}, on its own network: {PROG} train {flags} "
            "--data PHOTOS -o RUN_DIR"
        )
    if args.init:
        if not Path(args.init).is_file():
            presets.check_spec(args.init)
    if args.minutes is not None and not args.minutes > 0:
        raise DataError(f"--minutes must be positive, got {args.minutes:g}")


def _cmd_train(args) -> int:
    from kcolor.errors import KcolorError, RunComplete

    try:
        _check_train_args(args)
        config = train_config_from_args(args)
        config.validate()
    except (KcolorError, ValueError) as err:
        _err(str(err))
        return 2
    dist = None
    try:
        if os.environ.get("WORLD_SIZE", "1") not in ("", "1"):  # under torchrun
            from kcolor import distributed

            dist = distributed.init_from_env()
        from kcolor import training

        run = training.train(
            config, resume=args.resume, verbose=2 if args.quiet else "auto", dist=dist
        )
    except RunComplete as done:  # nothing to do, nothing written: the run is what was asked
        if dist is None or dist.is_main:
            print(f"{PROG}: {done}", file=sys.stderr)
        return 0
    except KcolorError as err:
        _err(str(err))
        return 2
    except KeyboardInterrupt:
        _err(
            f"interrupted. Every finished epoch is kept in {args.output}; continue with the "
            "same command plus --resume."
        )
        return 130
    finally:
        if dist is not None:
            distributed.shutdown(dist)
    if dist is not None and not dist.is_main:
        return 1 if run.nan is not None else 0
    return _train_summary(run)


def _train_summary(run) -> int:
    from kcolor.formatting import format_value

    best = "none" if run.best is None else format_value(run.monitor, run.best)
    if run.nan is not None:
        epoch, batch, value = run.nan
        kept = (
            f"{run.folder} still holds the best finite epoch ({run.monitor} {best})"
            if run.files.weights.is_file()
            else "no model was saved (no epoch finished with a finite loss)"
        )
        _err(
            f"the loss became {value} at epoch {epoch + 1}, batch {batch + 1}, so training "
            f"stopped; {kept}. Lower the learning rate (--lr, now {run.config.lr:g}); "
            "--resume then continues from the last good epoch."
        )
        return 1
    if run.stopped_by_time:
        print(
            f"stopped by --minutes {run.config.minutes:g} after "
            f"{_plural(run.epochs_run, 'epoch')}; `{PROG} train ... -o {run.folder} --resume` "
            "continues",
            file=sys.stderr,
        )
    print(f"best {run.monitor}: {best}")
    held = (run.metrics or {}).get("model")
    if held:
        grey = run.metrics["grey"]
        print(
            f"held out ({_plural(run.metrics['photos'], 'photo')}): "
            + ", ".join(
                f"{k} {format_value(k, held[k])} (grey {format_value(k, grey[k])})"
                for k in ("psnr", "auc", "delta_colorfulness", "chroma_ratio")
            )
        )
    print(
        f"run folder: {run.folder}  (a preset: config.json, model.weights.h5, metadata.json; "
        f"history.csv, previews/, report: {run.report})"
    )
    print(f"colour photos with it: {PROG} colorize PHOTOS... -o OUTDIR --model {run.folder}")
    return 0


# ---------------------------------------------------------------- convert
def _add_convert(sub):
    p = sub.add_parser(
        "convert",
        help="convert an old run folder into a preset folder",
        description="Convert a run folder of the older format (`kcolor train`: model.keras + "
        "config.json; examples 05/06: model.weights.h5 + config.json) into a preset folder.",
    )
    p.add_argument("source", metavar="OLD_RUN")
    p.add_argument("target", metavar="NEW_FOLDER")
    p.add_argument("--unsafe", action="store_true", help="allow a .keras file with a Lambda layer")
    return p


def _cmd_convert(args) -> int:
    from kcolor import presets

    if presets.legacy_kind(args.source) is None:
        _err(f"{args.source}: not an old kcolor run folder (nothing to convert)")
        return 2
    if Path(args.target).exists():
        _err(f"{args.target}: exists already; choose a new folder")
        return 2
    out = presets.convert_legacy(args.source, args.target, safe_mode=not args.unsafe)
    print(f"converted: {out}  (use it with --model {out})")
    return 0


# ---------------------------------------------------------------- export
def _add_export(sub):
    p = sub.add_parser(
        "export",
        help="write a model as an ONNX file (model.onnx + model.json) to deploy elsewhere",
        description="Write the network of a preset, run folder or .keras file, with its colour "
        "decoding, as one ONNX graph (model.onnx) and a JSON of its inputs, outputs and pre- "
        "and post-processing (model.json); see docs/export.md. With OUTDIR the preset folder "
        "itself, its own export (what `kcolor colorize` uses) is written again.",
    )
    p.add_argument("model", metavar="PRESET_OR_RUN")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model.onnx")
    p.add_argument("--unsafe", action="store_true", help="allow a .keras file with a Lambda layer")
    return p


def _cmd_export(args) -> int:
    from kcolor.presets.export import export_to_folder

    try:
        onnx_file, json_file = export_to_folder(
            args.model, args.output, safe_mode=not args.unsafe, overwrite=args.overwrite
        )
    except FileExistsError as err:
        _err(str(err))
        return 2
    size = onnx_file.stat().st_size / 1e6
    print(f"wrote {onnx_file} ({size:.1f} MB) and {json_file}")
    return 0


# ---------------------------------------------------------------- models
def _add_models(sub):
    p = sub.add_parser(
        "models",
        help="list the presets, the default marked",
        description="List kcolor's presets: name, network, input size, installed or not, and "
        "what each is for; --json adds the `kcolor train` command that made it.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable, with commands")
    return p


def _cmd_models(args) -> int:
    from kcolor import presets

    rows = []
    for name in presets.preset_names():
        try:
            rows.append(presets.describe(name))
        except Exception as err:  # noqa: BLE001 - list the others, name the broken one
            rows.append(
                {
                    "name": name,
                    "default": name == presets.DEFAULT_PRESET,
                    "description": f"(unreadable: {err})",
                    "installed": False,
                }
            )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = []
    for r in rows:
        net = (r.get("builder") or "?") + (f"+{r['embedder']}" if r.get("embedder") else "")
        state = "installed" if r["installed"] else "download"
        label = r["name"] + (" (default)" if r["default"] else "")
        table.append((label, net, str(r.get("input_size") or "any"), state, r["description"]))
    head = ("NAME", "NETWORK", "SIZE", "STATUS", "DESCRIPTION")
    widths = [max(len(t[i]) for t in [head, *table]) for i in range(4)]
    for row in [head, *table]:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
    print(
        f"\nThe default is {presets.DEFAULT_PRESET}. `{PROG} models --json` shows the "
        f"`{PROG} train` command that made each."
    )
    return 0


# ---------------------------------------------------------------- demo
def _add_demo(sub):
    p = sub.add_parser(
        "demo",
        help="colour a bundled black-and-white photo and save a before/after image",
        description="Colour scikit-image's 'camera' photo (a real black-and-white picture) and "
        "write the grey original and the colour result side by side.",
    )
    p.add_argument(
        "-o",
        "--output",
        default="kcolor_demo.png",
        metavar="OUT",
        help="image to write (default kcolor_demo.png)",
    )
    p.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="PRESET_OR_PATH",
        help="as for `kcolor colorize`; repeat it for one panel each (default: the default "
        "preset, next to the article's beta-photos)",
    )
    p.add_argument(
        "--vividness", type=argtypes.vividness, default=None, metavar="V", help=_VIVIDNESS_HELP
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    return p


#: ``kcolor demo`` shows the default preset next to this article preset.
DEMO_ARTICLE_PRESET = "beta-photos"


def _demo_models(models) -> list:
    if models:
        return list(models)
    from kcolor.presets import DEFAULT_PRESET

    return [DEFAULT_PRESET] + (
        [DEMO_ARTICLE_PRESET] if DEFAULT_PRESET != DEMO_ARTICLE_PRESET else []
    )


def _panels(panels, gap: int = 8, caption: int = 22):
    """uint8 RGB panels ``[(label, (H, W, 3)), ...]`` side by side, each label beneath."""
    import numpy as np
    from PIL import Image, ImageDraw

    h = max(image.shape[0] for _, image in panels)
    w = sum(image.shape[1] for _, image in panels) + gap * (len(panels) - 1)
    sheet = Image.new("RGB", (w, h + caption), "white")
    draw, x = ImageDraw.Draw(sheet), 0
    for label, image in panels:
        sheet.paste(Image.fromarray(image), (x, 0))
        draw.text((x + 4, h + 5), label, fill=(0, 0, 0))
        x += image.shape[1] + gap
    return np.asarray(sheet)


def _cmd_demo(args) -> int:
    from kcolor import io as kio
    from kcolor.errors import KcolorError

    out = Path(args.output)
    if out.exists() and not args.overwrite:
        _err(f"{out} exists already (pass --overwrite to replace it)")
        return 1
    models = _demo_models(args.model)
    vividness = getattr(args, "vividness", None)
    kwargs = {} if vividness is None else {"vividness": vividness}
    try:
        colorizers = []
        for spec in models:
            with _status(f"loading {_model_name(spec)}"):
                colorizers.append((spec, _load_colorizer(spec, **kwargs)))
    except KcolorError as err:
        _err(str(err))
        return 2
    from skimage import data

    from kcolor.presets import DEFAULT_PRESET

    grey = kio.as_rgb(data.camera())
    panels = [("black and white", grey)]
    for spec, colorizer in colorizers:
        label = str(spec) + (" (default)" if spec == DEFAULT_PRESET else "")
        label += "" if vividness is None else f", vividness {vividness:g}"
        panels.append((label, colorizer.colorize(grey)))
    try:
        kio.save_image(out, _panels(panels), overwrite=args.overwrite)
    except KcolorError as err:
        _err(str(err))
        return 1
    names = ", ".join(label for label, _ in panels[1:])
    print(f"wrote {out}: the black-and-white photo (left), then {names}")
    return 0


# ---------------------------------------------------------------- evaluate
_EPILOG_EVALUATE = """\
examples:
  kcolor evaluate photos/bsds500/test --model beta-photos -o eval/
  kcolor evaluate photos/ --model runs/a --model runs/b -o eval/ --limit 100 --semantic
  kcolor evaluate photos/bsds500/test photos/article/test -o eval/   # both folders' photos

Every photo is brought to SIZExSIZE (resize-to-fill + centre crop), grey photos are
dropped, and each model colours the photo's grey version (its own L, a = b = 0). That
grey version is also the baseline every model is compared with. OUT gets per_image.csv,
summary.csv and report.html (summary table, best and worst examples); they are replaced.
"""


def _add_evaluate(sub):
    p = sub.add_parser(
        "evaluate",
        help="measure colourisers on colour photos against the grey baseline",
        description="Colour the grey versions of colour photos and measure the result against "
        "the originals: PSNR, SSIM, AuC, colourfulness, its gap to the originals, chroma ratio, "
        "vivid recall (the share of strongly coloured true pixels coloured vividly with the "
        "right hue) and, with --semantic, whether an ImageNet classifier (EfficientNet-Lite1) "
        "sees the same thing and the Fréchet distance of its features to the originals'.",
        epilog=_EPILOG_EVALUATE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "data",
        nargs="+",
        metavar="DATA_DIR",
        help="folders of colour photos (or images): the photos of all of them are evaluated",
    )
    p.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="PRESET_OR_PATH",
        help="a preset name, a .keras file or a `kcolor train` run folder; repeat it to "
        "compare several models (default: the default preset)",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder (created)")
    p.add_argument(
        "--size", type=_size, default=256, metavar="N", help="photos are NxN (default 256)"
    )
    p.add_argument(
        "--limit", type=_positive_int, default=None, metavar="N", help="at most N photos"
    )
    p.add_argument("--batch-size", type=_positive_int, default=8, metavar="N", help="default 8")
    p.add_argument(
        "--semantic",
        action="store_true",
        help="also measure semantic agreement: does a frozen ImageNet classifier (the judge) "
        "give the colourised photo the original's top-1 class",
    )
    p.add_argument(
        "--judge",
        choices=("efficientnet_lite1", "efficientnet_lite0"),
        default="efficientnet_lite1",
        help="the classifier of --semantic (default efficientnet_lite1: not the fusion "
        "model's own Lite0 backbone)",
    )
    p.add_argument("--keep-grey", action="store_true", help="do not drop grey photos")
    p.add_argument("-r", "--recursive", action="store_true", help="also use photos in sub-folders")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def _cmd_evaluate(args) -> int:
    from kcolor import presets
    from kcolor.errors import DataError, KcolorError

    try:  # usage errors before torch and Keras load
        for data in args.data:
            if not Path(data).exists():
                raise DataError(f"{data}: no such file or folder")
        for spec in args.model or [None]:
            presets.check_spec(spec)
    except KcolorError as err:
        _err(str(err))
        return 2
    from kcolor.evaluation import evaluate, format_summary

    try:
        summary = evaluate(
            args.data,
            args.model if args.model else None,
            size=args.size,
            out_dir=args.output,
            batch_size=args.batch_size,
            limit=args.limit,
            drop_grey=not args.keep_grey,
            progress=not args.quiet,
            semantic=args.semantic,
            recursive=args.recursive,
            judge=args.judge,
        )
    except KcolorError as err:
        _err(str(err))
        return 2
    print(format_summary(summary))
    print(f"output folder: {args.output}  (per_image.csv, summary.csv, report.html)")
    return 0


# ---------------------------------------------------------------- main
from kcolor.curation import cli as _data_cli  # noqa: E402  (argparse only until `kcolor data` runs)

#: name -> (add parser, run): every `kcolor` sub-command.
COMMANDS = {
    "colorize": (_add_colorize, _cmd_colorize),
    "models": (_add_models, _cmd_models),
    "train": (_add_train, _cmd_train),
    "demo": (_add_demo, _cmd_demo),
    "evaluate": (_add_evaluate, _cmd_evaluate),
    "convert": (_add_convert, _cmd_convert),
    "export": (_add_export, _cmd_export),
    "serve": (_serve_cli.add_parser, _serve_cli.run),
    "data": (_data_cli.add_parser, _data_cli.run),  # kcolor/curation/cli.py: no Keras, no torch
}


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line (``kcolor: warning: ...``), not Python's source-line format."""
    if os.environ.get("KCOLOR_DEBUG"):
        import warnings

        return warnings._showwarnmsg_impl(  # noqa: SLF001 - the stock format when debugging
            warnings.WarningMessage(message, category, filename, lineno, file, line)
        )
    print(f"{PROG}: warning: {message}", file=file or sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    from kcolor import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Colourise black-and-white photos with Keras 3 on PyTorch, offline.",
        epilog="Run `kcolor COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv=None) -> int:
    """Run the ``kcolor`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    import warnings

    warnings.showwarning = _show_warning
    try:
        return COMMANDS[args.command][1](args)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        # A user never gets a bare traceback: one line naming the error, exit 2 for kcolor's
        # own errors (bad model/data), 1 for anything unexpected. KCOLOR_DEBUG=1 re-raises.
        if os.environ.get("KCOLOR_DEBUG"):
            raise
        from kcolor.errors import KcolorError

        if isinstance(err, KcolorError):
            _err(str(err))
            return 2
        first = (str(err).strip().splitlines() or [""])[0]
        _err(
            f"unexpected {type(err).__name__}: {first} "
            "(set KCOLOR_DEBUG=1 to see the traceback, and please report it)"
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
