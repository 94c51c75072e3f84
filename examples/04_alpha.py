"""Alpha version: one network learns to colour one photo (and only that one).

The article's first colouriser ("Alpha version", in Emil Wallner's "Colorize B&W Photos
with a 100-line Neural Network") is a tiny encoder/decoder, :func:`kcolor.models.alpha`
(32,202 parameters), trained for 1000 steps on a single portrait until it reproduces
that portrait's colours from its grey version. Then, as in the article, it is shown a
photo it has never seen (the man): the colours do not carry over. One photo teaches the
network that photo, not colourisation.

Writes ``--out`` (default ``runs/04_alpha``)::

    config.json  history.csv (kcolor.callbacks.PandasLogger)  metrics.json
    compare.png  (rows woman / man; columns grey | alpha | truth)
    report.html  history.png  metrics.png  model.weights.h5

and, with ``--save-preset``, the float16 preset ``kcolor/weights/alpha-woman.weights.h5``
(printing its SHA-256 for ``kcolor/presets.py``).

Usage:
    python examples/04_alpha.py                        # 400 steps on woman.jpg at 128x128
    python examples/04_alpha.py --save-preset          # ... and write the alpha-woman preset
    python examples/04_alpha.py --smoke                # seconds; without ../shared it uses
                                                       # scikit-image's astronaut / chelsea
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import kcolor
from kcolor import color, io, metrics, presets, reports
from kcolor.callbacks import PandasLogger
from kcolor.models import alpha

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)

SHARED = Path(
    os.environ.get("KCOLOR_SHARED", Path(__file__).resolve().parents[2] / "shared" / "data")
)
ARTICLE = SHARED / "article" / "alpha"


def grey_of(rgb: np.ndarray) -> np.ndarray:
    """The grey version of a uint8 photo (same L, a = b = 0): what the network is given."""
    return color.to_uint8(color.rgb_to_gray(rgb.astype(np.float32) / 255.0))


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
    """(train photo, unseen photo, their names), uint8 RGB."""
    if args.photo is None and args.smoke and not (ARTICLE / "woman.jpg").is_file():
        from skimage import data

        return data.astronaut(), data.chelsea(), ("astronaut", "chelsea")
    photo = Path(args.photo or ARTICLE / "woman.jpg")
    other = Path(args.other or photo.with_name("man.jpg"))
    return io.load_image(photo), io.load_image(other), (photo.stem, other.stem)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", help="the one training photo (default: the article's woman.jpg)")
    parser.add_argument("--other", help="an unseen photo (default: man.jpg beside --photo)")
    parser.add_argument("--out", default="runs/04_alpha", help="run folder")
    parser.add_argument("--steps", type=int, default=400,
                        help="training steps (the article: 1000 epochs of one photo)")  # fmt: skip
    parser.add_argument("--size", type=int, default=128,
                        help="the network's side (0: the photo's own 400x400; 128 is ~10x "
                        "cheaper on a CPU); the colour is laid onto the full-size photo")  # fmt: skip
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (cosine decay)")
    parser.add_argument("--save-preset", action="store_true",
                        help="write kcolor/weights/alpha-woman.weights.h5 (float16)")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="seconds: 40 steps at 64x64 (for CI)")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    full, full_other, names = load_photos(args)
    if args.smoke:
        args.size, args.steps = 64, 40
    # Train at --size; colour (and measure) the full-resolution photos through the Colorizer,
    # which runs the network at that size and lays the colour onto the photo's own L.
    rgb = crop8(full, args.size or None)
    shown = 128 if args.smoke else None
    full, full_other = crop8(full, shown), crop8(full_other, shown)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # The article: X = L channel, Y = ab / 128, one image, batch size 1.
    x, y = color.split_lab(rgb.astype(np.float32) / 255.0)
    x, y = x[None], y[None]
    per_epoch = 10  # one epoch = the photo 10 times (one CSV row per 10 steps)
    epochs = max(1, args.steps // per_epoch)
    model = alpha()
    schedule = keras.optimizers.schedules.CosineDecay(args.lr, epochs * per_epoch, alpha=0.05)
    model.compile(keras.optimizers.Adam(schedule), loss="mse")
    config = {
        "example": "04_alpha",
        "article_section": "Alpha version",
        "photo": names[0],
        "unseen_photo": names[1],
        "train_size": list(rgb.shape[:2]),
        "photo_size": list(full.shape[:2]),
        "steps": epochs * per_epoch,
        "optimizer": f"Adam, lr {args.lr} with cosine decay",
        "loss": "mse",
        "device": str(kcolor.device()),
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    start = time.perf_counter()
    model.fit(
        np.repeat(x, per_epoch, 0),
        np.repeat(y, per_epoch, 0),
        batch_size=1,
        epochs=epochs,
        callbacks=[PandasLogger(out / "history.csv")],
        verbose=0,
    )
    wall = time.perf_counter() - start
    model.save_weights(out / "model.weights.h5")

    colorizer = kcolor.Colorizer(model, input_size=args.size or None)
    rgb, other = full, full_other
    colour, colour_other = colorizer.colorize([rgb, other])
    table = {
        f"alpha on {names[0]} (trained)": scores(colour, rgb),
        f"grey {names[0]}": scores(grey_of(rgb), rgb),
        f"alpha on {names[1]} (unseen)": scores(colour_other, other),
        f"grey {names[1]}": scores(grey_of(other), other),
    }
    (out / "metrics.json").write_text(json.dumps(table, indent=2))
    fig = reports.compare_grid(
        {
            "grey": [grey_of(rgb), grey_of(other)],
            "alpha": [colour, colour_other],
            "truth": [rgb, other],
        },
        row_titles=[f"{names[0]} (trained)", f"{names[1]} (unseen)"],
        title="Alpha: one photo learnt, not colourisation",
    )
    fig.savefig(out / "compare.png", dpi=80)
    reports.build_report(out, title="Example 04: the alpha network")

    final = float(np.asarray(model.evaluate(x, y, verbose=0)))
    print(f"trained {epochs * per_epoch} steps in {wall:.1f} s, final MSE {final:.6f}")
    print(f"PSNR on {names[0]} (trained): {table[f'alpha on {names[0]} (trained)']['psnr']:.2f} dB "
          f"(grey: {table[f'grey {names[0]}']['psnr']:.2f} dB)")  # fmt: skip
    print(f"PSNR on {names[1]} (unseen):  {table[f'alpha on {names[1]} (unseen)']['psnr']:.2f} dB "
          f"(grey: {table[f'grey {names[1]}']['psnr']:.2f} dB)")  # fmt: skip
    print(f"run folder: {out}")
    if args.save_preset:
        path = presets.WEIGHTS_DIR / "alpha-woman.weights.h5"
        fresh = alpha()  # uncompiled: no optimizer state in the file
        fresh.set_weights(model.get_weights())
        digest = presets.save_weights(fresh, path)
        print(f"preset weights: {path}  sha256 {digest}")
    return table


if __name__ == "__main__":
    main()
