"""The article's networks, one step per module, and the frozen classifiers the full version needs.

Every builder returns a plain functional ``keras.Model`` whose input is the
encoded L channel ``(N, H, W, 1)`` (``kcolor.color.encode_l``) and whose output
is the encoded ab channels ``(N, H, W, 2)`` through a ``tanh``
(``kcolor.color.decode_ab`` undoes it). ``weights=`` works as in
``keras.applications``: ``None``, a ``.weights.h5``/``.keras`` path, or a preset name.

=========  ==========================================  ============
builder    article step                                 parameters
=========  ==========================================  ============
linear     MNIST course: a 3-layer perceptron           1,468,960
cnn        MNIST course: conv net + global context      638,370
alpha      Alpha version (one photo)                    32,202
beta       Beta version (many photos)                   3,892,194
fusion     Full version (with ImageNet embedding)       6,541,202
=========  ==========================================  ============

Example:
    >>> import kcolor
    >>> from kcolor.models import beta
    >>> model = beta((64, 64, 1))
    >>> model.output_shape
    (None, 64, 64, 2)
"""

from kcolor.models._weights import KNOWN_PARAM_COUNTS, load_weights
from kcolor.models.alpha import alpha
from kcolor.models.beta import beta
from kcolor.models.cnn import cnn
from kcolor.models.fusion import BroadcastEmbedding, fusion
from kcolor.models.linear import linear

_EMBEDDERS = ("Embedder", "EfficientNetLite0Embedder", "InceptionResNetV2Embedder", "get_embedder")


def __getattr__(name):
    # The embedders pull in keras.applications / the EfficientNet package: load on first use.
    if name in _EMBEDDERS or name == "embedders":
        import importlib

        module = importlib.import_module("kcolor.models.embedders")
        return module if name == "embedders" else getattr(module, name)
    raise AttributeError(f"module 'kcolor.models' has no attribute {name!r}")


__all__ = [
    "KNOWN_PARAM_COUNTS",
    "BroadcastEmbedding",
    "alpha",
    "beta",
    "cnn",
    "fusion",
    "linear",
    "load_weights",
    *_EMBEDDERS,
    "embedders",
]
