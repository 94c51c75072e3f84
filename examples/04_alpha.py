"""Alpha version: one network learns to colour one photo (and only that one).

Article section: "Alpha version" of Emil Wallner's "Colorize B&W Photos with a 100-line
Neural Network".

## Introduction

The article's first colouriser is a tiny encoder/decoder, :func:`kcolor.models.alpha`
(32,202 parameters), trained on a single portrait until it reproduces that portrait's
colours from its grey version: 400 steps at 128x128 by default (``--steps``; the article
runs 1000 epochs of the one photo at 400x400, ``--steps 1000 --size 0``). Then, as in the article, it is shown a
photo it has never seen (the man): the colours do not carry over. One photo teaches the
network that photo, not colourisation.

The training is the article's own ``model.fit`` on one ``(L, ab)`` pair, batch size 1.
The run folder ``--out`` (default ``runs/04_alpha``) is a preset folder
(:func:`kcolor.presets.save_to_preset`), so ``kcolor.Colorizer.from_preset("runs/04_alpha")``
and ``kcolor colorize --model runs/04_alpha`` use it::

    config.json  model.weights.h5  metadata.json     the preset
    history.csv (kcolor.callbacks.PandasLogger)  metrics.json
    compare.png  (rows woman / man; columns grey | alpha | truth)
    report.html  history.png  metrics.png

``metadata.json`` holds this script's command (``made_by``) and its ``kcolor train``
equivalent (``command``). ``--save-preset`` exports the run as the float16 preset folder
``kcolor/weights/alpha-woman/``.

Usage:
    python examples/04_alpha.py                        # 400 steps on woman.jpg at 128x128
    python examples/04_alpha.py --save-preset          # ... and write the alpha-woman preset
    python examples/04_alpha.py --smoke                # seconds; without ../shared it uses
                                                       # scikit-image's astronaut / chelsea
"""

# ## Setup

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import kcolor
from kcolor import color, io, metrics, presets, training
from kcolor import report as reports
from kcolor.callbacks import PandasLogger
from kcolor.formatting import plural
from kcolor.models import alpha

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)

SHARED = Path(
    os.environ.get("KCOLOR_SHARED", Path(__file__).resolve().parents[2] / "shared" / "data")
)
ARTICLE = SHARED / "article" / "alpha"


def grey_of(rgb: np.ndarray) -> np.ndarray:
    """The grey version of a uint8 photo (same L, a = b = 0): what the network is given."""
    return io.grey_version(rgb.astype(np.float32) / 255.0)


def scores(pred: np.ndarray, truth: np.ndarray) -> dict:
    """PSNR, SSIM, AuC, colourfulness, delta colourfulness and chroma ratio of one photo."""
    return {k: float(v) for k, v in metrics.evaluate_pair(pred, truth).items()}


def crop8(rgb: np.ndarray, side: int | None = None) -> np.ndarray:
    """Centre-crop (after an optional resize to ``side``) to sides that are multiples of 8."""
    if side is not None:
        from kcolor.datasets.augment import resize_fill

        rgb = resize_fill(rgb, side)
    h, w = (s - s % 8 for s in rgb.shape[:2])
    top, left = (rgb.shape[0] - h) // 2, (rgb.shape[1] - w) // 2
    return np.ascontiguousarray(rgb[top : top + h, left : left + w])


def load_photos(args):
    """(train photo, unseen photo, their names, the train photo's path or ``None``), uint8 RGB."""
    if args.photo is None and args.smoke and not (ARTICLE / "woman.jpg").is_file():
        from skimage import data

        return data.astronaut(), data.chelsea(), ("astronaut", "chelsea"), None
    photo = Path(args.photo or ARTICLE / "woman.jpg")
    other = Path(args.other or photo.with_name("man.jpg"))
    with warnings.catch_warnings():
        # The article's photos are PNG data named .jpg: known, and read by their content.
        warnings.simplefilter("ignore", io.ExtensionMismatchWarning)
        return io.load_image(photo), io.load_image(other), (photo.stem, other.stem), photo


