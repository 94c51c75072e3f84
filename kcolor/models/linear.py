"""Step 1 of the colour-MNIST course: a plain multi-layer perceptron."""

from __future__ import annotations

import keras

from kcolor.models.model import ColorModel
from kcolor.presets.weights import load_weights


def linear(
    input_shape=(28, 28, 1),
    hidden=(512, 512),
    weights=None,
    *,
    ink_input=True,
    ink_gate=True,
    output_initializer="zeros",
):
    """Dense layers only: the MNIST course's first colouriser.

    Every output pixel sees every input pixel, so the MLP can tell which digit
    it is looking at and paint it that digit's colour. The layer stack::

        ink = Rescaling(0.5, offset=0.5)(L)            # (L + 1) / 2: 0 on black, 1 on white
        Flatten()(ink)                                 # (L itself if ink_input=False)
        Dense(512, activation="relu")
        Dense(512, activation="relu")
        Dense(28 * 28 * 2, activation="tanh", kernel_initializer="zeros")
        Reshape((28, 28, 2))
        Multiply()([ab, ink])                          # (left out if ink_gate=False)

    ``ink_input=False, ink_gate=False, output_initializer="glorot_uniform"`` is the
    plain perceptron on the encoded L. None of the options adds weights, so a weights
    file loads either way.

    * ``ink_input``: the Dense layers read ``(L + 1) / 2`` instead of ``L``. The
      encoded L of a black pixel is ``-1``, so with it every image shares a large
      constant input; reading the ink, a black pixel is ``0`` and its weights get no
      gradient.
    * ``ink_gate``: the output is multiplied by the ink, so black pixels get
      ``ab = 0`` and the Dense layers need only say which colour, not how much
      of it goes to each pixel.
    * ``output_initializer``: the output layer's kernel starts at zero, so the
      network starts by predicting ``ab = 0`` (grey) rather than random colours many
      times larger than the targets.

    Parameter count at the defaults: 1,468,960
    (784*512+512 + 512*512+512 + 512*1568+1568), with or without the options.

    Args:
        input_shape: ``(H, W, 1)`` of the encoded L input (fixed: the MLP has one
            weight per pixel).
        hidden: widths of the hidden ``relu`` layers.
        weights: ``None``, a ``.weights.h5``/``.keras`` path, or a preset name.
        ink_input: feed the Dense layers ``(L + 1) / 2`` rather than ``L``.
        ink_gate: multiply the ``tanh`` output by ``(L + 1) / 2``.
        output_initializer: ``kernel_initializer`` of the output ``Dense`` layer.

    Returns:
        A functional ``keras.Model`` named ``"linear"``: encoded L ``(N, H, W, 1)``
        in, encoded ab ``(N, H, W, 2)`` in ``[-1, 1]`` out.

    Example:
        >>> import kcolor
        >>> from kcolor.models import linear
        >>> model = linear()
        >>> model.output_shape
        (None, 28, 28, 2)
        >>> linear(ink_input=False, ink_gate=False).count_params()
        1468960
    """
    height, width, channels = (int(s) for s in input_shape)
    if channels != 1:
        raise ValueError(f"linear: input_shape must be (H, W, 1), got {input_shape!r}")
    inputs = keras.Input((height, width, 1), name="L")
    ink = keras.layers.Rescaling(0.5, offset=0.5, name="ink")(inputs)
    x = keras.layers.Flatten()(ink if ink_input else inputs)
    for units in hidden:
        x = keras.layers.Dense(int(units), activation="relu")(x)
    x = keras.layers.Dense(
        height * width * 2, activation="tanh", kernel_initializer=output_initializer
    )(x)
    if ink_gate:
        x = keras.layers.Reshape((height, width, 2))(x)
        outputs = keras.layers.Multiply(name="ab")([x, ink])
    else:
        outputs = keras.layers.Reshape((height, width, 2), name="ab")(x)
    model = ColorModel(inputs, outputs, name="linear")
    return load_weights(model, weights, architecture="linear")
