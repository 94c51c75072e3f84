"""The full version: an encoder/decoder fused with a frozen classifier's view of the photo."""

from __future__ import annotations

import keras
from keras import ops

from kcolor.models._blocks import conv, image_shape, stack, up
from kcolor.models.model import ColorModel
from kcolor.presets.weights import load_weights


@keras.saving.register_keras_serializable(package="kcolor")
class BroadcastEmbedding(keras.layers.Layer):
    """Repeat a per-image vector over every cell of a feature grid.

    The article does this with ``RepeatVector(32 * 32)`` and
    ``Reshape((32, 32, 1000))``, which fixes the grid at 32x32 (256 px photos).
    This layer reads the grid size from the feature map it is given, so one
    model serves any image size, and it is safe to load (no ``Lambda``).

    Call arguments:
        inputs: ``[grid, vector]``: a feature map ``(N, H, W, C)`` (only its
            size is used) and a vector ``(N, D)``.

    Returns:
        ``(N, H, W, D)``: ``vector`` at every ``(h, w)``.

    Example:
        >>> import numpy as np
        >>> grid, vector = np.zeros((2, 4, 3, 8)), np.arange(10.0).reshape(2, 5)
        >>> out = BroadcastEmbedding()([grid, vector])
        >>> tuple(out.shape)
        (2, 4, 3, 5)
    """

    def call(self, inputs):
        grid, vector = inputs
        vector = ops.cast(vector, self.compute_dtype)
        ones = ops.ones_like(ops.cast(grid[..., :1], self.compute_dtype))
        return ops.expand_dims(ops.expand_dims(vector, 1), 1) * ones

    def compute_output_shape(self, input_shape):
        grid_shape, vector_shape = input_shape
        return (*grid_shape[:3], vector_shape[-1])


def fusion(input_shape=(256, 256, 1), embedding_dim=1000, weights=None):
    """Wallner's *Full version*, after Baldassarre et al.'s "Deep Koalarization".

    An encoder reads the grey photo, a frozen ImageNet classifier's 1000 class
    probabilities (see :mod:`kcolor.models.embedders`) are repeated over the
    encoder's grid and concatenated to it, a 1x1 convolution fuses the two, and
    a decoder paints the colours. Exactly the article's stack (3x3 ``same``
    convs, ``relu`` except the ``tanh`` output)::

        encoder: Conv2D(64, strides=2)  Conv2D(128)  Conv2D(128, strides=2)
                 Conv2D(256)  Conv2D(256, strides=2)
                 Conv2D(512)  Conv2D(512)  Conv2D(256)
        fusion:  BroadcastEmbedding()([encoder, embedding])  # RepeatVector + Reshape
                 Concatenate()([encoder, repeated])
                 Conv2D(256, kernel_size=1)
        decoder: Conv2D(128)  UpSampling2D(2)
                 Conv2D(64)   UpSampling2D(2)
                 Conv2D(32)   Conv2D(16)  Conv2D(2, activation="tanh")
                 UpSampling2D(2)

    Parameter count at ``embedding_dim=1000``: 6,541,202, as in the article's
    Keras model (independent of the input size).

    Args:
        input_shape: ``(H, W, 1)``, ``(H, W)`` or one side ``S``; multiples of 8
            (or ``None``). The article uses 256x256 (a 32x32 fusion grid).
        embedding_dim: length of the embedding vector (1000 ImageNet classes).
        weights: ``None``, a ``.weights.h5``/``.keras`` path, or a preset name.

    Returns:
        A functional ``keras.Model`` named ``"fusion"`` with inputs
        ``[L (N, H, W, 1), embedding (N, embedding_dim)]`` (the article's order)
        and output encoded ab ``(N, H, W, 2)``.

    Example:
        >>> import kcolor
        >>> from kcolor.models import fusion
        >>> model = fusion()
        >>> [tuple(i.shape) for i in model.inputs]
        [(None, 256, 256, 1), (None, 1000)]
    """
    image = keras.Input(image_shape(input_shape, "fusion"), name="L")
    embedding = keras.Input((int(embedding_dim),), name="embedding")
    encoded = stack(
        image,
        [
            conv(64, strides=2),
            conv(128),
            conv(128, strides=2),
            conv(256),
            conv(256, strides=2),
            conv(512),
            conv(512),
            conv(256),
        ],
    )
    repeated = BroadcastEmbedding(name="repeat_embedding")([encoded, embedding])
    fused = keras.layers.Concatenate(axis=-1)([encoded, repeated])
    outputs = stack(
        fused,
        [
            conv(256, kernel_size=1),
            conv(128),
            up(),
            conv(64),
            up(),
            conv(32),
            conv(16),
            conv(2, activation="tanh"),
            up(),
        ],
    )
    model = ColorModel([image, embedding], outputs, name="fusion")
    return load_weights(model, weights, architecture="fusion")
