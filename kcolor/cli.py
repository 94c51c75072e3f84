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
  kcolor train --model beta --data photos/ -o runs/beta --epochs 100 --minutes 30
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
    p.add_argument(
        "--unsafe",
        action="store_true",
        help="allow a .keras model that holds Python code (a Lambda layer) to load: only for "
        "files you trust, since loading them can run that code",
    )
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
    if getattr(args, "unsafe", False):
        kwargs["safe_mode"] = False
    try:
        colorizer = _load_colorizer(args.model, **kwargs)
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
    except KeyboardInterrupt as interrupt:
        partial = getattr(interrupt, "result", None)
        if partial is not None:
            print(partial.summary())
        _err(
            "interrupted: the outputs listed as written are complete; run the same command "
            "again to do the rest (existing outputs are kept and reported)."
        )
        return 130
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
    p.add_argument(
        "--minutes",
        type=float,
        default=None,
        metavar="M",
        help="stop after about M minutes of training (the whole epochs that fit; "
        "--resume continues later)",
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
    except KeyboardInterrupt:
        _err(
            f"interrupted. Every finished epoch is kept in {args.output}; continue with the "
            "same command plus --resume."
        )
        return 130


def _finite_logs(logs) -> bool:
    import math

    for key in ("loss", "val_loss"):
        if key in (logs or {}):
            try:
                if not math.isfinite(float(logs[key])):
                    return False
            except (TypeError, ValueError):
                return False
    return True


def _best_from_history(csv_path: Path, monitor: str):
    """The best (lowest) finite ``monitor`` value logged in a run's history.csv, or None."""
    import numpy as np
    import pandas as pd

    try:
        values = pd.read_csv(csv_path)[monitor].to_numpy(dtype="float64")
    except Exception:  # noqa: BLE001 - no history (yet): nothing to beat
        return None
    values = values[np.isfinite(values)]
    return float(values.min()) if values.size else None


def _backup_epoch(backup_dir: Path):
    """How many epochs the BackupAndRestore folder says are done (None without a backup)."""
    try:
        return int(json.loads((backup_dir / "training_metadata.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _training_guards():
    """Keras callbacks for a safe run: NaN stop that remembers where, finite-only backups."""
    import keras

    class StopOnNaN(keras.callbacks.TerminateOnNaN):
        """TerminateOnNaN that records the epoch, batch and value where the loss broke."""

        stopped = None

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch

        def on_batch_end(self, batch, logs=None):
            if self.stopped is None and not _finite_logs({"loss": (logs or {}).get("loss", 0.0)}):
                self.stopped = (getattr(self, "_epoch", 0), int(batch), float(logs["loss"]))
            super().on_batch_end(batch, logs)

    class FiniteBackupAndRestore(keras.callbacks.BackupAndRestore):
        """BackupAndRestore that never backs up an epoch whose loss is NaN or infinite,
        so --resume restarts from the last good epoch, not from broken weights."""

        def on_epoch_end(self, epoch, logs=None):
            if _finite_logs(logs):
                super().on_epoch_end(epoch, logs)

    class ForceLearningRate(keras.callbacks.Callback):
        """Set the optimizer's learning rate at the start of fit, after BackupAndRestore has
        restored the old one with the optimizer state: on --resume, the --lr given wins."""

        def __init__(self, learning_rate):
            super().__init__()
            self.learning_rate = float(learning_rate)

        def on_train_begin(self, logs=None):
            self.model.optimizer.learning_rate.assign(self.learning_rate)

    return StopOnNaN, FiniteBackupAndRestore, ForceLearningRate


def _train(args) -> int:
    import keras

    import kcolor
    from kcolor import io as kio
    from kcolor.callbacks import BestModelCheckpoint, ColorizationPreview, PandasLogger, TimeBudget
    from kcolor.datasets import ImageFolderDataset
    from kcolor.errors import DataError

    if args.minutes is not None and not args.minutes > 0:
        _err(f"--minutes must be positive, got {args.minutes}")
        return 2
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
    model_path = run_dir / "model.keras"
    backup_dir = run_dir / "backup"
    threshold = None
    if args.resume:
        saved = BestModelCheckpoint.read_best(model_path)
        if (saved is None or saved.get("monitor") != monitor) and model_path.is_file():
            # A run without the sidecar: its history says what model.keras scored.
            threshold = _best_from_history(run_dir / "history.csv", monitor)
        done = _backup_epoch(backup_dir)
        if done is None:
            print(f"{run_dir}: no backup to resume from; starting at epoch 1", file=sys.stderr)
        else:
            print(
                f"resuming {run_dir}: {done} epoch(s) done, continuing at epoch {done + 1} "
                f"of {args.epochs}",
                file=sys.stderr,
            )
    StopOnNaN, FiniteBackupAndRestore, ForceLearningRate = _training_guards()
    nan_guard = StopOnNaN()
    checkpoint = BestModelCheckpoint(model_path, monitor=monitor, initial_value_threshold=threshold)
    callbacks = [
        nan_guard,
        PandasLogger(run_dir / "history.csv"),
        ColorizationPreview(
            list(sample_x) if isinstance(sample_x, tuple) else sample_x,
            sample_y,
            run_dir / "previews",
        ),
        checkpoint,
        # Kept after the run (delete_checkpoint=False), so `--resume --epochs MORE` extends it;
        # double_checkpoint keeps the previous backup in case a kill lands mid-save.
        FiniteBackupAndRestore(backup_dir, double_checkpoint=True, delete_checkpoint=False),
        ForceLearningRate(args.lr),  # after the backup's restore
    ]
    # Only whole epochs: --resume's backup is written at epoch ends.
    budget = TimeBudget(args.minutes * 60, stop_mid_epoch=False) if args.minutes else None
    if budget is not None:
        callbacks.append(budget)
    print(
        f"training {args.model} on {len(train_paths)} photos ({len(val_paths)} held out for validation), "
        f"{args.size}x{args.size}, {args.epochs} epochs, on {kcolor.device()}",
        file=sys.stderr,
    )
    model.fit(
        train_fit,
        validation_data=val_fit,
        epochs=args.epochs,
        callbacks=callbacks,
        verbose=2 if args.quiet or not sys.stderr.isatty() else 1,
    )
    from kcolor.reports import build_report

    try:
        report = build_report(run_dir)
    except Exception as err:  # noqa: BLE001 - the run itself is fine without its report
        report = f"not written ({type(err).__name__}: {err})"
    best = "none" if checkpoint.best is None else f"{checkpoint.best:.5g}"
    if nan_guard.stopped is not None:
        epoch, batch, value = nan_guard.stopped
        kept = (
            f"{model_path} still holds the best finite epoch ({monitor} {best})"
            if model_path.is_file()
            else "no model was saved (no epoch finished with a finite loss)"
        )
        _err(
            f"the loss became {value} at epoch {epoch + 1}, batch {batch + 1}, so training "
            f"stopped; {kept}. Lower the learning rate (--lr, now {args.lr:g}); --resume then "
            "continues from the last good epoch."
        )
        return 1
    if not model_path.is_file():  # e.g. every epoch had already run (--resume of a finished run)
        model.save(model_path)
    if budget is not None and budget.stopped_by_time:
        print(
            f"stopped by --minutes {args.minutes:g} after {budget.epochs_done} epoch(s) of this "
            f"run; `{PROG} train ... -o {run_dir} --resume` continues",
            file=sys.stderr,
        )
    print(f"best {monitor}: {best}")
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


# ---------------------------------------------------------------- evaluate
_EPILOG_EVALUATE = """\
examples:
  kcolor evaluate photos/bsds500/test --model beta-photos -o eval/
  kcolor evaluate photos/ --model runs/a --model runs/b -o eval/ --limit 100 --semantic

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
        "the originals: PSNR, SSIM, AuC, colourfulness, its gap to the originals, chroma ratio "
        "(and, with --semantic, whether an ImageNet classifier sees the same thing).",
        epilog=_EPILOG_EVALUATE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA_DIR", help="folder of colour photos (or one image)")
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
        help="also measure semantic agreement (EfficientNet-Lite0 top-1 class)",
    )
    p.add_argument("--keep-grey", action="store_true", help="do not drop grey photos")
    p.add_argument("-r", "--recursive", action="store_true", help="also use photos in sub-folders")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def _cmd_evaluate(args) -> int:
    from kcolor.errors import KcolorError
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
        )
    except KcolorError as err:
        _err(str(err))
        return 2
    print(format_summary(summary))
    print(f"output folder: {args.output}  (per_image.csv, summary.csv, report.html)")
    return 0


# ---------------------------------------------------------------- main
#: name -> (add parser, run). `kcolor evaluate` (a later issue) registers here.
COMMANDS = {
    "colorize": (_add_colorize, _cmd_colorize),
    "models": (_add_models, _cmd_models),
    "train": (_add_train, _cmd_train),
    "demo": (_add_demo, _cmd_demo),
    "evaluate": (_add_evaluate, _cmd_evaluate),
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
