"""``kcolor train``: train a colouriser on folders of colour photos into a run folder.

The options come from :func:`kcolor.training.config.add_arguments` (one table of
:class:`~kcolor.training.TrainConfig` fields), plus ``--config``, ``--resume`` and ``-q``;
under ``torchrun`` the run is distributed. Keras and torch load only inside :func:`run`.

Example:

>>> from kcolor.cli import build_parser
>>> from kcolor.cli.train import train_config_from_args
>>> args = build_parser().parse_args(
...     ["train", "--model", "beta", "--data", "photos/", "-o", "runs/b", "--epochs", "3"]
... )
>>> train_config_from_args(args).epochs
3
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from kcolor.cli.common import PROG, error
from kcolor.formatting import plural as _plural

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


def add_parser(sub):
    """Add ``kcolor train`` to the subparsers ``sub``; return its parser."""
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
    (with ``--config FILE``, the file's options, overridden by those given).

    Args:
        args: the ``argparse.Namespace`` of ``kcolor train``.

    Returns:
        A :class:`kcolor.training.TrainConfig` (not validated yet).

    Example:

    >>> from kcolor.cli import build_parser
    >>> args = build_parser().parse_args(
    ...     ["train", "--model", "beta", "--data", "photos/", "-o", "runs/b", "--epochs", "3"]
    ... )
    >>> train_config_from_args(args).epochs
    3
    """
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


def run(args) -> int:
    """Run ``kcolor train`` with the parsed ``args``; return the exit status."""
    from kcolor.errors import KcolorError, RunComplete

    try:
        _check_train_args(args)
        config = train_config_from_args(args)
        config.validate()
    except (KcolorError, ValueError) as err:
        error(str(err))
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
        error(str(err))
        return 2
    except KeyboardInterrupt:
        error(
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
        error(
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
