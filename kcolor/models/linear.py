"""Step 1 of the colour-MNIST course: a plain multi-layer perceptron."""

from __future__ import annotations

import keras

from kcolor.models._weights import load_weights


def linear(input_shape=(28, 28, 1), hidden=(512, 512), weights=None):
    """Dense layers only: the MNIST course's first colouriser.

    Every output pixel sees every input pixel, so the MLP can tell which digit
    it is looking at and paint it that digit's colour. The layer stack::

        Flatten()
        Dense(512, activation="relu")
        Dense(512, activation="relu")
        Dense(28 * 28 * 2, activation="tanh")
        Reshape((28, 28, 2))

    Parameter count at the defaults: 1,468,960
    (784*512+512 + 512*512+512 + 512*1568+1568).

    Args:
        input_shape: ``(H, W, 1)`` of the encoded L input (fixed: the MLP has one
            weight per pixel).
        hidden: widths of the hidden ``relu`` layers.
        weights: ``None``, a ``.weights.h5``/``.keras`` path, or a preset name.

    Returns:
        A functional ``keras.Model`` named ``"linear"``: encoded L ``(N, H, W, 1)``
        in, encoded ab ``(N, H, W, 2)`` (tanh) out.

    Example:
        >>> import kcolor
        >>> from kcolor.models import linear
        >>> model = linear()
        >>> model.output_shape
        (None, 28, 28, 2)
    """
    height, width, channels = (int(s) for s in input_shape)
    if channels != 1:
        raise ValueError(f"linear: input_shape must be (H, W, 1), got {input_shape!r}")
    inputs = keras.Input((height, width, 1), name="L")
    x = keras.layers.Flatten()(inputs)
    for units in hidden:
        x = keras.layers.Dense(int(units), activation="relu")(x)
    x = keras.layers.Dense(height * width * 2, activation="tanh")(x)
    outputs = keras.layers.Reshape((height, width, 2), name="ab")(x)
    model = keras.Model(inputs, outputs, name="linear")
    return load_weights(model, weights, architecture="linear")
