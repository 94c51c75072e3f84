"""Colour MNIST, step 1: a Dense network learns that colour follows from shape.

Every digit is painted in its own colour from an iso-luminant palette (same
lightness, same chroma, 36 degrees of hue apart), so the black-and-white
input holds no trace of the colour: the network can only colour a digit right
by recognising which digit it is. A multi-layer perceptron sees every pixel at
once, so it can.

Trains ``kcolor.models.linear`` (Dense layers only; it reads the ink
``(L + 1) / 2``, multiplies its output by it, and its output layer starts at
zero) with MSE (Adam, learning rate decaying to zero on a cosine) on 55,000
training digits (5,000 more for validation), then measures on the 10,000 test
digits, never trained on:

* digit colour accuracy - share of digits whose mean predicted colour has the
  right palette hue;
* pixel colour accuracy - share of digit pixels within 8 ab units of the truth.

Writes to ``--out`` (default ``runs/01_dense``; with ``--seeds``, one
``seed-N`` folder per seed and ``seeds.csv``)::

    config.json  history.csv  metrics.json  samples.png  model.weights.h5
    history.png  metrics.png  report.html

The measured numbers, per seed, are in docs/mnist-course.md.

Usage:
    python examples/01_dense_mnist.py                 # 3 epochs, seed 0
    python examples/01_dense_mnist.py --seeds 0 1 2   # three runs, then mean ± spread
    python examples/01_dense_mnist.py --smoke         # a few batches, seconds (CI)
    python examples/01_dense_mnist.py --data ~/mnist.npz --epochs 30 --out runs/dense30
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # examples/_mnist.py

import _mnist  # noqa: E402

from kcolor.models import linear  # noqa: E402


def main(argv=None):
    args = _mnist.parser(__doc__, out="runs/01_dense", epochs=3, batch_size=128, lr=1e-3)
    args = args.parse_args(argv)
    # ink = (L + 1) / 2 -> Flatten -> Dense 512 -> Dense 512 -> Dense 28*28*2 (tanh) -> x ink
    return _mnist.run_single(
        linear, args, name="Dense network", report="01 Dense network on colour MNIST"
    )


if __name__ == "__main__":
    main()
