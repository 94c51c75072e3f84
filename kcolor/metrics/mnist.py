"""Colour MNIST accuracies: Keras metrics (for ``model.compile(metrics=[...])``) and functions.

* :class:`DigitColorAccuracy` / :func:`digit_color_accuracy`: share of digits painted with
  the right palette colour.
* :class:`PixelColorAccuracy` / :func:`pixel_color_accuracy`: share of digit pixels whose
  predicted ab is within 8 ab units of the truth.

Both read the digit's pixels off the *target*: in colour MNIST a pixel of intensity ``m``
has chroma ``30 m``, so ``m = |ab_true| / 30`` and the digit is where ``m >= 0.5``. They
take ab from the **last two channels** of ``y_true`` and ``y_pred``, so targets that carry
L in front (see :func:`kcolor.losses.pack_l`) work too.

Example:
    >>> import numpy as np
    >>> from kcolor.metrics.mnist import digit_color_accuracy
    >>> y = np.zeros((1, 4, 4, 2), np.float32); y[0, :2, :2] = [0.2, 0.1]
    >>> digit_color_accuracy(y, y), digit_color_accuracy(y, np.zeros_like(y))
    (1.0, 0.0)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kcolor import color
from kcolor.palette import MNIST_PALETTE_AB

__all__ = [
    "PIXEL_THRESHOLD",
    "DigitColorAccuracy",
    "PixelColorAccuracy",
    "digit_color_accuracy",
    "pixel_color_accuracy",
]

#: Default tolerance of :func:`pixel_color_accuracy`, in Lab ab units.
PIXEL_THRESHOLD = 8.0


def _palette(palette):
    p = MNIST_PALETTE_AB if palette is None else np.asarray(palette, dtype=np.float32)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) < 1:
        raise ValueError(f"palette must be an (K, 2) array of Lab ab colours, got {p.shape}")
    chroma = np.linalg.norm(p, axis=-1)
    if np.any(chroma <= 0):
        raise ValueError("every palette colour needs a non-zero chroma (a hue)")
    return p, float(chroma.mean())


def _ab(y):
    """Lab ab (real units) from the last two channels of an encoded target/prediction."""
    y = ops.convert_to_tensor(y, dtype="float32")
    return color.decode_ab(y[..., -2:])


def _digit_mask(ab_true, chroma, threshold):
    """1.0 where the target's intensity m = |ab| / chroma is >= threshold."""
    c = ops.sqrt(ops.sum(ops.square(ab_true), axis=-1))
    return ops.cast(c >= threshold * chroma, "float32")


def _digit_hits(y_true, y_pred, palette, threshold):
    """Per image: (1.0 if coloured right else 0.0, 1.0 if the image has a digit)."""
    p, chroma = _palette(palette)
    ab_t, ab_p = _ab(y_true), _ab(y_pred)
    mask = _digit_mask(ab_t, chroma, threshold)  # (N, H, W)
    n = ops.sum(mask, axis=(1, 2))  # (N,)
    denom = ops.maximum(n, 1.0)[:, None]
    mean_t = ops.sum(ab_t * mask[..., None], axis=(1, 2)) / denom  # (N, 2)
    mean_p = ops.sum(ab_p * mask[..., None], axis=(1, 2)) / denom
    unit = ops.convert_to_tensor((p / np.linalg.norm(p, axis=-1, keepdims=True)).T)  # (2, K)
    # Nearest palette hue = largest cosine between the mean ab and a palette colour.
    cls_t = ops.argmax(ops.matmul(mean_t, unit), axis=-1)
    cls_p = ops.argmax(ops.matmul(mean_p, unit), axis=-1)
    has_hue = ops.sum(ops.square(mean_p), axis=-1) > 0.0  # grey has no hue: never right
    has_digit = n > 0
    hit = ops.logical_and(ops.logical_and(cls_t == cls_p, has_hue), has_digit)
    return ops.cast(hit, "float32"), ops.cast(has_digit, "float32")


def _pixel_hits(y_true, y_pred, threshold, palette, digit_threshold):
    """Per image: (digit pixels within ``threshold`` ab units, digit pixels)."""
    _, chroma = _palette(palette)
    ab_t, ab_p = _ab(y_true), _ab(y_pred)
    mask = _digit_mask(ab_t, chroma, digit_threshold)
    err = ops.sqrt(ops.sum(ops.square(ab_p - ab_t), axis=-1))
    close = ops.cast(err <= threshold, "float32") * mask
    return ops.sum(close, axis=(1, 2)), ops.sum(mask, axis=(1, 2))


def _ratio(hits, count) -> float:
    hits, count = float(ops.sum(hits)), float(ops.sum(count))
    return hits / count if count else float("nan")


