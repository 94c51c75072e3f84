"""Colour MNIST, step 2: a convolutional network, and three losses compared.

``kcolor.models.cnn`` encodes the digit with strided convolutions, builds a
global context vector (which digit is this?), repeats it over the grid and
decodes back to 28 x 28 ab with the input L at hand. The same network is
trained three times, with the same data, seed and epochs, on three losses:

* ``mse`` - plain mean squared error on the encoded ab (the article's loss);
* ``saturation`` - :class:`kcolor.losses.SaturationMSE`: MSE plus a penalty on
  chroma the prediction lacks, against the grey/brown average colours that
  MSE settles on when unsure;
* ``perceptual`` - :class:`kcolor.losses.PerceptualLoss`: MSE plus the
  distance between the features a frozen ImageNet EfficientNet-Lite0 sees in
  the predicted and the true colour digit (trained on packed ``[L, ab]``
  targets, see :func:`kcolor.losses.pack_l`).

Each is measured on the 10,000 test digits (never trained on): digit colour
accuracy, pixel colour accuracy and the chroma ratio (mean chroma of the
predictions over that of the truth: below 1 = washed out).

The measured numbers are in docs/mnist-course.md.

Writes to ``--out`` (default ``runs/02_cnn``; with ``--seeds``, these per seed
under ``seed-N/``, the comparison for the last seed, and ``seeds.csv``)::

    mse/ saturation/ perceptual/   each: config.json history.csv metrics.json
                                   model.weights.h5 report.html ...
    metrics.csv  metrics.png  samples.png  report.html      the comparison

Usage:
    python examples/02_cnn_mnist.py                       # all three losses, ~25 min on 2 cores
    python examples/02_cnn_mnist.py --losses mse --epochs 5
    python examples/02_cnn_mnist.py --limit 10000 --epochs 2   # a quicker comparison
    python examples/02_cnn_mnist.py --seeds 0 1 2         # three runs each, then mean ± spread
    python examples/02_cnn_mnist.py --smoke               # a few batches each, seconds (CI)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # examples/_mnist.py

import _mnist  # noqa: E402

from kcolor import color, losses, metrics  # noqa: E402
from kcolor import report as reports  # noqa: E402
from kcolor.models import cnn  # noqa: E402

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)


def make_loss(name):
    """(loss, packed): the Keras loss, and whether it needs [L, ab] targets."""
    if name == "mse":
        return "mse", False
    if name == "saturation":
        return losses.SaturationMSE(penalty=1.0), False
    if name == "perceptual":
        # The first two stages of EfficientNet-Lite0 (32 and 16 channels at 14 x 14): colour
        # edges and strokes. Weighted so that the feature term starts about as large as the MSE.
        return losses.PerceptualLoss(layers=("stem", "block0"), feature_weight=1e-3), True
    raise ValueError(f"unknown loss {name!r}")


def parse_args(argv=None):
    parser = _mnist.parser(__doc__, out="runs/02_cnn", epochs=2, batch_size=64)
    parser.add_argument(
        "--losses",
        default="mse,saturation,perceptual",
        help="comma-separated: mse, saturation, perceptual",
    )
    return _mnist.apply_smoke(parser.parse_args(argv))


def chroma_ratio(test, pred):
    """Mean chroma of the colourised test digits over that of the true ones (uint8 RGB)."""
    to_rgb = lambda ab: color.to_uint8(color.merge_lab(test.x, ab))  # noqa: E731
    return metrics.chroma_ratio(to_rgb(pred), to_rgb(test.y))


def train_one(name, args, data, out):
    (x, y), (xv, yv), test = data
    loss, packed = make_loss(name)
    if packed:  # the perceptual loss needs L beside the true ab
        data = ((x, losses.pack_l(x, y)), (xv, losses.pack_l(xv, yv)), test)
    keras.utils.set_random_seed(args.seed)
    model = cnn(batch_norm=False)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=loss,
        metrics=[metrics.DigitColorAccuracy(), metrics.PixelColorAccuracy()],
    )
    print(f"--- {name}: {model.name}, {model.count_params():,} parameters")
    config = {"loss": name, "loss_config": loss if isinstance(loss, str) else loss.get_config()}
    scores, pred = _mnist.train_and_score(
        model,
        args,
        data,
        out,
        config=config,
        scores={"loss": name},
        report=f"02 CNN on colour MNIST, {name} loss",
        extra_scores=lambda p: {"chroma_ratio": chroma_ratio(test, p)},
    )
    scores.pop("report")
    print(
        f"{name}: test digit colour accuracy {scores['digit_color_accuracy']:.2%}, pixel colour "
        f"accuracy {scores['pixel_color_accuracy']:.2%}, chroma ratio {scores['chroma_ratio']:.3f} "
        f"({scores['train_seconds']:.0f} s)"
    )
    return scores, pred


def main(argv=None):
    args = parse_args(argv)
    names = [n.strip() for n in args.losses.split(",") if n.strip()]
    for n in names:
        make_loss(n)  # fail early on a typo
    out = Path(args.out)
    data = _mnist.load(args)
    test = data[2]
    print(
        f"colour MNIST: {len(data[0][0])} train, {len(data[1][0])} validation, "
        f"{len(test.x)} test digits"
    )

    all_rows = []
    for seed in _mnist.seeds(args):
        args.seed = seed
        rows, preds = [], {}
        for name in names:
            scores, preds[name] = train_one(name, args, data, _mnist.seed_folder(args, seed) / name)
            rows.append(scores)
            all_rows.append({"seed": seed, **scores})
    table = pd.DataFrame(rows).set_index("loss").drop(columns=["test_digits"])
    table.to_csv(out / "metrics.csv")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    if args.seeds:
        _mnist.summarize(all_rows, out, label="loss")

    title = "CNN on colour MNIST: one loss per row (test digits)"
    _mnist.sample_grid(test, preds, title=title).savefig(out / "samples.png", dpi=100)
    reports.metrics_table(
        table[["digit_color_accuracy", "pixel_color_accuracy", "chroma_ratio"]],
        better={"digit_color_accuracy": "max", "pixel_color_accuracy": "max"},
        title="test digits",
    ).savefig(out / "metrics.png", dpi=100)
    print(f"comparison (seed {args.seed}): {out / 'metrics.csv'}, {out / 'samples.png'}")
    return table


if __name__ == "__main__":
    main()
