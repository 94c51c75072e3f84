"""The article's networks, one step per module, and the frozen classifiers the full version needs.

Every builder returns a functional Keras model (a :class:`ColorModel`: a ``keras.Model``
whose ``compile(..., jit_compile=True)`` runs the network through ``torch.compile``) whose input is the
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
unet       U-Net on pretrained EfficientNet-Lite0,      4,231,306
           229 colour classes (``head="classes"``)
=========  ==========================================  ============

``unet`` (:mod:`kcolor.models.unet`) is kcolor's own colouriser, not the article's:
an ImageNet-pretrained encoder (:mod:`kcolor.models.backbones`), a decoder with skip
connections, and either a head of ab-colour classes (logits at half resolution,
decoded by :func:`kcolor.models.color_classes.to_ab_model`) or a ``tanh`` regression
head like the other models (4,224,098 parameters with Lite0).

Example:
    >>> import kcolor
    >>> from kcolor.models import beta
    >>> model = beta((64, 64, 1))
    >>> model.output_shape
    (None, 64, 64, 2)
"""

from kcolor._lazy import lazy_getattr
from kcolor.models import backbones, color_classes
from kcolor.models.alpha import alpha
from kcolor.models.beta import beta
from kcolor.models.cnn import cnn
from kcolor.models.color_classes import is_class_model, to_ab_model
from kcolor.models.fusion import BroadcastEmbedding, fusion
from kcolor.models.linear import linear
from kcolor.models.model import ColorModel
from kcolor.models.unet import set_backbone_trainable, unet
from kcolor.presets.weights import KNOWN_PARAM_COUNTS, load_weights

_EMBEDDERS = ("Embedder", "EfficientNetLite0Embedder", "InceptionResNetV2Embedder", "get_embedder")

# The embedders pull in keras.applications / the EfficientNet package: load on first use.
__getattr__ = lazy_getattr(
    __name__,
    {
        "embedders": ("kcolor.models.embedders", None),
        **{name: "kcolor.models.embedders" for name in _EMBEDDERS},
    },
)


__all__ = [
    "KNOWN_PARAM_COUNTS",
    "BroadcastEmbedding",
    "ColorModel",
    "alpha",
    "beta",
    "cnn",
    "fusion",
    "linear",
    "load_weights",
    *_EMBEDDERS,
    "embedders",
    "backbones",
    "color_classes",
    "is_class_model",
    "set_backbone_trainable",
    "to_ab_model",
    "unet",
]
