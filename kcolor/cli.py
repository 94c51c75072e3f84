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
import json
import os
import sys
from pathlib import Path

PROG = "kcolor"

_EPILOG_COLORIZE = """\
examples:
  kcolor colorize old.jpg -o coloured/
  kcolor colorize album/ scans/ -o coloured/ --recursive
  kcolor colorize album/ -o coloured/ --model runs/faces      # a `kcolor train` run
  kcolor colorize album/ -o coloured/ --model my_model.keras --size 384

Outputs keep the input's name (and, for folders, its sub-path) under OUTDIR; formats
without a writer (e.g. GIF) are written as PNG. Inputs are never overwritten, existing
outputs only with --overwrite. Every file that fails is listed at the end with the
reason, and the exit status is then 1.
"""

_EPILOG_TRAIN = """\
examples:
  kcolor train --model beta --data photos/ -o runs/beta --epochs 20
  kcolor train --model beta --data photos/ -o runs/beta --epochs 40 --resume
  kcolor train --model fusion --data photos/ -o runs/fusion --embedder efficientnet_lite0

The run folder then holds config.json, model.keras (the best epoch), history.csv,
previews/, backup/ (for --resume) and report.html; use it directly with
`kcolor colorize --model RUN_DIR ...`.
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _size(text: str) -> int:
    value = _positive_int(text)
    if value % 8:
        raise argparse.ArgumentTypeError(
            f"the size must be a multiple of 8 (the networks downsample 3 times), got {value}"
        )
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {value}")
    return value


def _err(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


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
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and/or folders")
    p.add_argument(
        "-o", "--output", required=True, metavar="OUTDIR", help="output folder (created)"
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
    p.add_argument("--suffix", default="", help="appended to each output name, e.g. _color")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def _load_colorizer(spec, **kwargs):
    from kcolor.colorizer import Colorizer

    return Colorizer.load(spec, **kwargs)


def _cmd_colorize(args) -> int:
    from kcolor.errors import KcolorError

    kwargs = {"batch_size": args.batch_size}
    if args.size:
        kwargs["input_size"] = args.size
    try:
        colorizer = _load_colorizer(args.model, **kwargs)
    except KcolorError as err:
        _err(str(err))
        return 2
    try:
        result = colorizer.colorize_files(
            args.inputs,
            args.output,
            overwrite=args.overwrite,
            suffix=args.suffix,
            progress=not args.quiet,
            recursive=args.recursive,
        )
    except KcolorError as err:
        _err(str(err))
        return 2
    print(result.summary())
    if not result.written and not result.failed:
        _err(
            "no images found in the inputs"
            + ("" if args.recursive else " (use --recursive for sub-folders)")
        )
        return 1
    if result.written:
        print(f"output folder: {args.output}")
    return 1 if result.failed else 0


# ---------------------------------------------------------------- models
def _add_models(sub):
    return sub.add_parser(
        "models",
        help="list the pretrained presets and whether they are installed",
        description="List kcolor's presets: name, architecture, input size, installed or not.",
    )


def _cmd_models(args) -> int:
    from kcolor import presets

    rows = []
    for name in presets.list_presets():
        entry = presets.get_preset(name)
        if presets.is_installed(name):
            state = "installed"
        elif entry.get("url"):
            state = "download"
        else:
            state = "not available"
        size = entry.get("input_size") or "any"
        arch = entry["architecture"] + (f"+{entry['embedder']}" if entry.get("embedder") else "")
        rows.append((name, arch, str(size), state, entry["description"]))
    head = ("NAME", "ARCHITECTURE", "SIZE", "STATUS", "DESCRIPTION")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for row in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
    if not any(presets.is_installed(n) for n in presets.list_presets()):
        print(
            "\nNo preset weights are installed in this version. Train your own with\n"
            "  kcolor train --model beta --data PHOTO_FOLDER -o RUN_DIR\n"
            "and colour with `kcolor colorize --model RUN_DIR ...`."
        )
    return 0


# ---------------------------------------------------------------- train
def _add_train(sub):
    p = sub.add_parser(
        "train",
        help="train a colouriser on a folder of colour photos",
        description="Train one of the article's networks on your own photos with model.fit: "
        "augmented training images, a held-out validation split, a CSV log, preview grids, "
        "the best model, a resumable backup and an HTML report, all in RUN_DIR.",
        epilog=_EPILOG_TRAIN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model", required=True, choices=["alpha", "beta", "fusion"], help="architecture"
    )
    p.add_argument("--data", required=True, metavar="DIR", help="folder of colour photos")
    p.add_argument("-o", "--output", required=True, metavar="RUN_DIR", help="run folder (created)")
    p.add_argument(
        "--epochs", type=_positive_int, default=10, metavar="N", help="epochs (default 10)"
    )
    p.add_argument(
        "--size",
        type=_size,
        default=256,
        metavar="N",
        help="training crop side, a multiple of 8 (default 256)",
    )
    p.add_argument("--batch-size", type=_positive_int, default=16, metavar="N", help="default 16")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument(
        "--val-split",
        type=_fraction,
        default=0.1,
        metavar="F",
        help="fraction of photos held out for validation (default 0.1)",
    )
    p.add_argument(
        "--embedder",
        default="efficientnet_lite0",
        metavar="NAME",
        help="fusion only: the frozen classifier giving the embedding (default efficientnet_lite0)",
    )
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in RUN_DIR")
    p.add_argument(
        "-r", "--recursive", action="store_true", help="also use photos in sub-folders of DIR"
    )
    p.add_argument("--seed", type=int, default=0, help="seed for the split, order and augmentation")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="N",
        help="data loading threads (default 1)",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="one line per epoch instead of a progress bar"
    )
    return p


def _split(paths, val_split: float, seed: int):
    import numpy as np

    paths = sorted(paths)
    if val_split <= 0 or len(paths) < 2:
        return paths, []
    order = np.random.default_rng(seed).permutation(len(paths))
    n_val = min(len(paths) - 1, max(1, int(round(val_split * len(paths)))))
    val = sorted(paths[i] for i in order[:n_val])
    train = sorted(paths[i] for i in order[n_val:])
    return train, val


def _embedded(dataset, embedder, cache: bool):
    """Wrap a ``(L, ab)`` dataset so it yields ``((L, embedding), ab)`` for a fusion model."""
    import keras
    import numpy as np

    class _Embedded(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self._cache = {}

        def __len__(self):
            return len(dataset)

        def __getitem__(self, index):
            x, y = dataset[index]
            emb = self._cache.get(index) if cache else None
            if emb is None:
                emb = np.asarray(embedder(x), dtype="float32")
                if cache:
                    self._cache[index] = emb
            return (x, emb), y

        def on_epoch_end(self):
            dataset.on_epoch_end()

    return _Embedded()


def _cmd_train(args) -> int:
    from kcolor.errors import KcolorError

    try:
        return _train(args)
    except KcolorError as err:
        _err(str(err))
        return 2


def _train(args) -> int:
    import keras

    import kcolor
    from kcolor import io as kio
    from kcolor.callbacks import ColorizationPreview, PandasLogger
    from kcolor.datasets import ImageFolderDataset
    from kcolor.errors import DataError

    run_dir = Path(args.output)
    config_path = run_dir / "config.json"
    if run_dir.exists() and any(run_dir.iterdir()) and not args.resume:
        _err(
            f"{run_dir} exists and is not empty: pass --resume to continue that run, or choose a new RUN_DIR"
        )
        return 2
    if args.resume and config_path.is_file():
        old = json.loads(config_path.read_text())
        if old.get("architecture") != args.model:
            _err(
                f"{run_dir} holds a {old.get('architecture')!r} run; cannot resume it as {args.model!r}"
            )
            return 2
    data = Path(args.data)
    if not data.is_dir():
        raise DataError(f"{data}: no such folder")
    paths, _ = kio.find_images([data], recursive=args.recursive)
    if not paths:
        raise DataError(
            f"{data}: no images found"
            + ("" if args.recursive else " (use --recursive for sub-folders)")
        )
    train_paths, val_paths = _split(paths, args.val_split, args.seed)

    keras.utils.set_random_seed(args.seed)
    common = {
        "size": args.size,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "workers": args.workers,
    }
    train_ds = ImageFolderDataset(train_paths, augment=True, **common)
    val_ds = ImageFolderDataset(val_paths, augment=False, **common) if val_paths else None

    config = {"input_shape": [None, None, 1]}
    embedder = None
    if args.model == "fusion":
        from kcolor.models.embedders import get_embedder

        embedder = get_embedder(args.embedder)
        config["embedding_dim"] = int(embedder.embedding_dim)
        train_fit = _embedded(train_ds, embedder, cache=False)
        val_fit = _embedded(val_ds, embedder, cache=True) if val_ds is not None else None
    else:
        train_fit, val_fit = train_ds, val_ds

    run_dir.mkdir(parents=True, exist_ok=True)
    run_config = {
        "architecture": args.model,
        "config": config,
        "input_size": args.size,
        "embedder": args.embedder if args.model == "fusion" else None,
        "data": os.fspath(data.resolve()),
        "train_images": len(train_paths),
        "val_images": len(val_paths),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "val_split": args.val_split,
        "seed": args.seed,
        "kcolor_version": kcolor.__version__,
        "command": " ".join([PROG, "train", *sys.argv[2:]]) if sys.argv[1:2] == ["train"] else None,
    }
    config_path.write_text(json.dumps(run_config, indent=2) + "\n")

    import kcolor.models as models

    model = getattr(models, args.model)(**config)
    model.compile(optimizer=keras.optimizers.Adam(args.lr), loss="mse")

    sample = val_fit[0] if val_fit is not None else train_fit[0]
    sample_x, sample_y = sample
    monitor = "val_loss" if val_fit is not None else "loss"
    callbacks = [
        PandasLogger(run_dir / "history.csv"),
        ColorizationPreview(
            list(sample_x) if isinstance(sample_x, tuple) else sample_x,
            sample_y,
            run_dir / "previews",
        ),
        keras.callbacks.ModelCheckpoint(
            run_dir / "model.keras", monitor=monitor, save_best_only=True
        ),
        keras.callbacks.BackupAndRestore(run_dir / "backup"),
        keras.callbacks.TerminateOnNaN(),
    ]
    print(
        f"training {args.model} on {len(train_paths)} photos ({len(val_paths)} held out for validation), "
        f"{args.size}x{args.size}, {args.epochs} epochs, on {kcolor.device()}",
        file=sys.stderr,
    )
    history = model.fit(
        train_fit,
        validation_data=val_fit,
        epochs=args.epochs,
        callbacks=callbacks,
        verbose=2 if args.quiet or not sys.stderr.isatty() else 1,
    )
    if not (run_dir / "model.keras").is_file():
        # E.g. the loss went NaN on the first epoch: keep the last weights for inspection.
        model.save(run_dir / "model.keras")
    from kcolor.reports import build_report

    report = build_report(run_dir)
    losses = history.history.get(monitor) or [float("nan")]
    print(f"best {monitor}: {min(losses):.5g}")
    print(f"run folder: {run_dir}  (model.keras, history.csv, previews/, report: {report})")
    print(f"colour photos with it: {PROG} colorize PHOTOS... -o OUTDIR --model {run_dir}")
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
        default=None,
        metavar="PRESET_OR_PATH",
        help="as for `kcolor colorize` (default: the default preset)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    return p


def _cmd_demo(args) -> int:
    import numpy as np

    from kcolor import io as kio
    from kcolor import presets
    from kcolor.errors import KcolorError

    if args.model is None and not presets.is_available(presets.DEFAULT_PRESET):
        _err(
            f"no trained preset ships with this version of kcolor yet (the default, "
            f"{presets.DEFAULT_PRESET!r}, has no weights), so there is nothing real to demo. "
            f"Train one with `{PROG} train --model beta --data PHOTO_FOLDER -o RUN_DIR` and run "
            f"`{PROG} demo --model RUN_DIR`."
        )
        return 1
    out = Path(args.output)
    if out.exists() and not args.overwrite:
        _err(f"{out} exists already (pass --overwrite to replace it)")
        return 1
    try:
        colorizer = _load_colorizer(args.model)
    except KcolorError as err:
        _err(str(err))
        return 2
    from skimage import data

    grey = kio.as_rgb(data.camera())
    colour = colorizer.colorize(grey)
    gap = np.full((grey.shape[0], 8, 3), 255, np.uint8)
    try:
        kio.save_image(out, np.concatenate([grey, gap, colour], axis=1), overwrite=args.overwrite)
    except KcolorError as err:
        _err(str(err))
        return 1
    print(f"wrote {out}: before (left) and after (right)")
    return 0


# ---------------------------------------------------------------- main
#: name -> (add parser, run). `kcolor evaluate` (a later issue) registers here.
COMMANDS = {
    "colorize": (_add_colorize, _cmd_colorize),
    "models": (_add_models, _cmd_models),
    "train": (_add_train, _cmd_train),
    "demo": (_add_demo, _cmd_demo),
}


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
    try:
        return COMMANDS[args.command][1](args)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
