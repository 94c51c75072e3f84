"""The class loss: class-rebalanced cross-entropy of ab-bin logits against soft targets.

:class:`ColorClassLoss` trains a class model on the encoded ab targets that kcolor's
datasets yield, unchanged; :func:`make_loss` fits its rebalancing weights on the training
data and stores them in the model's head; :func:`class_loss` rebuilds it from a head.

Example:
    >>> import numpy as np
    >>> from kcolor.models.color_classes.loss import ColorClassLoss
    >>> loss = ColorClassLoss()
    >>> float(loss(np.zeros((1, 2, 2, 2)), np.zeros((1, 2, 2, 229)))) > 0
    True
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kcolor import color
from kcolor.models.color_classes.bins import (
    DEFAULT_NEIGHBOURS,
    DEFAULT_SIGMA,
    as_bins,
    gamut_bins,
)
from kcolor.models.color_classes.head import class_head, get_class_weights, set_class_weights
from kcolor.models.color_classes.rebalancing import DEFAULT_LAMBDA, fit_class_weights

__all__ = ["ColorClassLoss", "class_loss", "make_loss"]


@keras.saving.register_keras_serializable(package="kcolor")
class ColorClassLoss(keras.losses.Loss):
    """Class-rebalanced cross-entropy of ab-bin logits against soft-encoded true ab.

    ``y_true`` is encoded ab ``(N, H, W, 2)`` as kcolor's datasets yield it (packed
    ``(N, H, W, 3)`` targets work too: ab is read from the last two channels);
    ``y_pred`` is logits ``(N, h, w, Q)``. When ``H`` is a multiple ``f`` of ``h``
    (a head at stride ``f``), ``y_true`` is average-pooled by ``f`` first. Each
    pixel's loss is ``-w[q] * sum_k t_k log softmax(logits)_k``, with ``t`` the soft
    target (:func:`soft_encode`) and ``q`` the true ab's nearest bin.

    Args:
        bins: bin centres ``(Q, 2)`` in ab units (default :func:`gamut_bins`).
        class_weights: ``(Q,)`` rebalancing weights (:func:`fit_class_weights`);
            ``None``: all 1 (plain soft cross-entropy).
        neighbours: bins a target is spread over.
        sigma: the spread's Gaussian sigma in ab units.
        reduction, name: as ``keras.losses.Loss``.

    Example:
        >>> loss = ColorClassLoss(class_weights=fit_class_weights(y_train))  # doctest: +SKIP
        >>> model.compile("adam", loss=loss)                                # doctest: +SKIP
    """

    def __init__(
        self,
        bins=None,
        class_weights=None,
        neighbours: int = DEFAULT_NEIGHBOURS,
        sigma: float = DEFAULT_SIGMA,
        reduction="sum_over_batch_size",
        name="color_class_loss",
        **kwargs,
    ):
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.bins = as_bins(bins)
        self.class_weights = (
            None if class_weights is None else np.asarray(class_weights, np.float32).reshape(-1)
        )
        if self.class_weights is not None and len(self.class_weights) != len(self.bins):
            raise ValueError(
                f"class_weights has {len(self.class_weights)} entries for {len(self.bins)} bins"
            )
        self.neighbours = int(neighbours)
        self.sigma = float(sigma)

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        ab = ops.cast(y_true[..., -2:], "float32")
        if (
            ab.shape[1] is not None
            and logits.shape[1] is not None
            and ab.shape[1] != logits.shape[1]
        ):
            factor = int(ab.shape[1]) // int(logits.shape[1])
            ab = ops.average_pool(ab, factor, strides=factor, padding="valid")
        ab = ab * color.AB_SCALE
        q = len(self.bins)
        flat_ab = ops.reshape(ab, (-1, 2))
        flat_logits = ops.reshape(logits, (-1, q))
        bins = ops.convert_to_tensor(self.bins, "float32")
        d2 = (
            ops.sum(flat_ab**2, axis=-1, keepdims=True)
            - 2.0 * ops.matmul(flat_ab, ops.transpose(bins))
            + ops.sum(bins**2, axis=-1)[None, :]
        )
        neg, idx = ops.top_k(-d2, self.neighbours)  # nearest first
        near = -neg
        t = ops.exp(-(near - near[:, :1]) / (2.0 * self.sigma**2))
        t = t / ops.sum(t, axis=-1, keepdims=True)
        log_p = ops.log_softmax(flat_logits, axis=-1)
        picked = ops.take_along_axis(log_p, idx, axis=-1)
        loss = -ops.sum(t * picked, axis=-1)
        if self.class_weights is not None:
            weights = ops.convert_to_tensor(self.class_weights, "float32")
            loss = loss * ops.take(weights, idx[:, 0], axis=0)
        return ops.reshape(loss, ops.shape(logits)[:-1])

    def get_config(self):
        return {
            **super().get_config(),
            "bins": self.bins.tolist(),
            "class_weights": None if self.class_weights is None else self.class_weights.tolist(),
            "neighbours": self.neighbours,
            "sigma": self.sigma,
        }


def class_loss(model, neighbours=DEFAULT_NEIGHBOURS, sigma=DEFAULT_SIGMA) -> ColorClassLoss:
    """A :class:`ColorClassLoss` with the bins and class weights of ``model``'s head."""
    head = class_head(model)
    if head is None:
        raise ValueError(f"model {model.name!r} has no colour-class head")
    return ColorClassLoss(head.bins, get_class_weights(model), neighbours, sigma)


def make_loss(
    train=None,
    model=None,
    lam: float = DEFAULT_LAMBDA,
    sigma: float = DEFAULT_SIGMA,
    neighbours: int = DEFAULT_NEIGHBOURS,
    max_batches: int | None = 200,
    class_weights=None,
) -> ColorClassLoss:
    """The :class:`ColorClassLoss` for training a class model, weights fitted on ``train``.

    Fits the rebalancing weights on the training data (:func:`fit_class_weights`, on at
    most ``max_batches`` batches) and, when ``model`` is given, takes its head's bins
    and stores the weights in its head (so the saved model carries them).

    Args:
        train: the training data (see :func:`ab_histogram`); ``None`` with ``class_weights``
            or for unweighted soft cross-entropy.
        model: the class model to be trained (or ``None``: the default bins).
        lam: rebalancing mix (0.5), see :func:`fit_class_weights`.
        sigma: the Gaussian sigma of the soft targets and of the histogram smoothing.
        neighbours: bins per soft target.
        max_batches: batches of ``train`` read for the histogram (``None``: all).
        class_weights: use these weights ``(Q,)`` instead of fitting them.
    """
    head = class_head(model) if model is not None else None
    if model is not None and head is None:
        raise ValueError(f"model {model.name!r} has no colour-class head (unet head='classes')")
    bins = head.bins if head is not None else gamut_bins()
    if class_weights is None and train is not None:
        class_weights = fit_class_weights(
            train, bins, lam=lam, sigma=sigma, max_batches=max_batches
        )
    if head is not None and class_weights is not None:
        set_class_weights(model, class_weights)
    return ColorClassLoss(bins, class_weights, neighbours=neighbours, sigma=sigma)
