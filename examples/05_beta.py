"""Beta version: the encoder/decoder learns colourisation from many photos, with augmentation.

Article section: "Beta version" of Emil Wallner's "Colorize B&W Photos with a 100-line
Neural Network".

## Introduction

The article's second step: the deeper :func:`kcolor.models.beta` (3.9M parameters) is
trained on a folder of photos with Keras's ``ImageDataGenerator`` augmentation (shear,
zoom, rotation, horizontal flip), here :class:`kcolor.datasets.ImageFolderDataset` with
``augment=True``. Wallner suggests faces first (one kind of picture is easier); broad sets
(``tiny-imagenet-val/images``, ``bsds500/train``) make a general colouriser.

The article trains on plain MSE, which gives its "mostly brown" results: where a colour is
uncertain the average of the candidates is the MSE optimum, and averages are grey-brown.
``--loss saturation`` (:class:`kcolor.losses.SaturationMSE`) adds a penalty on lost chroma;
``--loss perceptual`` (:class:`kcolor.losses.PerceptualLoss`) compares EfficientNet-Lite0
features. The run holds out ``--val-split`` of the photos (never augmented) and measures the
trained model on them against the grey baseline: PSNR, SSIM, AuC, colourfulness, ΔCF and
chroma ratio (``metrics.json``).

The script is ``model.fit`` in the open, built from the pieces ``kcolor train``
(:func:`kcolor.training.train`) is made of: a :class:`~kcolor.training.TrainConfig` from the
arguments, :func:`~kcolor.training.config_photos`, :func:`~kcolor.training.make_datasets`,
:func:`~kcolor.training.make_loss`, :func:`~kcolor.training.make_schedule`. The run folder
``--out`` (default ``runs/05_beta``) is a preset folder::

    config.json  model.weights.h5  metadata.json     the preset (kcolor.presets.save_to_preset)
    history.csv  previews/  metrics.json  compare.png  report.html

so ``kcolor.Colorizer.from_preset("runs/05_beta")`` and ``kcolor colorize --model
runs/05_beta`` use it; ``metadata.json`` holds the equivalent ``kcolor train`` command
(``command``) and this script's (``made_by``). ``--save-preset NAME`` exports it as the
float16 preset folder ``kcolor/weights/NAME/``.

Usage:
    python examples/05_beta.py                                   # faces, 64 px
    python examples/05_beta.py --data ../shared/data/photos/tiny-imagenet-val/images \\
        ../shared/data/photos/bsds500/train --loss saturation --epochs 2
    python examples/05_beta.py --smoke                           # seconds, no shared data
"""

# ## Setup

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

import kcolor
from kcolor import io, losses, presets, training
from kcolor import report as reports
from kcolor.callbacks import ColorizationPreview, PandasLogger, TimeBudget
from kcolor.errors import KcolorError
from kcolor.formatting import format_value, plural

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)

SHARED = Path(
    os.environ.get("KCOLOR_SHARED", Path(__file__).resolve().parents[2] / "shared" / "data")
)
SMOKE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina")


def smoke_folder(folder: Path) -> Path:
    """Write a few of scikit-image's colour sample photos as PNG into ``folder`` (no download)."""
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    for name in SMOKE_PHOTOS:
        target = folder / f"{name}.png"
        if not target.exists():
            io.save_image(target, getattr(data, name)()[..., :3])
    return folder


# ## The options
#
# Examples 05 and 06 share them; each one is a field of `kcolor.training.TrainConfig`
# (`--out` is its `output`), so the run's `kcolor train` command can be written down.