def digit_color_accuracy(y_true, y_pred, *, palette=None, threshold: float = 0.5) -> float:
    """Share of digits painted with the right palette colour.

    For each image, the predicted ab is averaged over the digit's pixels
    (intensity ``m >= threshold``, with ``m = |ab_true| / 30`` read off the
    target); the palette colour whose hue is nearest that mean is the predicted
    colour, and likewise for the target. A prediction with no chroma at all has
    no hue and counts as wrong.

    Args:
        y_true: encoded targets ``(N, H, W, 2)`` (or ``(N, H, W, 3)`` with L first).
        y_pred: encoded predictions, same layout.
        palette: ``(K, 2)`` Lab ab colours; default :data:`MNIST_PALETTE_AB`.
        threshold: intensity above which a pixel belongs to the digit.

    Returns:
        A float in ``[0, 1]`` (``nan`` if no image has a digit).
    """
    return _ratio(*_digit_hits(y_true, y_pred, palette, threshold))


def pixel_color_accuracy(
    y_true,
    y_pred,
    threshold: float = PIXEL_THRESHOLD,
    *,
    palette=None,
    digit_threshold: float = 0.5,
) -> float:
    """Share of digit pixels whose predicted ab is within ``threshold`` of the truth.

    The distance is Euclidean in real Lab ab units (after
    :func:`kcolor.color.decode_ab`); digit pixels are those of intensity
    ``m >= digit_threshold`` (``m = |ab_true| / 30``). Pooled over all pixels of
    all images.

    Args:
        y_true, y_pred: encoded ab ``(N, H, W, 2)`` (or 3 channels with L first).
        threshold: tolerance in ab units (default 8).
        palette: the palette whose chroma defines ``m``; default MNIST's.
        digit_threshold: intensity above which a pixel belongs to the digit.
    """
    return _ratio(*_pixel_hits(y_true, y_pred, threshold, palette, digit_threshold))


class _RatioMetric(keras.metrics.Metric):
    """A metric that sums hits and counts over batches and reports hits / count."""

    def __init__(self, name, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def _per_image(self, y_true, y_pred):  # pragma: no cover - abstract
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        hits, count = self._per_image(y_true, y_pred)
        if sample_weight is not None:
            w = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            hits, count = hits * w, count * w
        self.hits.assign_add(ops.cast(ops.sum(hits), self.hits.dtype))
        self.count.assign_add(ops.cast(ops.sum(count), self.count.dtype))

    def result(self):
        return ops.divide_no_nan(self.hits, self.count)

    def reset_state(self):
        self.hits.assign(0.0)
        self.count.assign(0.0)


@keras.saving.register_keras_serializable(package="kcolor")
class DigitColorAccuracy(_RatioMetric):
    """Keras metric of :func:`digit_color_accuracy` (share of digits coloured right).

    Args:
        threshold: intensity ``m`` above which a pixel belongs to the digit.
        palette: ``(K, 2)`` Lab ab colours; default :data:`MNIST_PALETTE_AB`.
        name: metric name in logs.

    Example:
        >>> model.compile("adam", "mse", metrics=[DigitColorAccuracy(), PixelColorAccuracy()])  # doctest: +SKIP
    """

    def __init__(self, threshold=0.5, palette=None, name="digit_color_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        _palette(palette)
        self.threshold = float(threshold)
        self.palette = None if palette is None else np.asarray(palette, np.float32).tolist()

    def _per_image(self, y_true, y_pred):
        return _digit_hits(y_true, y_pred, self.palette, self.threshold)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold, "palette": self.palette}


@keras.saving.register_keras_serializable(package="kcolor")
class PixelColorAccuracy(_RatioMetric):
    """Keras metric of :func:`pixel_color_accuracy` (digit pixels within 8 ab units).

    Args:
        threshold: tolerance in Lab ab units.
        palette: the palette whose chroma defines the intensity; default MNIST's.
        digit_threshold: intensity above which a pixel belongs to the digit.
        name: metric name in logs.

    Example:
        >>> model.compile("adam", "mse", metrics=[PixelColorAccuracy(threshold=8)])  # doctest: +SKIP
    """

    def __init__(
        self,
        threshold=PIXEL_THRESHOLD,
        palette=None,
        digit_threshold=0.5,
        name="pixel_color_accuracy",
        dtype=None,
    ):
        super().__init__(name=name, dtype=dtype)
        _palette(palette)
        self.threshold = float(threshold)
        self.digit_threshold = float(digit_threshold)
        self.palette = None if palette is None else np.asarray(palette, np.float32).tolist()

    def _per_image(self, y_true, y_pred):
        return _pixel_hits(y_true, y_pred, self.threshold, self.palette, self.digit_threshold)

    def get_config(self):
        return {
            **super().get_config(),
            "threshold": self.threshold,
            "palette": self.palette,
            "digit_threshold": self.digit_threshold,
        }
