"""Beta: the article's deeper encoder/decoder, trained on many photos."""

from __future__ import annotations

import keras

from kcolor.models._blocks import conv, image_shape, stack, up
from kcolor.models.model import ColorModel
from kcolor.presets.weights import load_weights


def beta(input_shape=(256, 256, 1), weights=None):
    """Wallner's *Beta version*: a VGG-like encoder and an upsampling decoder.

    The article's layer stack, exactly (every conv 3x3, ``padding="same"``, ``relu``
    except the ``tanh`` output)::

        Conv2D(64)    Conv2D(64, strides=2)
        Conv2D(128)   Conv2D(128, strides=2)
        Conv2D(256)   Conv2D(256, strides=2)
        Conv2D(512)   Conv2D(256)   Conv2D(128)
        UpSampling2D(2)  Conv2D(64)
        UpSampling2D(2)  Conv2D(32)
        Conv2D(2, activation="tanh")
        UpSampling2D(2)

    Parameter count: 3,892,194, as in the article's Keras model (independent of
    the input size).

    Args:
        input_shape: ``(H, W, 1)``, ``(H, W)`` or one side ``S``; H and W must be
            multiples of 8 (or ``None`` for any such size at run time). The
            article uses 256x256.
        weights: ``None``, a ``.weights.h5``/``.keras`` path, or a preset name.

    Returns:
        A functional ``keras.Model`` named ``"beta"``: encoded L ``(N, H, W, 1)``
        in, encoded ab ``(N, H, W, 2)`` out.

    Raises:
        ValueError: if H or W is not a multiple of 8.

    Example:
        >>> import kcolor
        >>> from kcolor.models import beta
        >>> beta((128, 96, 1)).output_shape
        (None, 128, 96, 2)
    """
    inputs = keras.Input(image_shape(input_shape, "beta"), name="L")
    outputs = stack(
        inputs,
        [
            conv(64),
            conv(64, strides=2),
            conv(128),
            conv(128, strides=2),
            conv(256),
            conv(256, strides=2),
            conv(512),
            conv(256),
            conv(128),
            up(),
            conv(64),
            up(),
            conv(32),
            conv(2, activation="tanh"),
            up(),
        ],
    )
    model = ColorModel(inputs, outputs, name="beta")
    return load_weights(model, weights, architecture="beta")
