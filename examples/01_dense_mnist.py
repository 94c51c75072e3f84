"""Colour MNIST, step 1: a Dense network learns that colour follows from shape.

Every digit is painted in its own colour from an iso-luminant palette (same
lightness, same chroma, 36 degrees of hue apart), so the black-and-white
input holds no trace of the colour: the network can only colour a digit right
by recognising which digit it is. A multi-layer perceptron sees every pixel at
once, so it can.

Trains ``kcolor.models.linear`` with MSE (Adam, learning rate decaying to
zero on a cosine) on 55,000 training digits (5,000 more for validation), then measures on the 10,000 test digits, never trained
on:

* digit colour accuracy - share of digits whose mean predicted colour has the
  right palette hue;
* pixel colour accuracy - share of digit pixels within 8 ab units of the truth.

Writes to ``--out`` (default ``runs/01_dense``)::

    config.json  history.csv  metrics.json  samples.png  model.weights.h5
    history.png  metrics.png  report.html

Measured (30 epochs, batch 128, 2-core CPU shared with other jobs, 18 min):
93.22% digit and 53.72% pixel colour accuracy on the test digits.

Usage:
    python examples/01_dense_mnist.py                 # 30 epochs: 4-18 min on 2 CPU cores
    python examples/01_dense_mnist.py --smoke         # a few batches, seconds (CI)
    python examples/01_dense_mnist.py --data ~/mnist.npz --epochs 60 --out runs/dense60
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from kcolor import color, metrics, reports
from kcolor.callbacks import PandasLogger
from kcolor.datasets import colored_mnist
from kcolor.models import linear

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)

VALIDATION = 5000


def parse_args(argv=None, default_out="runs/01_dense", default_epochs=30):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="mnist.npz path")
    parser.add_argument("--epochs", type=int, default=default_epochs)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (cosine decay)")
    parser.add_argument("--out", default=default_out, help="run folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="a few batches only, for CI")
    return parser.parse_args(argv)


def load(args):
    """(x_train, y_train), (x_val, y_val), test: the last 5,000 training digits validate."""
    limit = 160 if args.smoke else None
    train, test = colored_mnist("both", path=args.data, limit=limit)
    n_val = 32 if args.smoke else VALIDATION
    if args.smoke:
        test = test._replace(**{k: v[:64] for k, v in test._asdict().items()})
    fit = (train.x[:-n_val], train.y[:-n_val])
    val = (train.x[-n_val:], train.y[-n_val:])
    return fit, val, test


def sample_grid(x, y, pred, labels, n=10, title=None):
    """Test digits in columns; rows: grey input, prediction, truth."""
    rows = [
        color.merge_lab(x[:n], np.zeros_like(y[:n])),
        color.merge_lab(x[:n], pred[:n]),
        color.merge_lab(x[:n], y[:n]),
    ]
    return reports.compare_grid(
        rows,
        row_titles=["input (L)", "prediction", "truth"],
        column_titles=[f"digit {d}" for d in labels[:n]],
        title=title,
        cell_size=1.0,
    )


def test_scores(model, test):
    pred = model.predict(test.x, batch_size=512, verbose=0)
    return pred, {
        "digit_color_accuracy": metrics.digit_color_accuracy(test.y, pred),
        "pixel_color_accuracy": metrics.pixel_color_accuracy(test.y, pred),
        "test_digits": int(len(test.labels)),
    }


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    epochs = 1 if args.smoke else args.epochs
    if args.smoke:
        args.batch_size = min(args.batch_size, 32)
    (x, y), (xv, yv), test = load(args)
    print(f"colour MNIST: {len(x)} train, {len(xv)} validation, {len(test.x)} test digits")

    model = linear()
    steps = epochs * -(-len(x) // args.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(args.lr, decay_steps=steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="mse",
        metrics=[metrics.DigitColorAccuracy(), metrics.PixelColorAccuracy()],
    )
    config = {**vars(args), "epochs": epochs, "model": model.name, "loss": "mse",
              "schedule": "cosine", "parameters": model.count_params()}  # fmt: skip
    (out / "config.json").write_text(json.dumps(config, indent=2))

    start = time.perf_counter()
    model.fit(
        x, y,
        validation_data=(xv, yv),
        epochs=epochs,
        batch_size=args.batch_size,
        callbacks=[PandasLogger(out / "history.csv")],
        verbose=2,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    model.save_weights(out / "model.weights.h5")

    pred, scores = test_scores(model, test)
    scores = {"model": model.name, **scores, "epochs": epochs, "train_seconds": round(seconds, 1)}
    (out / "metrics.json").write_text(json.dumps(scores, indent=2))
    fig = sample_grid(test.x, test.y, pred, test.labels, title="Dense network, test digits")
    fig.savefig(out / "samples.png", dpi=100)
    report = reports.build_report(out, title="01 Dense network on colour MNIST")
    print(
        f"test digits: digit colour accuracy {scores['digit_color_accuracy']:.2%}, "
        f"pixel colour accuracy {scores['pixel_color_accuracy']:.2%} "
        f"({epochs} epochs, {seconds:.0f} s training)"
    )
    print(f"report: {report}")
    return scores


if __name__ == "__main__":
    main()
