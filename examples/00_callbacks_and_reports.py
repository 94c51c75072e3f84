"""Training companions: a crash-safe training log, colour previews and a one-page report.

Trains a small convolutional colouriser on crops of scikit-image's sample
photos (no download) with the kcolor callbacks, then writes the run folder
that ``kcolor.report.build_report`` turns into one HTML page::

    runs/00_callbacks/
      config.json    history.csv    previews/preview_epoch_*.png
      metrics.json   history.png    metrics.png    report.html

Interrupt it (Ctrl-C, or kill it) and run it again: ``BackupAndRestore``
resumes from the last finished epoch and ``PandasLogger`` keeps each epoch's
row exactly once.

Usage:
    python examples/00_callbacks_and_reports.py                 # 25 epochs: ~2.5 min of CPU time
    python examples/00_callbacks_and_reports.py --smoke         # 3 tiny epochs, ~10 s of CPU time
    python examples/00_callbacks_and_reports.py --out runs/mine --epochs 40
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from skimage import data as skdata
from skimage.transform import resize

from kcolor import color, metrics
from kcolor import report as reports
from kcolor.callbacks import ColorizationPreview, PandasLogger
from kcolor.training import RunFolder

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "colorwheel")


def photo_crops(n, size, seed=0):
    """``n`` random square crops of scikit-image's colour sample photos, RGB floats (n, size, size, 3)."""
    rng = np.random.default_rng(seed)
    photos = [getattr(skdata, name)()[..., :3] for name in PHOTOS]
    crops = []
    for i in range(n):
        photo = photos[i % len(photos)]
        side = int(rng.integers(min(photo.shape[:2]) // 4, min(photo.shape[:2]) // 2))
        y0 = int(rng.integers(0, photo.shape[0] - side))
        x0 = int(rng.integers(0, photo.shape[1] - side))
        crop = resize(photo[y0 : y0 + side, x0 : x0 + side], (size, size), anti_aliasing=True)
        crops.append(crop[:, ::-1] if rng.random() < 0.5 else crop)
    return np.stack(crops).astype("float32")


def small_colorizer(size):
    """Encoded L in, tanh ab out: a few strided convolutions and upsampling (the article's shape)."""
    inputs = keras.Input((size, size, 1))
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    h = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = keras.layers.UpSampling2D()(h)
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(h)
    outputs = keras.layers.Conv2D(2, 3, padding="same", activation="tanh")(h)
    return keras.Model(inputs, outputs, name="small_colorizer")


def scores(rgb_pred, rgb_true):
    p, t = color.to_uint8(rgb_pred), color.to_uint8(rgb_true)
    return {
        "psnr": float(np.mean(metrics.psnr(p, t))),
        "auc": float(np.mean(metrics.auc(p, t))),
        "chroma_ratio": float(metrics.chroma_ratio(list(p), list(t))),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/00_callbacks", help="run folder")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--size", type=int, default=32, help="crop size in pixels")
    parser.add_argument("--train", type=int, default=384, help="training crops")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--smoke", action="store_true", help="tiny and quick (for CI)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.size, args.train, args.batch_size = 3, 16, 48, 16

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run = RunFolder(out)  # the run folder's file names, as build_report reads them
    keras.utils.set_random_seed(0)
    rgb_train = photo_crops(args.train, args.size, seed=0)
    rgb_val = photo_crops(max(16, args.train // 8), args.size, seed=1)
    x, y = color.split_lab(rgb_train)
    xv, yv = color.split_lab(rgb_val)
    config = {
        "example": "00_callbacks_and_reports",
        "model": "small_colorizer",
        "data": f"scikit-image sample photos: {', '.join(PHOTOS)}",
        "size": args.size,
        "train_images": len(x),
        "val_images": len(xv),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": "Adam, learning rate 3e-3 with cosine decay",
    }
    run.config.write_text(json.dumps(config, indent=2))

    model = small_colorizer(args.size)
    steps = args.epochs * int(np.ceil(len(x) / args.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=steps, alpha=0.1)
    model.compile(keras.optimizers.Adam(schedule), loss="mse", metrics=["mae"])
    callbacks = [
        PandasLogger(run.history),
        ColorizationPreview(xv[:6], yv[:6], run.previews, every=max(1, args.epochs // 5)),
        keras.callbacks.BackupAndRestore(str(run.backup)),
    ]
    start = time.perf_counter()
    model.fit(
        x,
        y,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(xv, yv),
        callbacks=callbacks,
        verbose=2,
    )
    print(f"trained in {time.perf_counter() - start:.1f} s")

    pred = model.predict(xv, verbose=0)
    truth = color.merge_lab(xv, yv)
    table = {
        "small_colorizer": scores(color.merge_lab(xv, pred), truth),
        "grey (ab = 0)": scores(color.merge_lab(xv, np.zeros_like(yv)), truth),
    }
    run.metrics_json.write_text(json.dumps(table, indent=2))
    report = reports.build_report(out, title="Example 00: training companions")
    print(reports._metrics_frame(table).round(4).to_string())
    print(f"report: {report}")
    return report


if __name__ == "__main__":
    main()
