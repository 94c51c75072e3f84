"""Step 2 of the colour-MNIST course: a convolutional colouriser that sees the whole digit."""

from __future__ import annotations

import keras

from kcolor import layers
from kcolor.models._blocks import conv, up
from kcolor.models.fusion import BroadcastEmbedding
from kcolor.models.model import ColorModel
from kcolor.presets.weights import load_weights


def cnn(
    input_shape=(28, 28, 1),
    batch_norm=False,
    weights=None,
    *,
    ink_gate=True,
    output_initializer="zeros",
    bn_momentum=0.9,
):
    """A small encoder/decoder CNN with a global context vector, for colour MNIST.

    In colour MNIST the colour of a digit depends on *which* digit it is, and
    each pixel's ab is that colour scaled by the pixel's ink: ``ab = palette[digit] * m``
    with ``L = 60 m``. A plain stack of 3x3 convolutions only sees a patch, so
    this network (a miniature of the article's fusion model) builds a global
    context vector from the whole image, repeats it over the feature grid, hands
    the decoder the input L through a skip connection, and gates its last
    features by the ink (``L + 1``, zero on the background), so that the output
    layer can scale the digit's colour by the ink at each pixel in one linear step::

        encoder: Conv2D(32)  Conv2D(64, strides=2)  Conv2D(128, strides=2)   # 28 -> 7
        context: Conv2D(128, strides=2)  Flatten()  Dense(128, "relu")       # 7 -> 4 -> vector
        fusion:  BroadcastEmbedding()([grid7, context])  Concatenate()  Conv2D(128, kernel_size=1)
        decoder: UpSampling2D(2)  Conv2D(64)  UpSampling2D(2)  Conv2D(32)    # 7 -> 28
                 Concatenate()([decoded, L])  Conv2D(32)
        output:  Concatenate()([x, x * (L + 1)])  Conv2D(2, activation="tanh", kernel_initializer="zeros")
                 Multiply()([ab, (L + 1) / 2])          # (left out if ink_gate=False)

    ``batch_norm=True`` puts ``BatchNormalization(momentum=bn_momentum)`` between
    every hidden convolution and its ``relu``.

    ``ink_gate=False, output_initializer="glorot_uniform", bn_momentum=0.99`` is the
    network as first shipped. None of the options adds weights, so a weights file
    loads either way.

    * ``output_initializer``: the output convolution's kernel starts at zero, so the
      network starts by predicting ``ab = 0`` (grey) rather than random colours
      larger than the targets.
    * ``ink_gate``: the output is multiplied by the ink ``(L + 1) / 2``, so black
      pixels get ``ab = 0``.
    * ``bn_momentum``: the ``BatchNormalization`` layers' moving-statistics
      momentum (Keras' default is 0.99).

    Parameter counts at 28x28: 638,370 (``batch_norm=False``) and 640,802
    (``batch_norm=True``, of which 1,216 are non-trainable moving statistics).

    Args:
        input_shape: ``(H, W, 1)``; sides must be multiples of 4 (28 for MNIST).
            Fixed: the context vector flattens the whole grid.
        batch_norm: insert ``BatchNormalization`` after the hidden convolutions.
        weights: ``None``, a ``.weights.h5``/``.keras`` path, or a preset name.
        ink_gate: multiply the ``tanh`` output by ``(L + 1) / 2``.
        output_initializer: ``kernel_initializer`` of the output ``Conv2D``.
        bn_momentum: ``momentum`` of the ``BatchNormalization`` layers.

    Returns:
        A functional ``keras.Model`` named ``"cnn"`` (``"cnn_bn"`` with batch
        norm): encoded L ``(N, H, W, 1)`` in, encoded ab ``(N, H, W, 2)`` out.

    Example:
        >>> import kcolor
        >>> from kcolor.models import cnn
        >>> model = cnn(batch_norm=True)
        >>> model.output_shape
        (None, 28, 28, 2)
        >>> cnn(ink_gate=False, output_initializer="glorot_uniform").count_params()
        638370
    """
    height, width, channels = (int(s) for s in input_shape)
    if channels != 1 or height % 4 or width % 4:
        raise ValueError(
            f"cnn: input_shape must be (H, W, 1) with H and W multiples of 4, got {input_shape!r}"
        )

    def block(x, filters, strides=1, kernel_size=3):
        if not batch_norm:
            return conv(filters, strides=strides, kernel_size=kernel_size)(x)
        x = conv(filters, strides=strides, kernel_size=kernel_size, activation=None)(x)
        x = keras.layers.BatchNormalization(momentum=bn_momentum)(x)
        return keras.layers.Activation("relu")(x)

    image = keras.Input((height, width, 1), name="L")
    x = block(image, 32)
    x = block(x, 64, strides=2)
    grid = block(x, 128, strides=2)

    context = block(grid, 128, strides=2)
    context = keras.layers.Flatten()(context)
    context = keras.layers.Dense(128, activation="relu", name="context")(context)

    repeated = BroadcastEmbedding()([grid, context])
    x = keras.layers.Concatenate()([grid, repeated])
    x = block(x, 128, kernel_size=1)
    x = up()(x)
    x = block(x, 64)
    x = up()(x)
    x = block(x, 32)
    x = keras.layers.Concatenate()([x, image])
    x = block(x, 32)
    # Gate by the ink: L + 1 = L_lab / 50 is 0 on the black background and 1.2 m on
    # the digit, so a colour held in x becomes colour * m in one linear step.
    ink = keras.layers.Rescaling(1.0, offset=1.0, name="ink")(image)
    x = keras.layers.Concatenate()([x, keras.layers.Multiply()([x, ink])])
    x = layers.Conv2D(
        2, 3, padding="same", activation="tanh", kernel_initializer=output_initializer
    )(x)
    if ink_gate:
        gate = keras.layers.Rescaling(0.5, offset=0.5, name="ink_gate")(image)
        outputs = keras.layers.Multiply(name="ab")([x, gate])
    else:
        outputs = x
    model = ColorModel(image, outputs, name="cnn_bn" if batch_norm else "cnn")
    return load_weights(model, weights, architecture="cnn")
