"""The colour-class head and the questions asked of a model about it.

* :class:`ColorClassLogits` - a 1x1 projection to the Q bins that carries the bins
  (config) and the class weights (a non-trainable variable), so a saved model or a
  ``.weights.h5`` file keeps them;
* :func:`is_class_model` - the one test of a model's kind: colour-class logits (Q output
  channels) or encoded ab regression (2 channels);
* :func:`class_head`, :func:`set_class_weights`, :func:`get_class_weights`.

Example:
    >>> import keras
    >>> from kcolor.models.color_classes.head import ColorClassLogits, is_class_model
    >>> inputs = keras.Input((8, 8, 1))
    >>> model = keras.Model(inputs, ColorClassLogits()(keras.layers.Conv2D(4, 1)(inputs)))
    >>> is_class_model(model), class_head(model).num_bins
    (True, 229)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kcolor.models.color_classes.bins import as_bins

__all__ = [
    "AB_CHANNELS",
    "ColorClassLogits",
    "class_head",
    "get_class_weights",
    "is_class_model",
    "set_class_weights",
]

#: Output channels of a regression model: encoded a and b.
AB_CHANNELS = 2


@keras.saving.register_keras_serializable(package="kcolor")
class ColorClassLogits(keras.layers.Layer):
    """A 1x1 projection of features ``(N, h, w, C)`` to ab-bin logits ``(N, h, w, Q)``.

    Carries what a class model needs at training and decoding time: the bin
    centres (config) and the class-rebalancing weights (a non-trainable variable
    ``class_weights``, ones until :func:`set_class_weights`), so both travel in
    ``.keras`` archives and ``.weights.h5`` files.

    Args:
        bins: bin centres ``(Q, 2)`` in ab units (default :func:`gamut_bins`).
        output_stride: how many input pixels one logit pixel covers per side
            (the decoder upsamples decoded ab by this factor).
        kernel_initializer, bias_initializer: as ``keras.layers.Dense``.

    Example:
        >>> head = ColorClassLogits(output_stride=2)
        >>> head(keras.ops.ones((1, 4, 4, 8))).shape
        torch.Size([1, 4, 4, 229])
    """

    def __init__(
        self,
        bins=None,
        output_stride: int = 1,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.bins = as_bins(bins)
        self.output_stride = int(output_stride)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    @property
    def num_bins(self) -> int:
        return len(self.bins)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.kernel = self.add_weight(
            shape=(channels, self.num_bins), initializer=self.kernel_initializer, name="kernel"
        )
        self.bias = self.add_weight(
            shape=(self.num_bins,), initializer=self.bias_initializer, name="bias"
        )
        self.class_weights = self.add_weight(
            shape=(self.num_bins,), initializer="ones", trainable=False, name="class_weights"
        )

    def call(self, features):
        return ops.matmul(features, ops.cast(self.kernel, features.dtype)) + ops.cast(
            self.bias, features.dtype
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_bins,)

    def get_config(self):
        return {
            **super().get_config(),
            "bins": self.bins.tolist(),
            "output_stride": self.output_stride,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


def class_head(model) -> ColorClassLogits | None:
    """The :class:`ColorClassLogits` layer that produces ``model``'s output, or None."""
    if not model.outputs or len(model.outputs) != 1:
        return None
    output = model.outputs[0]
    for layer in _walk(model):
        if isinstance(layer, ColorClassLogits) and any(o is output for o in _layer_outputs(layer)):
            return layer
    # A class head whose output passes through a cast or identity: trust the channel count.
    heads = [layer for layer in _walk(model) if isinstance(layer, ColorClassLogits)]
    if len(heads) == 1 and output.shape[-1] == heads[0].num_bins:
        return heads[0]
    return None


def _walk(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _walk(layer)


def _layer_outputs(layer):
    try:
        out = layer.output
    except (AttributeError, ValueError):
        return []
    return out if isinstance(out, (list, tuple)) else [out]


def is_class_model(model) -> bool:
    """True when ``model`` outputs colour-class logits, False when it outputs encoded ab.

    The one test kcolor makes of a model's kind (training, previews, the colouriser): its
    (first) output has Q channels (a :class:`ColorClassLogits` head, or a cast of it), not
    the :data:`AB_CHANNELS` (2) of ab regression. An output whose channels are unknown, or
    a model without symbolic outputs, counts as ab.

    Args:
        model: a Keras model.

    Returns:
        ``bool``.

    Example:
        >>> import keras
        >>> inputs = keras.Input((4, 4, 1))
        >>> is_class_model(keras.Model(inputs, keras.layers.Conv2D(2, 1)(inputs)))
        False
    """
    outputs = getattr(model, "outputs", None)
    if not outputs:
        return False
    channels = outputs[0].shape[-1]
    return channels is not None and int(channels) != AB_CHANNELS


def set_class_weights(model, class_weights) -> None:
    """Store rebalancing weights ``(Q,)`` in the class head of ``model``."""
    head = class_head(model)
    if head is None:
        raise ValueError(f"model {model.name!r} has no colour-class head")
    weights = np.asarray(class_weights, np.float32).reshape(-1)
    if len(weights) != head.num_bins:
        raise ValueError(f"{len(weights)} class weights for a head of {head.num_bins} bins")
    head.class_weights.assign(weights)


def get_class_weights(model) -> np.ndarray:
    """The rebalancing weights ``(Q,)`` stored in the class head of ``model``."""
    head = class_head(model)
    if head is None:
        raise ValueError(f"model {model.name!r} has no colour-class head")
    return np.asarray(keras.ops.convert_to_numpy(head.class_weights), np.float32)
