"""Decoding class logits to colour: the annealed mean, and any class model made an ab model.

* :class:`AnnealedMeanDecode` - logits to encoded ab: the mean of the bins under
  ``softmax(logits / T)``; T=1 is the mean, T->0 the mode, 0.38 Zhang's compromise;
* :func:`to_ab_model` - any class model -> a model that outputs encoded ab
  ``(N, H, W, 2)`` like every other kcolor model.

Example:
    >>> import keras
    >>> from kcolor.models.color_classes.decoding import AnnealedMeanDecode
    >>> AnnealedMeanDecode(upsample=2)(keras.ops.zeros((1, 4, 4, 229))).shape
    torch.Size([1, 8, 8, 2])
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kcolor import color
from kcolor.models.color_classes.bins import as_bins
from kcolor.models.color_classes.head import class_head, get_class_weights
from kcolor.models.model import ColorModel

__all__ = ["DEFAULT_TEMPERATURE", "AnnealedMeanDecode", "to_ab_model"]

DEFAULT_TEMPERATURE = 0.38


@keras.saving.register_keras_serializable(package="kcolor")
class AnnealedMeanDecode(keras.layers.Layer):
    """Ab-bin logits ``(N, h, w, Q)`` -> encoded ab ``(N, h*s, w*s, 2)`` by the annealed mean.

    ``ab = sum_q softmax(logits / T)_q * bins[q]``, divided by ``kcolor.color.AB_SCALE``
    (the encoding every kcolor model outputs), then bilinearly upsampled by ``upsample``.

    Args:
        bins: bin centres ``(Q, 2)`` in ab units (default :func:`gamut_bins`).
        temperature: T > 0; 1 gives the mean, T -> 0 the mode, 0.38 (default) in between.
        upsample: integer upsampling factor of the decoded ab (the head's output stride).
        class_weights: the head's rebalancing weights ``(Q,)`` (for ``prior_correction``).
        prior_correction: alpha in [-1, 1]: the class probabilities are divided by
            ``class_weights ** alpha`` before annealing. Training with rebalancing weights
            ``w`` makes the network's posterior about ``w_q p(q | x)``, biased to rare,
            saturated colours; alpha 1 undoes that bias, 0 (default) keeps it, a negative
            alpha strengthens it (more saturated still; :mod:`kcolor.inference.vividness` uses it
            above a preset's own balance when the preset's alpha is under 0.5).

    Example:
        >>> decode = AnnealedMeanDecode(temperature=0.38)
        >>> decode(keras.ops.zeros((1, 4, 4, 229))).shape
        torch.Size([1, 4, 4, 2])
    """

    def __init__(
        self,
        bins=None,
        temperature: float = DEFAULT_TEMPERATURE,
        upsample: int = 1,
        class_weights=None,
        prior_correction: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if not -1 <= prior_correction <= 1:
            raise ValueError(f"prior_correction must be in [-1, 1], got {prior_correction}")
        self.bins = as_bins(bins)
        self.temperature = float(temperature)
        self.upsample = int(upsample)
        self.prior_correction = float(prior_correction)
        self.class_weights = None
        if class_weights is not None:
            self.class_weights = np.asarray(class_weights, np.float32).reshape(-1)
            if len(self.class_weights) != len(self.bins) or not (self.class_weights > 0).all():
                raise ValueError(f"class_weights must be {len(self.bins)} positive numbers")
        if self.prior_correction and self.class_weights is None:
            raise ValueError("prior_correction needs the head's class_weights")

    def call(self, logits):
        logits = ops.cast(logits, "float32")
        if self.prior_correction:
            shift = self.prior_correction * np.log(self.class_weights)
            logits = logits - ops.convert_to_tensor(shift, "float32")
        probs = ops.softmax(logits / self.temperature, axis=-1)
        centres = ops.convert_to_tensor(self.bins / color.AB_SCALE, "float32")
        ab = ops.matmul(probs, centres)
        if self.upsample > 1:
            shape = ops.shape(ab)
            ab = ops.image.resize(
                ab, (shape[1] * self.upsample, shape[2] * self.upsample), interpolation="bilinear"
            )
        return ab

    def compute_output_shape(self, input_shape):
        n, h, w = input_shape[0], input_shape[1], input_shape[2]
        s = self.upsample
        return (n, None if h is None else h * s, None if w is None else w * s, 2)

    def get_config(self):
        return {
            **super().get_config(),
            "bins": self.bins.tolist(),
            "temperature": self.temperature,
            "upsample": self.upsample,
            "class_weights": None if self.class_weights is None else self.class_weights.tolist(),
            "prior_correction": self.prior_correction,
        }


def to_ab_model(model, temperature: float = DEFAULT_TEMPERATURE, prior_correction: float = 0.0):
    """A model that outputs encoded ab ``(N, H, W, 2)``: class models decoded, others as they are.

    For a class model the result shares its layers (and weights) and ends with
    :class:`AnnealedMeanDecode` at ``temperature``, upsampled by the head's
    ``output_stride`` to the input size.

    Args:
        model: a kcolor model (class or regression).
        temperature: the annealed-mean temperature.
        prior_correction: how much of the class rebalancing to undo when decoding
            (see :class:`AnnealedMeanDecode`).

    Example:
        >>> ab_model = to_ab_model(model, temperature=0.38)   # doctest: +SKIP
        >>> ab_model.output_shape                              # doctest: +SKIP
        (None, 256, 256, 2)
    """
    head = class_head(model)
    if head is None:
        return model
    weights = get_class_weights(model) if prior_correction else None
    ab = AnnealedMeanDecode(
        head.bins,
        temperature,
        upsample=head.output_stride,
        class_weights=weights,
        prior_correction=prior_correction,
        name="annealed_mean",
    )(model.outputs[0])
    return ColorModel(model.inputs, ab, name=f"{model.name}_ab")
