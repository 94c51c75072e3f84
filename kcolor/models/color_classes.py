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
targets that kcolor's datasets yield, unchanged:

* :class:`ColorClassLogits` - the head: a 1x1 projection to the Q bins that carries the
  bins (config) and the class weights (a non-trainable variable), so a saved model or a
  ``.weights.h5`` file keeps them;
* :class:`ColorClassLoss` - weighted cross-entropy with soft targets;
* :class:`AnnealedMeanDecode` - logits to encoded ab: the mean of the bins under
  ``softmax(logits / T)``; T=1 is the mean, T->0 the mode, 0.38 Zhang's compromise;
* :func:`to_ab_model` - any class model -> a model that outputs encoded ab
  ``(N, H, W, 2)`` like every other kcolor model; :func:`is_class_model`.

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

from __future__ import annotations

import functools

import keras
import numpy as np
from keras import ops

from kcolor import color
from kcolor.models.model import ColorModel

DEFAULT_GRID = 10
DEFAULT_NEIGHBOURS = 5
DEFAULT_SIGMA = 5.0
DEFAULT_LAMBDA = 0.5
DEFAULT_TEMPERATURE = 0.38


# ====================================================================== bins (numpy)
@functools.lru_cache(maxsize=8)
def _gamut_bins(grid: float, l_steps: int) -> np.ndarray:
    half = int(np.ceil(128.0 / grid)) * grid
    axis = np.arange(-half, half + grid / 2, grid, dtype=np.float64)
    a, b = np.meshgrid(axis, axis, indexing="ij")
    ab = np.stack([a.ravel(), b.ravel()], -1)
    lightness = np.linspace(0.0, color.L_MAX, l_steps)
    lab = np.concatenate(
        [
            np.broadcast_to(lightness[:, None, None], (l_steps, len(ab), 1)),
            np.broadcast_to(ab[None], (l_steps, len(ab), 2)),
        ],
        -1,
    )
    rgb = color.lab_to_rgb(lab, clip=False)
    inside = ((rgb >= 0.0) & (rgb <= 1.0)).all(-1).any(0)
    return ab[inside].astype(np.float32)


def gamut_bins(grid: float = DEFAULT_GRID, l_steps: int = 1001) -> np.ndarray:
    """The ab bin centres ``(Q, 2)`` (in ab units) whose colour is in the sRGB gamut.

    Centres lie on the multiples of ``grid`` in ``[-130, 130]``; a centre is kept when
    ``kcolor.color.lab_to_rgb(clip=False)`` maps it into ``[0, 1]`` for at least one of
    ``l_steps`` lightnesses evenly spaced in ``[0, 100]``. Row-major in (a, b).

    Args:
        grid: bin side in ab units.
        l_steps: lightnesses sampled.

    Returns:
        float32 array ``(Q, 2)``; ``Q == 229`` for ``grid=10``.
    """
    return _gamut_bins(float(grid), int(l_steps)).copy()


def _as_bins(bins) -> np.ndarray:
    if bins is None:
        return gamut_bins()
    bins = np.asarray(bins, np.float32)
    if bins.ndim != 2 or bins.shape[1] != 2:
        raise ValueError(f"bins must be ab centres of shape (Q, 2), got shape {bins.shape}")
    return bins


def _squared_distances(ab: np.ndarray, bins: np.ndarray) -> np.ndarray:
    ab = ab.reshape(-1, 2).astype(np.float32)
    return ((ab**2).sum(-1, keepdims=True) - 2.0 * ab @ bins.T + (bins**2).sum(-1)[None]).clip(
        min=0.0
    )


def nearest_bin(ab, bins=None) -> np.ndarray:
    """Index of the nearest bin centre of each ab pair (ab units, ``(..., 2)``) -> ``(...)``."""
    ab = np.asarray(ab, np.float32)
    bins = _as_bins(bins)
    return _squared_distances(ab, bins).argmin(-1).reshape(ab.shape[:-1])


def soft_encode(ab, bins=None, neighbours: int = DEFAULT_NEIGHBOURS, sigma: float = DEFAULT_SIGMA):
    """Soft one-hot targets ``(..., Q)`` of ab pairs (ab units, ``(..., 2)``).

    Each pair gets Gaussian weights ``exp(-d**2 / (2 sigma**2))`` on its ``neighbours``
    nearest bin centres, normalised to sum 1; 0 elsewhere.
    """
    ab = np.asarray(ab, np.float32)
    bins = _as_bins(bins)
    d2 = _squared_distances(ab, bins)
    idx = np.argpartition(d2, neighbours - 1, axis=-1)[:, :neighbours]
    near = np.take_along_axis(d2, idx, -1)
    w = np.exp(-(near - near.min(-1, keepdims=True)) / (2.0 * sigma**2))
    w /= w.sum(-1, keepdims=True)
    out = np.zeros(d2.shape, np.float32)
    np.put_along_axis(out, idx, w.astype(np.float32), -1)
    return out.reshape(ab.shape[:-1] + (len(bins),))