def kcolor_train_command(args, photo, side) -> str | None:
    """The ``kcolor train`` equivalent of this run (``None`` for scikit-image's photo)."""
    if photo is None:
        return None
    config = training.TrainConfig(
        output=args.out,
        data=[str(photo)],
        model="alpha",
        size=side,
        batch_size=1,
        epochs=args.steps,
        lr=args.lr,
        val_split=0,
        augment=False,
    )
    return config.to_command()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", help="the one training photo (default: the article's woman.jpg)")
    parser.add_argument("--other", help="an unseen photo (default: man.jpg beside --photo)")
    parser.add_argument("--out", default="runs/04_alpha", help="run folder (a preset folder)")
    parser.add_argument(
        "--steps",
        type=int,
        default=400,
        help="training steps (the article: 1000 epochs of one photo)",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=128,
        help="the network's side (0: the photo's own 400x400; 128 is ~10x "
        "cheaper on a CPU); the colour is laid onto the full-size photo",
    )
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (cosine decay)")
    parser.add_argument(
        "--save-preset",
        action="store_true",
        help="export the run as the float16 preset folder kcolor/weights/alpha-woman/",
    )
    parser.add_argument("--smoke", action="store_true", help="seconds: 40 steps at 64x64 (for CI)")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    full, full_other, names, photo = load_photos(args)
    if args.smoke:
        args.size, args.steps = 64, 40
    # Train at --size; colour (and measure) the full-resolution photos through the Colorizer,
    # which runs the network at that size and lays the colour onto the photo's own L.
    rgb = crop8(full, args.size or None)
    shown = 128 if args.smoke else None
    full, full_other = crop8(full, shown), crop8(full_other, shown)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # ## The data
    #
    # The article: X = the L channel, Y = ab / 128, one photo. One epoch here is the photo
    # 10 times (one row of history.csv per 10 steps).
    x, y = color.split_lab(rgb.astype(np.float32) / 255.0)
    x, y = x[None], y[None]
    per_epoch = 10
    epochs = max(1, args.steps // per_epoch)

    # ## The network and its training
    #
    # Adam with a cosine decay, plain MSE, batch size 1: the article's `model.fit`.
    model = alpha()
    schedule = keras.optimizers.schedules.CosineDecay(args.lr, epochs * per_epoch, alpha=0.05)
    model.compile(keras.optimizers.Adam(schedule), loss="mse")
    start = time.perf_counter()
    model.fit(
        np.repeat(x, per_epoch, 0),
        np.repeat(y, per_epoch, 0),
        batch_size=1,
        epochs=epochs,
        callbacks=[PandasLogger(training.RunFolder(out).history)],
        verbose=0,
    )
    wall = time.perf_counter() - start
    final = float(np.asarray(model.evaluate(x, y, verbose=0)))

    # ## The trained photo and an unseen one
    #
    # The in-memory model colours both photos; then the run folder becomes a preset folder.
    colour, colour_other = kcolor.Colorizer(model, input_size=args.size or None).colorize(
        [full, full_other]
    )
    table = {
        f"alpha on {names[0]} (trained)": scores(colour, full),
        f"grey {names[0]}": scores(grey_of(full), full),
        f"alpha on {names[1]} (unseen)": scores(colour_other, full_other),
        f"grey {names[1]}": scores(grey_of(full_other), full_other),
    }
    training.RunFolder(out).metrics_json.write_text(json.dumps(table, indent=2))
    presets.save_to_preset(
        model,
        out,
        builder="alpha",
        args={"input_shape": [None, None, 1]},
        input_size=args.size or None,
        overwrite=True,
        metadata={
            "run": True,
            "description": f"04_alpha (Alpha version): alpha overfitted on one photo, {names[0]}",
            "command": kcolor_train_command(args, photo, args.size or min(rgb.shape[:2])),
            "made_by": "python examples/04_alpha.py " + shlex.join(argv),
            "example": "04_alpha",
            "article_section": "Alpha version",
            "data": str(photo) if photo else f"scikit-image's {names[0]}",
            "photo": names[0],
            "unseen_photo": names[1],
            "train_size": list(rgb.shape[:2]),
            "photo_size": list(full.shape[:2]),
            "steps": epochs * per_epoch,
            "optimizer": f"Adam, lr {args.lr} with cosine decay to 5%",
            "loss": "mse",
            "seed": 0,
            "wall_seconds": round(wall, 1),
            "device": str(kcolor.device()),
            "final_loss": {"mse": final},
            "metrics": table,
        },
    )
    fig = reports.compare_grid(
        {
            "grey": [grey_of(full), grey_of(full_other)],
            "alpha": [colour, colour_other],
            "truth": [full, full_other],
        },
        row_titles=[f"{names[0]} (trained)", f"{names[1]} (unseen)"],
        title="Alpha: one photo learnt, not colourisation",
    )
    fig.savefig(out / "compare.png", dpi=80)
    reports.build_report(out, title="Example 04: the alpha network")

    print(f"trained {plural(epochs * per_epoch, 'step')} in {wall:.1f} s, final MSE {final:.6f}")
    print(
        f"PSNR on {names[0]} (trained): {table[f'alpha on {names[0]} (trained)']['psnr']:.2f} dB "
        f"(grey: {table[f'grey {names[0]}']['psnr']:.2f} dB)"
    )
    print(
        f"PSNR on {names[1]} (unseen):  {table[f'alpha on {names[1]} (unseen)']['psnr']:.2f} dB "
        f"(grey: {table[f'grey {names[1]}']['psnr']:.2f} dB)"
    )
    print(f"run folder (a preset folder): {out}")
    if args.save_preset:
        folder = presets.export_preset(
            out,
            presets.WEIGHTS_DIR / "alpha-woman",
            float16=True,
            overwrite=True,
            name="alpha-woman",
        )
        digest = presets.read_metadata(folder)["weights_sha256"]
        print(f"preset: {folder}  sha256 {digest}")
    return table


if __name__ == "__main__":
    main()
