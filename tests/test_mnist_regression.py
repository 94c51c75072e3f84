"""The Dense colour-MNIST course learns: a short real run tells a success from a collapse.

A collapsed run (hidden ReLUs dead, ab = 0 everywhere: loss stuck at the mean squared
target, about 0.0031) colours 10-20 % of the digits right, by chance, and 0 % of the
pixels. This trains ``examples/01_dense_mnist.py`` as shipped, with fewer epochs, on the
full training set (real MNIST from ../shared/data) and scores it on the test digits.
"""

import importlib.util
import json
import time
from pathlib import Path

import pytest
from conftest import shared_path

REPO = Path(__file__).resolve().parents[1]
EPOCHS = 2
MIN_DIGIT, MIN_PIXEL = 0.85, 0.50


def _example(script):
    spec = importlib.util.spec_from_file_location(script[:-3], REPO / "examples" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.shared
def test_dense_course_colours_the_test_digits(tmp_path):
    data = shared_path("mnist", "mnist.npz")
    start = time.perf_counter()
    _example("01_dense_mnist.py").main(
        ["--data", str(data), "--epochs", str(EPOCHS), "--out", str(tmp_path), "--seed", "0"]
    )
    scores = json.loads((tmp_path / "metrics.json").read_text())
    seconds = time.perf_counter() - start
    summary = (
        f"digit {scores['digit_color_accuracy']:.2%}, pixel {scores['pixel_color_accuracy']:.2%} "
        f"on {scores['test_digits']} test digits after {EPOCHS} epochs ({seconds:.0f} s)"
    )
    print(summary)  # shown with pytest -rP
    assert scores["test_digits"] >= 2000
    assert scores["digit_color_accuracy"] >= MIN_DIGIT, "collapsed or under-trained: " + summary
    assert scores["pixel_color_accuracy"] >= MIN_PIXEL, "collapsed or under-trained: " + summary


def test_linear_starts_grey_and_keeps_black_pixels_black():
    import keras
    import numpy as np

    from kcolor.models import linear

    model = linear((16, 16, 1))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, 16, 16, 1)).astype("float32")
    x[:, :4] = -1.0  # black rows
    predict = lambda: keras.ops.convert_to_numpy(model(x, training=False))  # noqa: E731
    assert np.abs(predict()).max() == 0.0  # the output layer starts at zero: ab = 0
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    y = rng.uniform(-0.2, 0.2, (8, 16, 16, 2)).astype("float32")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    out = predict()
    assert np.abs(out[:, 4:]).max() > 0.0  # it learned something...
    assert np.abs(out[:, :4]).max() == 0.0  # ...and black stays black (gated by the ink)


def test_linear_without_the_options_is_the_plain_perceptron(tmp_path):
    from kcolor.models import linear

    plain = linear(ink_input=False, ink_gate=False, output_initializer="glorot_uniform")
    kinds = [type(layer).__name__ for layer in plain.layers]
    assert kinds == ["InputLayer", "Flatten", "Dense", "Dense", "Dense", "Reshape"]
    gated = linear()
    assert [type(layer).__name__ for layer in gated.layers] == [
        "InputLayer", "Rescaling", "Flatten", "Dense", "Dense", "Dense", "Reshape", "Multiply",
    ]  # fmt: skip
    assert plain.count_params() == gated.count_params() == 1_468_960
    plain.save_weights(tmp_path / "plain.weights.h5")
    linear(weights=tmp_path / "plain.weights.h5")  # no extra weights: either loads
