"""Colour as classification: in-gamut ab bins, soft targets, class rebalancing, annealed mean.

Following Zhang, Isola and Efros, *Colorful Image Colorization* (ECCV 2016), the ab plane
is cut into a grid of bins (side ``grid=10`` ab units) and only the bins whose centre is a
displayable sRGB colour for some lightness are kept (:func:`gamut_bins`). A network
predicts one logit per bin and pixel; it is trained with

* **soft targets**: each true ab is spread over its 5 nearest bin centres with Gaussian
  weights (sigma 5 ab units) that sum to 1 (:func:`soft_encode`);
* **class rebalancing**: each pixel's cross-entropy is weighted by
  ``w[q] ~ ((1 - lam) p[q] + lam / Q) ** -1`` for its nearest bin ``q``, where ``p`` is the
  training set's ab distribution over the bins, smoothed by a Gaussian (sigma 5);
  ``w`` is normalised so that its expectation over the training pixels is 1,
  ``sum(p * w) == 1`` (:func:`fit_class_weights`). Rare, saturated colours count more,
  against the brownish mean that plain regression converges to.

The pieces are Keras objects, so ``model.fit`` trains a class model on the encoded ab
targets that kcolor's datasets yield, unchanged. Public names, by submodule:

* :mod:`~kcolor.models.color_classes.bins` (numpy): :func:`gamut_bins`, :func:`nearest_bin`,
  :func:`soft_encode`, ``DEFAULT_GRID``, ``DEFAULT_NEIGHBOURS``, ``DEFAULT_SIGMA``;
* :mod:`~kcolor.models.color_classes.rebalancing`: :func:`fit_class_weights`,
  :func:`ab_histogram`, :func:`class_weights_from_counts`, ``DEFAULT_LAMBDA``;
* :mod:`~kcolor.models.color_classes.head`: :class:`ColorClassLogits` - the head: a 1x1
  projection to the Q bins that carries the bins (config) and the class weights (a
  non-trainable variable), so a saved model or a ``.weights.h5`` file keeps them;
  :func:`is_class_model` (the one test of "class logits or encoded ab?"),
  :func:`class_head`, :func:`set_class_weights`, :func:`get_class_weights`;
* :mod:`~kcolor.models.color_classes.loss`: :class:`ColorClassLoss` - weighted
  cross-entropy with soft targets; :func:`make_loss`, :func:`class_loss`;
* :mod:`~kcolor.models.color_classes.decoding`: :class:`AnnealedMeanDecode` - logits to
  encoded ab: the mean of the bins under ``softmax(logits / T)``; T=1 is the mean, T->0 the
  mode, 0.38 Zhang's compromise; :func:`to_ab_model` - any class model -> a model that
  outputs encoded ab ``(N, H, W, 2)`` like every other kcolor model; ``DEFAULT_TEMPERATURE``.

:class:`AbHuber`, the regression head's loss, lives in :mod:`kcolor.losses` (re-exported
here for the old import path).

Example:
    >>> import kcolor
    >>> from kcolor.models import unet
    >>> from kcolor.models.color_classes import class_loss, fit_class_weights, to_ab_model
    >>> model = unet((64, 64, 1), backbone_weights=None, head="classes")   # doctest: +SKIP
    >>> set_class_weights(model, fit_class_weights(train, gamut_bins()))   # doctest: +SKIP
    >>> model.compile("adam", loss=class_loss(model))                      # doctest: +SKIP
    >>> model.fit(train, epochs=5)                                         # doctest: +SKIP
    >>> ab_model = to_ab_model(model, temperature=0.38)                    # doctest: +SKIP
"""

from kcolor.losses import AbHuber
from kcolor.models.color_classes.bins import (
    DEFAULT_GRID,
    DEFAULT_NEIGHBOURS,
    DEFAULT_SIGMA,
    gamut_bins,
    nearest_bin,
    soft_encode,
)
from kcolor.models.color_classes.decoding import (
    DEFAULT_TEMPERATURE,
    AnnealedMeanDecode,
    to_ab_model,
)
from kcolor.models.color_classes.head import (
    AB_CHANNELS,
    ColorClassLogits,
    class_head,
    get_class_weights,
    is_class_model,
    set_class_weights,
)
from kcolor.models.color_classes.loss import ColorClassLoss, class_loss, make_loss
from kcolor.models.color_classes.rebalancing import (
    DEFAULT_LAMBDA,
    ab_histogram,
    class_weights_from_counts,
    fit_class_weights,
)

__all__ = [
    "AB_CHANNELS",
    "DEFAULT_GRID",
    "DEFAULT_LAMBDA",
    "DEFAULT_NEIGHBOURS",
    "DEFAULT_SIGMA",
    "DEFAULT_TEMPERATURE",
    "AbHuber",
    "AnnealedMeanDecode",
    "ColorClassLogits",
    "ColorClassLoss",
    "ab_histogram",
    "class_head",
    "class_loss",
    "class_weights_from_counts",
    "fit_class_weights",
    "gamut_bins",
    "get_class_weights",
    "is_class_model",
    "make_loss",
    "nearest_bin",
    "set_class_weights",
    "soft_encode",
    "to_ab_model",
]