def add_common_arguments(parser, default_out):
    """The arguments examples 05 and 06 share."""
    parser.add_argument(
        "--data",
        nargs="+",
        default=None,
        help="image folder(s) or files (default: ../shared/data/photos/faces, as "
        "Wallner suggests; with --smoke: scikit-image's sample photos)",
    )
    parser.add_argument(
        "--size", type=int, default=64, help="training side in pixels (multiple of 8)"
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (cosine decay)")
    parser.add_argument(
        "--loss",
        choices=("mse", "saturation", "perceptual"),
        default="mse",
        help="mse: the article's; saturation: MSE + lost-chroma penalty; "
        "perceptual: EfficientNet-Lite0 features + MSE",
    )
    parser.add_argument("--penalty", type=float, default=1.0, help="SaturationMSE penalty")
    parser.add_argument(
        "--val-split",
        type=float,
        default=0.05,
        help="share of the photos held out (un-augmented) to measure on",
    )
    parser.add_argument(
        "--val-max", type=int, default=256, help="at most this many held-out photos"
    )
    parser.add_argument(
        "--max-images", type=int, default=0, help="train on at most N photos (0: all)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="each photo this many times per epoch"
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=0,
        help="train for this many minutes: the whole epochs that fit (at most "
        "--epochs) and a cosine decay fitted to them (callbacks.TimeBudget)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="data-loading processes (more than 1: multiprocessing)",
    )
    parser.add_argument(
        "--init", help="start from these weights (a preset name or folder, or a .weights.h5 file)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=default_out, help="run folder (a preset folder)")
    parser.add_argument(
        "--save-preset",
        metavar="NAME",
        help="export the run as the float16 preset folder kcolor/weights/NAME/",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="seconds: 32 px, a few photos, 1 epoch (scikit-image photos without ../shared)",
    )


def make_config(args, model: str, **fields) -> training.TrainConfig:
    """The :class:`~kcolor.training.TrainConfig` of the parsed arguments (``--smoke`` applied)."""
    out = Path(args.out)
    if args.smoke:
        args.size, args.epochs, args.batch_size, args.val_max = 32, 1, 4, 2
        if args.data is None:
            args.data = [str(smoke_folder(out / "smoke_photos"))]
            args.val_split = 2 / len(SMOKE_PHOTOS)
        else:
            args.max_images = args.max_images or 8
    args.data = args.data or [str(SHARED / "photos" / "faces")]
    missing = [d for d in args.data if not Path(d).exists()]
    if missing:
        raise SystemExit(f"no such image folder: {', '.join(missing)} (pass --data, or --smoke)")
    config = training.TrainConfig(
        output=str(out),
        data=args.data,
        model=model,
        init=args.init,
        size=args.size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        loss=args.loss,
        penalty=args.penalty,
        val_split=args.val_split,
        val_max=args.val_max,
        max_images=args.max_images,
        repeat=args.repeat,
        minutes=args.minutes or None,
        workers=args.workers,
        seed=args.seed,
        **fields,
    )
    try:
        return config.validate()
    except KcolorError as err:
        raise SystemExit(str(err)) from None


def fit_callbacks(config, schedule, fit_val):
    """The log, previews of the first held-out photos, and (with ``--minutes``) the time budget."""
    run = training.RunFolder(config.output)
    callbacks = [PandasLogger(run.history)]
    if fit_val is not None:
        x, y = fit_val[0]
        x = [a[:6] for a in x] if isinstance(x, tuple) else x[:6]
        every = max(1, config.epochs // 4) if not config.minutes else 5
        callbacks.append(
            ColorizationPreview(x, np.asarray(y)[:6, ..., -2:], run.previews, every=every)
        )
    if config.minutes:
        callbacks.append(TimeBudget(config.minutes * 60, schedule, stop_mid_epoch=False))
    return callbacks


# ## Measuring and saving
#
# The held-out photos are scored by `training.held_out_scores` (model and grey baseline),
# the model becomes a preset folder with `presets.save_to_preset`, and that folder is what
# colours the comparison grid: `Colorizer.from_preset(out)` loads it back.


def grey_of(rgb: np.ndarray) -> np.ndarray:
    """The grey version of uint8 photos (same L, a = b = 0)."""
    return io.grey_version(np.asarray(rgb, np.float32) / 255.0)


def finish(config, model, val, val_paths, *, label, embedder=None, history, wall, argv, meta):
    """Score the held-out photos; write the preset folder, metrics, grid, report (and export)."""
    out = Path(config.output)
    scores = training.held_out_scores(model, val, embedder) if val is not None else {}
    table = {}
    if scores:
        table[f"{label} (held out)"] = {**scores["model"], "photos": scores["photos"]}
        table["grey baseline (held out)"] = {**scores["grey"], "photos": scores["photos"]}
        training.RunFolder(out).metrics_json.write_text(json.dumps(table, indent=2))
    final = {k: float(v[-1]) for k, v in history.history.items() if v}
    epochs_run = len(history.history.get("loss", []))
    presets.save_to_preset(
        model,
        out,
        builder=config.model,
        args=training.builder_args(config, embedder),
        input_size=config.size,
        embedder=config.embedder,
        overwrite=True,
        metadata={
            "run": True,
            "description": f"{meta['example']} ({meta['article_section']}): {label} on "
            f"{plural(meta['train_images'], 'photo')}",
            "command": config.to_command(),
            "made_by": f"python examples/{meta['example']}.py " + shlex.join(argv),
            "train_config": config.to_dict(),
            **meta,
            "seed": config.seed,
            "epochs": config.epochs,
            "epochs_run": epochs_run,
            "wall_seconds": round(wall, 1),
            "device": str(kcolor.device()),
            "final_loss": {k: v for k, v in final.items() if k in ("loss", "val_loss")},
            "metrics": {"held_out": scores} if scores else {},
        },
    )
    if val is not None:
        rgb = np.concatenate([val.rgb_batch(i) for i in range(len(val))])[:6]
        # the folder just saved (for fusion, with the embedder already built)
        extra = {"embedder": embedder} if embedder is not None else {}
        colorizer = kcolor.Colorizer.from_preset(out, **extra)
        fig = reports.compare_grid(
            {"grey": grey_of(rgb), label: colorizer.colorize(list(rgb)), "truth": rgb},
            row_titles=[Path(n).stem[:14] for n in val_paths[: len(rgb)]],
            title=f"{label} on held-out photos",
        )
        fig.savefig(out / "compare.png", dpi=80)
    reports.build_report(out, title=f"{meta['example']}: {label}")
    # Every number through kcolor.formatting (the decimals of its metric), as in example 07.
    print(
        f"trained {plural(epochs_run, 'epoch')} in {wall / 60:.1f} min; final: "
        + ", ".join(f"{k} {format_value(k, v)}" for k, v in final.items())
    )
    for row, values in table.items():
        print(f"{row:32s} " + "  ".join(f"{k} {format_value(k, v)}" for k, v in values.items()))
    print(f"run folder (a preset folder): {out}")
    print(f"the same with kcolor train: {config.to_command()}")
    return table


def export(run_folder, name):
    """``--save-preset NAME``: the run as the float16 preset folder ``kcolor/weights/NAME/``."""
    folder = presets.export_preset(
        run_folder, presets.WEIGHTS_DIR / name, float16=True, overwrite=True, name=name
    )
    digest = presets.read_metadata(folder)["weights_sha256"]
    print(f"preset: {folder}  sha256 {digest}")
    return folder


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser, "runs/05_beta")
    args = parser.parse_args(argv)
    config = make_config(args, model="beta")

    # ## The photos
    #
    # A seeded split: `--val-split` of the readable colour photos is held out (grey photos
    # are dropped). The training photos are augmented (random crop, flip, rotation, zoom,
    # shear), the held-out ones only resized to fill `--size`.
    train_paths, val_paths, grey = training.config_photos(config)
    keras.utils.set_random_seed(config.seed)
    train, val = training.make_datasets(config, train_paths, val_paths)

    # ## The loss
    #
    # `make_loss` says whether the targets must carry L (the perceptual loss colours the
    # photo before comparing features); `PackedLTargets` packs it in.
    loss, packed = training.make_loss(config.loss, config.penalty, train=train)
    fit_train = losses.PackedLTargets(train) if packed else train
    fit_val = (losses.PackedLTargets(val) if packed else val) if val is not None else None

    # ## The network
    #
    # The article's beta network, Adam with a cosine decay to 5 % over the run.
    model = kcolor.models.beta(**training.builder_args(config), weights=config.init)
    schedule = training.make_schedule(config, len(fit_train))
    model.compile(keras.optimizers.Adam(schedule), loss=loss)

    # ## Training
    print(
        f"beta: {plural(len(train_paths), 'training photo')} ({grey} grey dropped), "
        f"{len(val_paths)} held out, {config.size} px, {plural(config.epochs, 'epoch')} of "
        f"{plural(len(fit_train), 'step')}, "
        f"loss {config.loss}",
        flush=True,
    )
    start = time.perf_counter()
    history = model.fit(
        fit_train,
        validation_data=fit_val,
        epochs=config.epochs,
        callbacks=fit_callbacks(config, schedule, fit_val),
        verbose=2,
    )
    wall = time.perf_counter() - start

    # ## Results
    meta = {
        "example": "05_beta",
        "article_section": "Beta version",
        "data": config.data,
        "train_images": len(train_paths),
        "val_images": len(val_paths),
        "grey_dropped": grey,
    }
    table = finish(
        config,
        model,
        val,
        val_paths,
        label="beta",
        history=history,
        wall=wall,
        argv=argv,
        meta=meta,
    )
    if args.save_preset:
        export(config.output, args.save_preset)
    return table


if __name__ == "__main__":
    main()
