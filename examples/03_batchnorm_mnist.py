"""Colour MNIST, step 3: the same CNN with batch normalisation.

``kcolor.models.cnn(batch_norm=True)`` puts a ``BatchNormalization`` between
every hidden convolution and its ReLU. Normalised activations let the network
train faster and at a higher learning rate; with a learning rate that decays
to zero over the run (cosine), it colours nearly every test digit right.

Measured on the 10,000 test digits, never trained on: digit colour accuracy
(share of digits whose mean predicted colour has the right palette hue) and
pixel colour accuracy (share of digit pixels within 8 ab units of the truth).

Writes to ``--out`` (default ``runs/03_batchnorm``; with ``--seeds``, one
``seed-N`` folder per seed and ``seeds.csv``)::

    config.json  history.csv  metrics.json  samples.png  model.weights.h5
    history.png  metrics.png  report.html

The measured numbers are in docs/mnist-course.md.

Usage:
    python examples/03_batchnorm_mnist.py                 # 2 epochs, ~40 min on 2 CPU cores
    python examples/03_batchnorm_mnist.py --seeds 0 1 2   # three runs, then mean ± spread
    python examples/03_batchnorm_mnist.py --smoke         # a few batches, seconds (CI)
    python examples/03_batchnorm_mnist.py --epochs 6 --out runs/bn6
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # examples/_mnist.py

import _mnist  # noqa: E402

from kcolor.models import cnn  # noqa: E402


def main(argv=None):
    args = _mnist.parser(__doc__, out="runs/03_batchnorm", epochs=2, batch_size=64, lr=2e-3)
    args = args.parse_args(argv)
    # Conv -> BatchNormalization -> ReLU, layer after layer
    return _mnist.run_single(
        lambda: cnn(batch_norm=True),
        args,
        name="BatchNorm CNN",
        report="03 BatchNorm CNN on colour MNIST",
    )


if __name__ == "__main__":
    main()
