"""Colourisation metrics: colour MNIST accuracies (Keras metrics) and photo metrics (numpy).

Colour MNIST (usable in ``model.compile(metrics=[...])`` and as plain functions):

* :class:`DigitColorAccuracy` / :func:`digit_color_accuracy` - share of digits
  painted with the right palette colour.
* :class:`PixelColorAccuracy` / :func:`pixel_color_accuracy` - share of digit
  pixels whose predicted ab is within 8 ab units of the truth.

Both read the digit's pixels off the *target*: in colour MNIST a pixel of
intensity ``m`` has chroma ``30 m``, so ``m = |ab_true| / 30`` and the digit is
where ``m >= 0.5``. They take ab from the **last two channels** of ``y_true``
and ``y_pred``, so targets that carry L in front (see
:func:`kcolor.losses.pack_l`) work too.

Photos (plain functions on uint8 RGB, one image ``(H, W, 3)`` or a batch
``(N, H, W, 3)``; float input is taken to be RGB in ``[0, 1]``):

* :func:`psnr`, :func:`ssim`, :func:`auc` (Zhang et al.'s raw accuracy),
  :func:`colorfulness` (Hasler & Süsstrunk) - one value per image;
* :func:`delta_colorfulness`, :func:`chroma_ratio`, :func:`semantic_agreement`
  - one value per *set* of photos;
* :func:`evaluate_pair` - every per-image metric of one (prediction, truth) pair.

Example:
    >>> import numpy as np
    >>> from kcolor import metrics
    >>> a = np.zeros((16, 16, 3), np.uint8)
    >>> b = a.copy(); b[0, 0, 0] = 255
    >>> round(metrics.psnr(b, a), 2)      # MSE = 255² / (16·16·3): 10 log10(768)
    28.85
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from kcolor import color
from kcolor.palette import MNIST_PALETTE_AB

#: Default tolerance of :func:`pixel_color_accuracy`, in Lab ab units.
PIXEL_THRESHOLD = 8.0
#: Chroma below this (Lab ab units) is float noise, not colour.
_AB_NOISE = 0.01
#: Thresholds of :func:`auc`: 0, 1, ..., 150 ab units (Zhang et al. 2016).
AUC_MAX_THRESHOLD = 150


# ====================================================================== colour MNIST
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


# ====================================================================== photos
def _as_255(img, name="image") -> np.ndarray:
    """uint8 RGB, or float RGB in [0, 1], to float64 in [0, 255]."""
    a = np.asarray(img)
    if a.ndim not in (3, 4) or a.shape[-1] != 3:
        raise ValueError(f"{name} must be RGB (H, W, 3) or (N, H, W, 3), got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float64)
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name} must be uint8 or float in [0, 1], got {a.dtype}")
    if a.size and (a.min() < -1e-6 or a.max() > 1 + 1e-6):
        raise ValueError(
            f"{name} is float with values in [{a.min():.3g}, {a.max():.3g}]; float RGB must be in "
            "[0, 1] (pass uint8 for 0-255)"
        )
    return np.clip(a.astype(np.float64), 0.0, 1.0) * 255.0


def _pair(pred, truth):
    p, t = _as_255(pred, "pred"), _as_255(truth, "truth")
    if p.shape != t.shape:
        raise ValueError(f"pred and truth differ in shape: {p.shape} vs {t.shape}")
    return p, t


def _per_image(values: np.ndarray, single: bool):
    return float(values[0]) if single else values


def _batched(a):
    return (a[None], True) if a.ndim == 3 else (a, False)


def psnr(pred, truth):
    """Peak signal-to-noise ratio in dB, on RGB with data range 255.

    Convention: ``10 log10(255² / MSE)`` with the MSE over all pixels and all
    three RGB channels of one image (not on the Y channel, not over a whole
    set); ``inf`` for identical images. Average the per-image values over a set
    of photos, as most colourisation papers do.

    Args:
        pred, truth: uint8 RGB ``(H, W, 3)`` or ``(N, H, W, 3)``.

    Returns:
        A float for one image, a ``(N,)`` array for a batch.
    """
    p, t = _pair(pred, truth)
    (p, single), (t, _) = _batched(p), _batched(t)
    mse = np.mean((p - t) ** 2, axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(255.0**2 / mse)
    return _per_image(values, single)


def ssim(pred, truth):
    """Structural similarity on RGB, the literature's convention.

    ``skimage.metrics.structural_similarity`` with a Gaussian window
    (``sigma = 1.5``, 11 taps), ``use_sample_covariance=False``,
    ``data_range=255``, averaged over the three channels (Wang et al. 2004).
    Images must be at least 11 x 11.

    Returns:
        A float for one image, a ``(N,)`` array for a batch.
    """
    from skimage.metrics import structural_similarity

    p, t = _pair(pred, truth)
    if min(p.shape[-3:-1]) < 11:
        raise ValueError(f"ssim needs images of at least 11 x 11 pixels, got {p.shape[-3:-1]}")
    (p, single), (t, _) = _batched(p), _batched(t)
    values = np.array(
        [
            structural_similarity(
                a,
                b,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                channel_axis=-1,
                data_range=255,
            )
            for a, b in zip(p, t, strict=True)
        ]
    )
    return _per_image(values, single)


def _lab(img255: np.ndarray) -> np.ndarray:
    return color.rgb_to_lab(img255 / 255.0)


def auc(pred, truth, max_threshold: int = AUC_MAX_THRESHOLD):
    """Zhang et al.'s raw accuracy (AuC): area under the cumulative ab-error curve.

    The share of pixels whose ab error (Euclidean, in Lab ab units) is at most
    ``t``, averaged over the integer thresholds ``t = 0, 1, ..., 150``. 1 for
    a perfect colourisation; in ``[0, 1]``. Errors are compared with a
    tolerance of 0.01 ab units, so that round-off (grey RGB converts to ab up
    to 0.005 away from 0, in skimage too) does not fail the ``t = 0`` threshold.

    Returns:
        A float for one image, a ``(N,)`` array for a batch.
    """
    p, t = _pair(pred, truth)
    (p, single), (t, _) = _batched(p), _batched(t)
    err = np.linalg.norm(_lab(p)[..., 1:] - _lab(t)[..., 1:], axis=-1)
    # A pixel of error e lies within t for the thresholds ceil(e) .. max: count them.
    # Errors below 0.01 ab units are round-off (grey RGB is up to 0.005 off ab = 0): count them as 0.
    n_thresholds = max_threshold + 1
    within = np.clip(n_thresholds - np.ceil(err - _AB_NOISE), 0, n_thresholds)
    values = within.mean(axis=(1, 2)) / n_thresholds
    return _per_image(values, single)


def colorfulness(image):
    """Hasler & Süsstrunk's (2003) colourfulness of sRGB on a 0-255 scale.

    ``rg = R - G``, ``yb = (R + G) / 2 - B``;
    ``CF = sqrt(std(rg)² + std(yb)²) + 0.3 sqrt(mean(rg)² + mean(yb)²)``
    (population standard deviations over the image's pixels). 0 for grey.

    Returns:
        A float for one image, a ``(N,)`` array for a batch.
    """
    a, single = _batched(_as_255(image))
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    std = np.sqrt(rg.var(axis=(1, 2)) + yb.var(axis=(1, 2)))
    mean = np.sqrt(rg.mean(axis=(1, 2)) ** 2 + yb.mean(axis=(1, 2)) ** 2)
    return _per_image(std + 0.3 * mean, single)


def _images(images, name) -> list[np.ndarray]:
    """A batch array or a sequence of (possibly differently sized) images -> list of (H, W, 3)."""
    if isinstance(images, np.ndarray) or not isinstance(images, Sequence):
        a = np.asarray(images)
        if a.ndim == 3:
            return [a]
        if a.ndim == 4:
            return list(a)
        raise ValueError(f"{name} must be images (H, W, 3), (N, H, W, 3) or a list of them")
    out = []
    for im in images:
        out.extend(_images(im, name))
    if not out:
        raise ValueError(f"{name} holds no images")
    return out


def delta_colorfulness(preds, truths) -> float:
    """``|mean CF(preds) - mean CF(truths)|`` over a set of photos (:func:`colorfulness`).

    Args:
        preds, truths: batches or lists of RGB images (sizes may differ).
    """
    cp = np.mean([colorfulness(im) for im in _images(preds, "preds")])
    ct = np.mean([colorfulness(im) for im in _images(truths, "truths")])
    return float(abs(cp - ct))


def mean_chroma(images) -> float:
    """Mean Lab chroma ``sqrt(a² + b²)`` over all pixels of all ``images``."""
    total, count = 0.0, 0
    for im in _images(images, "images"):
        ab = _lab(_as_255(im))[..., 1:]
        total += float(np.linalg.norm(ab, axis=-1).sum())
        count += ab.shape[0] * ab.shape[1]
    return total / count


def chroma_ratio(preds, truths) -> float:
    """Mean Lab chroma of ``preds`` over mean Lab chroma of ``truths``.

    1 means as saturated as the originals; MSE-trained colourisers tend to
    give well below 1 (desaturated, "mostly brown"). Pooled over all pixels of
    each set. ``nan`` when the truths are all grey (mean chroma under 0.01).
    """
    den = mean_chroma(truths)
    return mean_chroma(preds) / den if den > _AB_NOISE else float("nan")


def semantic_agreement(preds, truths, embedder) -> float:
    """Share of photos on which a frozen classifier sees the same thing in colour as in truth.

    The classifier's top-1 class on each colourised photo is compared with its top-1 class
    on the true photo. :func:`kcolor.judges.get_judge` builds the ImageNet classifiers
    ``kcolor evaluate --semantic`` uses.

    Args:
        preds, truths: batches or lists of RGB images (paired, sizes may differ).
        embedder: the classifier: a callable taking float RGB ``(N, H, W, 3)`` in
            ``[0, 1]`` and returning class scores ``(N, C)``.

    Example:
        >>> from kcolor.judges import get_judge                                # doctest: +SKIP
        >>> semantic_agreement(colourised, originals, get_judge("efficientnet_lite1"))  # doctest: +SKIP
    """
    if not callable(embedder):
        raise TypeError(f"embedder must be a callable classifier, got {embedder!r}")
    p, t = _images(preds, "preds"), _images(truths, "truths")
    if len(p) != len(t):
        raise ValueError(f"{len(p)} predictions but {len(t)} truths")
    agree = 0
    for a, b in zip(p, t, strict=True):
        if a.shape != b.shape:
            raise ValueError(f"pred and truth differ in shape: {a.shape} vs {b.shape}")
        batch = np.stack([_as_255(a), _as_255(b)]).astype(np.float32) / 255.0
        probs = np.asarray(embedder(batch))
        agree += int(np.argmax(probs[0]) == np.argmax(probs[1]))
    return agree / len(p)


#: Vivid recall: a true pixel is strongly coloured at this Lab chroma or more ...
VIVID_TRUTH_CHROMA = 30.0
#: ... and recalled when the output there has at least this chroma ...
VIVID_PRED_CHROMA = 15.0
#: ... and a hue within this many degrees of the truth's.
VIVID_HUE_DEGREES = 45.0


def vivid_counts(pred, truth):
    """``(hits, strong)`` per image: the vivid-recall counts of :func:`vivid_recall`.

    Returns:
        Two ``(N,)`` int arrays (or two ints for one image): the strongly coloured true
        pixels, and those of them the output colours vividly with the right hue.
    """
    p, t = _pair(pred, truth)
    (p, single), (t, _) = _batched(p), _batched(t)
    ab_p, ab_t = _lab(p)[..., 1:], _lab(t)[..., 1:]
    chroma_p = np.hypot(ab_p[..., 0], ab_p[..., 1])
    chroma_t = np.hypot(ab_t[..., 0], ab_t[..., 1])
    strong = chroma_t >= VIVID_TRUTH_CHROMA
    hue_p = np.arctan2(ab_p[..., 1], ab_p[..., 0])
    hue_t = np.arctan2(ab_t[..., 1], ab_t[..., 0])
    gap = np.abs(np.angle(np.exp(1j * (hue_p - hue_t))))  # wrapped to [0, pi]
    hit = strong & (chroma_p >= VIVID_PRED_CHROMA) & (gap <= np.deg2rad(VIVID_HUE_DEGREES))
    hits, strong_n = hit.sum(axis=(1, 2)), strong.sum(axis=(1, 2))
    if single:
        return int(hits[0]), int(strong_n[0])
    return hits.astype(np.int64), strong_n.astype(np.int64)


def vivid_recall(preds, truths) -> float:
    """The share of strongly coloured true pixels that the output colours vividly and right.

    A true pixel is *strongly coloured* when its Lab chroma is at least 30; it is
    *recalled* when the colourised pixel has chroma at least 15 and a hue within 45
    degrees of the truth's. Pooled over all pixels of all photos; a grey output scores 0,
    a perfect one 1; ``nan`` when no true pixel is strongly coloured. It says what PSNR
    hides: whether red caps, yellow rafts and blue birds come out red, yellow and blue.

    Example:
        >>> import numpy as np
        >>> red = np.zeros((1, 4, 4, 3), np.uint8); red[..., 0] = 200
        >>> vivid_recall(red, red), vivid_recall(np.full_like(red, 90), red)
        (1.0, 0.0)
    """
    hits, strong = vivid_counts(preds, truths)
    total = int(np.sum(strong))
    return float(np.sum(hits)) / total if total else float("nan")


def frechet_distance(features_a, features_b) -> float:
    """The Fréchet distance between two sets of feature vectors, as FID computes it.

    ``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` of the Gaussians fitted to each
    set (``(n, d)`` arrays). kcolor feeds it EfficientNet-Lite1's pooled features (not
    Inception-v3's, so the value is not comparable with published FIDs); with fewer
    photos than dimensions it is biased upwards: compare values at the same ``n`` only.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(200, 4))
        >>> round(frechet_distance(x, x), 6), round(frechet_distance(x, x + 1.0), 3)
        (0.0, 4.0)
    """
    from scipy import linalg

    a = np.asarray(features_a, np.float64)
    b = np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two (n >= 2, d) feature arrays of one d, got {a.shape}, {b.shape}")
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root, _ = linalg.sqrtm(sa @ sb, disp=False)
    if not np.isfinite(root).all():  # nearly singular: a small ridge, as pytorch-fid does
        eps = np.eye(len(sa)) * 1e-6
        root = linalg.sqrtm((sa + eps) @ (sb + eps))
    value = mu @ mu + np.trace(sa) + np.trace(sb) - 2.0 * np.trace(np.real(root))
    return float(max(value, 0.0))


def evaluate_pair(pred, truth) -> dict[str, float]:
    """Every per-image metric of one colourised photo against its original.

    Args:
        pred, truth: uint8 RGB ``(H, W, 3)`` of the same size.

    Returns:
        ``{"psnr", "ssim", "auc", "colorfulness", "colorfulness_truth",
        "delta_colorfulness", "chroma_ratio", "vivid_recall"}`` as floats (``ssim`` is ``nan``
        for images under 11 x 11).
    """
    p, t = _pair(pred, truth)
    if p.ndim != 3:
        raise ValueError(f"evaluate_pair takes one image (H, W, 3), got {p.shape}")
    cf_p, cf_t = colorfulness(pred), colorfulness(truth)
    return {
        "psnr": psnr(pred, truth),
        "ssim": ssim(pred, truth) if min(p.shape[:2]) >= 11 else math.nan,
        "auc": auc(pred, truth),
        "colorfulness": cf_p,
        "colorfulness_truth": cf_t,
        "delta_colorfulness": abs(cf_p - cf_t),
        "chroma_ratio": chroma_ratio(pred, truth),
        "vivid_recall": vivid_recall(pred, truth),
    }


__all__ = [
    "DigitColorAccuracy",
    "PixelColorAccuracy",
    "auc",
    "chroma_ratio",
    "colorfulness",
    "delta_colorfulness",
    "digit_color_accuracy",
    "evaluate_pair",
    "frechet_distance",
    "mean_chroma",
    "pixel_color_accuracy",
    "psnr",
    "semantic_agreement",
    "ssim",
    "vivid_counts",
    "vivid_recall",
]
