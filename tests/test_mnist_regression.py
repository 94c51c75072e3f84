"""The colour-MNIST course learns: short real runs tell a success from a collapse.

A collapsed run (hidden ReLUs dead, ab = 0 everywhere: loss stuck at the mean squared
target, about 0.0031) colours 10-20 % of the digits right, by chance, and 0 % of the
pixels. This trains ``examples/01_dense_mnist.py`` as shipped, with fewer epochs, on the
full training set (real MNIST from ../shared/data) and scores it on the test digits; the
CNN test trains ``kcolor.models.cnn`` with example 02's MSE set-up for one epoch on 6,000
digits and checks that its predictions carry colour (a collapsed CNN predicts ab ~ 0).
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


def _starts_grey_and_keeps_black_pixels_black(model):
    """A fresh model predicts ab = 0; after a little training black pixels stay black."""
    import keras
    import numpy as np

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


def test_linear_starts_grey_and_keeps_black_pixels_black():
    from kcolor.models import linear

    _starts_grey_and_keeps_black_pixels_black(linear((16, 16, 1)))


def test_linear_without_the_options_is_the_plain_perceptron(tmp_path):
    from kcolor.models import linear

    plain = linear(ink_input=False, ink_gate=False, output_initializer="glorot_uniform")
    kinds = [type(layer).__name__ for layer in plain.layers]
    assert kinds == ["InputLayer", "Flatten", "Dense", "Dense", "Dense", "Reshape"]
    gated = linear()
    assert [type(layer).__name__ for layer in gated.layers] == [
        "InputLayer",
        "Rescaling",
        "Flatten",
        "Dense",
        "Dense",
        "Dense",
        "Reshape",
        "Multiply",
    ]
    assert plain.count_params() == gated.count_params() == 1_468_960
    plain.save_weights(tmp_path / "plain.weights.h5")
    linear(weights=tmp_path / "plain.weights.h5")  # no extra weights: either loads


# --- Step 2: the CNN (examples/02_cnn_mnist.py, plain MSE) ---------------------------------
# 6,000 digits, not 3,000: with 3,000 a healthy seed-0 run reached 32.8 % on one machine and
# 20.3 % on another (float rounding differs between CPUs), too close to chance (10 %).
# With 6,000: 75.7 / 81.3 / 70.3 % (seeds 0 / 1 / 2); the old network 9.7 %, chroma 0.047.
CNN_DIGITS, CNN_TEST, CNN_BATCH = 6000, 2000, 16
CNN_MIN_DIGIT, CNN_MIN_CHROMA = 0.40, 0.40


def _cnn_short_run(**cnn_kwargs):
    """Example 02's MSE set-up (Adam 1e-3, seed 0), 1 epoch on 6,000 digits in batches of 16.

    Returns (digit colour accuracy, chroma ratio) on the first 2,000 test digits.
    """
    import keras
    import numpy as np

    from kcolor import metrics
    from kcolor.datasets import colored_mnist
    from kcolor.models import cnn

    train, test = colored_mnist("both", path=shared_path("mnist", "mnist.npz"))
    x, y = train.x[:CNN_DIGITS], train.y[:CNN_DIGITS]
    keras.utils.set_random_seed(0)
    model = cnn(**cnn_kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(x, y, batch_size=CNN_BATCH, epochs=1, verbose=0)
    pred = model.predict(test.x[:CNN_TEST], batch_size=500, verbose=0)
    y_test = test.y[:CNN_TEST]
    chroma = lambda ab: np.hypot(ab[..., 0], ab[..., 1]).mean()  # noqa: E731
    return metrics.digit_color_accuracy(y_test, pred), float(chroma(pred) / chroma(y_test))


@pytest.mark.slow
@pytest.mark.shared
def test_cnn_course_does_not_collapse_to_grey():
    """A collapsed CNN predicts ab ~ 0: chroma ratio ~0.01, digit accuracy ~10 % (chance)."""
    start = time.perf_counter()
    digit, chroma = _cnn_short_run()
    summary = (
        f"digit {digit:.2%}, chroma ratio {chroma:.3f} on {CNN_TEST} test digits after 1 epoch "
        f"on {CNN_DIGITS} digits ({time.perf_counter() - start:.0f} s)"
    )
    print(summary)  # shown with pytest -rP
    assert chroma >= CNN_MIN_CHROMA, "collapsed to grey: " + summary
    assert digit >= CNN_MIN_DIGIT, "collapsed or under-trained: " + summary


def test_cnn_starts_grey_and_keeps_black_pixels_black():
    from kcolor.models import cnn

    for batch_norm in (False, True):
        _starts_grey_and_keeps_black_pixels_black(cnn((16, 16, 1), batch_norm=batch_norm))


def test_cnn_old_network_is_one_call_away(tmp_path):
    from kcolor.models import cnn

    old = cnn(ink_gate=False, output_initializer="glorot_uniform", bn_momentum=0.99)
    new = cnn()
    assert [type(layer).__name__ for layer in new.layers][-2:] == ["Rescaling", "Multiply"]
    assert "Multiply" in [type(layer).__name__ for layer in old.layers]  # the x * (L + 1) concat
    assert type(old.layers[-1]).__name__ == "Conv2D"
    assert old.count_params() == new.count_params() == 638_370
    old.save_weights(tmp_path / "old.weights.h5")
    cnn(weights=tmp_path / "old.weights.h5")  # no extra weights: either loads
    bn = cnn(batch_norm=True)
    momenta = {
        layer.momentum for layer in bn.layers if "BatchNormalization" in type(layer).__name__
    }
    assert momenta == {0.9}
    assert bn.count_params() == 640_802