def _encoded_ab_batches(data, max_batches):
    """Yield encoded ab arrays ``(..., 2)`` from an array, a sequence of arrays or (x, y) batches."""
    if isinstance(data, np.ndarray) or hasattr(data, "shape"):
        yield np.asarray(keras.ops.convert_to_numpy(data))[..., -2:]
        return
    if not (hasattr(data, "__getitem__") and hasattr(data, "__len__")):
        raise TypeError(
            f"expected encoded ab arrays or a dataset of (x, y) batches, got {type(data).__name__}"
        )
    count = len(data) if max_batches is None else min(len(data), int(max_batches))
    for i in range(count):
        item = data[i]
        if isinstance(item, (tuple, list)):
            item = item[1]
        yield np.asarray(keras.ops.convert_to_numpy(item))[..., -2:]


def ab_histogram(data, bins=None, max_batches: int | None = None) -> np.ndarray:
    """Counts ``(Q,)`` of nearest bins over encoded ab data.

    Args:
        data: encoded ab ``(N, H, W, 2)`` (or packed ``(..., 3)``), a sequence of such
            arrays, or a dataset of ``(x, y)`` batches (``y`` encoded ab).
        bins: bin centres (default :func:`gamut_bins`).
        max_batches: read at most this many items of a sequence or dataset.
    """
    bins = _as_bins(bins)
    counts = np.zeros(len(bins), np.float64)
    for ab in _encoded_ab_batches(data, max_batches):
        idx = nearest_bin(color.decode_ab(np.asarray(ab, np.float32)), bins)
        counts += np.bincount(idx.ravel(), minlength=len(bins))
    if counts.sum() == 0:
        raise ValueError("ab_histogram: the data holds no pixels")
    return counts


def fit_class_weights(
    data, bins=None, lam: float = DEFAULT_LAMBDA, sigma: float = DEFAULT_SIGMA, max_batches=None
) -> np.ndarray:
    """Class-rebalancing weights ``(Q,)`` float32 from the training data's ab distribution.

    ``p`` is the nearest-bin histogram of the data, normalised and smoothed by a Gaussian
    of ``sigma`` ab units over the bin centres; the weights are
    ``((1 - lam) * p + lam / Q) ** -1``, scaled so that ``sum(p * w) == 1`` (mean 1 over
    the training pixels).

    Args:
        data: see :func:`ab_histogram`.
        bins: bin centres (default :func:`gamut_bins`).
        lam: mixing with the uniform distribution (0: full rebalancing, 1: none).
        sigma: smoothing of the histogram in ab units.
        max_batches: read at most this many batches.
    """
    bins = _as_bins(bins)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    counts = ab_histogram(data, bins, max_batches)
    return class_weights_from_counts(counts, bins, lam, sigma)


def class_weights_from_counts(counts, bins=None, lam=DEFAULT_LAMBDA, sigma=DEFAULT_SIGMA):
    """:func:`fit_class_weights` from a histogram ``(Q,)`` already counted."""
    bins = _as_bins(bins)
    p = np.asarray(counts, np.float64) / np.sum(counts)
    if sigma and sigma > 0:
        d2 = ((bins[:, None, :] - bins[None, :, :]) ** 2).sum(-1)
        kernel = np.exp(-d2 / (2.0 * sigma**2))
        p = kernel @ p
        p /= p.sum()
    w = 1.0 / ((1.0 - lam) * p + lam / len(bins))
    w /= np.sum(p * w)
    return w.astype(np.float32)


# ====================================================================== Keras objects
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
        self.bins = _as_bins(bins)
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
        self.bins = _as_bins(bins)
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
        self.bins = _as_bins(bins)
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


@keras.saving.register_keras_serializable(package="kcolor")
class AbHuber(keras.losses.Loss):
    """Huber loss on encoded ab, the regression head's counterpart of :class:`ColorClassLoss`.

    Reads ab from the last two channels of ``y_true`` (so packed ``(N, H, W, 3)``
    targets work); ``delta`` is in ab units (quadratic below, linear above).

    Args:
        delta: the switch from quadratic to linear, in ab units (default 10).
        reduction, name: as ``keras.losses.Loss``.

    Example:
        >>> model.compile("adam", loss=AbHuber(delta=10.0))   # doctest: +SKIP
    """

    def __init__(
        self, delta: float = 10.0, reduction="sum_over_batch_size", name="ab_huber", **kwargs
    ):
        super().__init__(name=name, reduction=reduction, **kwargs)
        self.delta = float(delta)

    def call(self, y_true, y_pred):
        d = self.delta / color.AB_SCALE
        error = ops.abs(ops.cast(y_pred, "float32") - ops.cast(y_true[..., -2:], "float32"))
        quadratic = ops.minimum(error, d)
        loss = 0.5 * quadratic**2 + d * (error - quadratic)
        # In units of (ab / 128)**2 as MSE on encoded ab, per pixel (mean over a and b).
        return ops.mean(loss, axis=-1)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


# ====================================================================== model helpers
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
    """True when ``model`` outputs ab-bin logits (a :class:`ColorClassLogits` head)."""
    return class_head(model) is not None


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


__all__ = [
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
