"""Alpha: the article's first network, a tiny encoder/decoder (overfits one photo)."""

from __future__ import annotations

import keras

from kcolor.models._blocks import conv, image_shape, stack, up
from kcolor.models.model import ColorModel
from kcolor.presets.weights import load_weights


def alpha(input_shape=(None, None, 1), weights=None):
    """Wallner's *Alpha version*: three stride-2 convolutions down, three upsamplings back.

    The article's layer stack, exactly (every conv 3x3, ``padding="same"``)::

        Conv2D(8, strides=2)    Conv2D(8)     Conv2D(16)
        Conv2D(16, strides=2)   Conv2D(32)    Conv2D(32, strides=2)
        UpSampling2D(2)  Conv2D(32)
        UpSampling2D(2)  Conv2D(16)
        UpSampling2D(2)  Conv2D(2, activation="tanh")

    All convolutions use ``relu`` except the last (``tanh``).
    Parameter count: 32,202, as in the article's Keras model.

    Args:
        input_shape: ``(H, W, 1)``; the article's ``(None, None, 1)`` (any size
            whose sides are multiples of 8) by default.
        weights: ``None``, a ``.weights.h5``/``.keras`` path, or a preset name.

    Returns:
        A functional ``keras.Model`` named ``"alpha"``: encoded L ``(N, H, W, 1)``
        in, encoded ab ``(N, H, W, 2)`` out.

    Example:
        >>> import kcolor
        >>> from kcolor.models import alpha
        >>> model = alpha()
        >>> model.count_params()
        32202
    """
    inputs = keras.Input(image_shape(input_shape, "alpha"), name="L")
    outputs = stack(
        inputs,
        [
            conv(8, strides=2),
            conv(8),
            conv(16),
            conv(16, strides=2),
            conv(32),
            conv(32, strides=2),
            up(),
            conv(32),
            up(),
            conv(16),
            up(),
            conv(2, activation="tanh"),
        ],
    )
    model = ColorModel(inputs, outputs, name="alpha")
    return load_weights(model, weights, architecture="alpha")
