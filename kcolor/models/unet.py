"""A U-Net colouriser on a pretrained EfficientNet-Lite encoder, with a class or regression head."""

from __future__ import annotations

import keras
from keras import ops

from kcolor import color
from kcolor import layers as klayers
from kcolor.models._blocks import image_shape
from kcolor.models.backbones import _fast
from kcolor.models.backbones.efficientnet_lite import (
    RGB_MEAN,
    RGB_STD,
    VARIANTS,
    EfficientNetLiteBackbone,
    backbone_features,
)
from kcolor.models.color_classes import ColorClassLogits, set_class_weights
from kcolor.models.model import ColorModel
from kcolor.presets.weights import load_weights

#: Input height and width must be multiples of this (the encoder's stride).
UNET_STRIDE = 32
HEADS = ("classes", "regression")
_LEVELS = ("P4", "P3", "P2", "P1")
#: The decoder's batch norms follow the batch statistics quickly (Keras' default 0.99 needs
#: hundreds of steps before its moving statistics fit inference; short runs are common).
DECODER_BN_MOMENTUM = 0.9


@keras.saving.register_keras_serializable(package="kcolor")
class LightnessToRGB(keras.layers.Layer):
    """Encoded L ``(N, H, W, 1)`` -> the grey sRGB photo ``(N, H, W, 3)``, normalised.

    Decodes ``L = 50 (x + 1)``, converts it exactly to the sRGB value of the grey of
    that lightness (``R = G = B``, D65), scales it to ``[0, 255]`` and returns
    ``(value - mean) / std``: what an ImageNet network sees for a grey photo.

    Args:
        mean: subtracted on the 0-255 scale (EfficientNet-Lite: 127).
        std: divisor on the 0-255 scale (EfficientNet-Lite: 128).

    Example:
        >>> LightnessToRGB()(keras.ops.ones((1, 2, 2, 1))).shape   # white
        torch.Size([1, 2, 2, 3])
    """

    def __init__(self, mean: float = RGB_MEAN, std: float = RGB_STD, **kwargs):
        super().__init__(**kwargs)
        self.mean = float(mean)
        self.std = float(std)

    def call(self, x):
        x = ops.cast(x, self.compute_dtype)
        lightness = ops.clip((x + 1.0) * color.L_CENTER, 0.0, color.L_MAX)
        fy = (lightness + 16.0) / 116.0
        # CIE: Y = fy**3 above (6/29)**3, linear below; then the sRGB transfer curve.
        y = ops.where(fy > 6.0 / 29.0, fy**3, (fy - 16.0 / 116.0) * (3.0 * (6.0 / 29.0) ** 2))
        y = ops.clip(y, 0.0, 1.0)
        srgb = ops.where(
            y > 0.0031308,
            1.055 * ops.power(ops.maximum(y, 0.0031308), 1.0 / 2.4) - 0.055,
            12.92 * y,
        )
        grey = (ops.clip(srgb, 0.0, 1.0) * 255.0 - self.mean) / self.std
        return ops.concatenate([grey, grey, grey], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (3,)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std}


def _conv_bn_relu(x, filters, kernel, name):
    x = klayers.Conv2D(filters, kernel, padding="same", use_bias=False, name=name + "_conv")(x)
    x = _fast.BatchNormalization(momentum=DECODER_BN_MOMENTUM, name=name + "_bn")(x)
    return _fast.ReLU(name=name + "_relu")(x)


def unet(
    input_shape=(None, None, 1),
    backbone: str = "efficientnet_lite0",
    backbone_weights="imagenet",
    head: str = "classes",
    decoder_filters=(128, 64, 48, 32),
    freeze_backbone: bool = False,
    bins=None,
    class_weights=None,
    drop_connect_rate: float = 0.0,
    weights=None,
    name: str | None = None,
):
    """A U-Net: a pretrained EfficientNet-Lite encoder and a decoder with skip connections.

    The encoded L is turned into the grey RGB photo the backbone expects
    (:class:`LightnessToRGB`); the backbone (a nested model named ``"backbone"``)
    returns features at strides 2, 4, 8, 16 and 32. The decoder reduces the
    stride-32 features with a 1x1 convolution to ``decoder_filters[0]`` channels,
    then four times: bilinear upsampling x2, concatenation with the backbone's
    features at that stride, two 3x3 conv + batch norm + ReLU with
    ``decoder_filters[i]`` channels; it ends at stride 2.

    Heads:

    ``"classes"``
        :class:`~kcolor.models.color_classes.ColorClassLogits`: logits over the Q
        in-gamut ab bins at **half resolution**, ``(N, H/2, W/2, Q)``; train with
        :class:`~kcolor.models.color_classes.ColorClassLoss` (which pools the
        full-size encoded ab targets to match), decode with
        :func:`~kcolor.models.color_classes.to_ab_model` (annealed mean, upsampled to
        ``(N, H, W, 2)``).
    ``"regression"``
        encoded ab through a ``tanh`` at half resolution, bilinearly upsampled:
        ``(N, H, W, 2)`` like every kcolor model; train with
        :class:`~kcolor.models.color_classes.AbHuber` or MSE.

    Args:
        input_shape: ``(H, W, 1)``, ``(H, W)`` or one side; H, W multiples of 32 or ``None``.
        backbone: ``"efficientnet_lite0"``, ``"efficientnet_lite1"`` or ``"efficientnet_lite2"``.
        backbone_weights: ``"imagenet"``, ``None`` or a file
            (see :class:`~kcolor.models.backbones.EfficientNetLiteBackbone`).
        head: ``"classes"`` or ``"regression"``.
        decoder_filters: channels of the four decoder stages (strides 16, 8, 4, 2).
        freeze_backbone: build with the backbone non-trainable (its batch norms then
            run in inference mode); see :func:`set_backbone_trainable`.
        bins: ab bin centres of the class head (default
            :func:`~kcolor.models.color_classes.gamut_bins`).
        class_weights: rebalancing weights ``(Q,)`` stored in the class head.
        drop_connect_rate: stochastic depth inside the backbone while training.
        weights: ``None`` or a ``.weights.h5``/``.keras`` file of this model.
        name: model name (default ``"unet_<backbone>_<head>"``).

    Returns:
        A functional ``keras.Model``: encoded L ``(N, H, W, 1)`` in.

    Raises:
        ValueError: a side not a multiple of 32, an unknown backbone or head.

    Example:
        >>> import kcolor
        >>> from kcolor.models import unet
        >>> unet((64, 96, 1), backbone_weights=None, head="regression").output_shape
        (None, 64, 96, 2)
        >>> unet((64, 64, 1), backbone_weights=None).output_shape
        (None, 32, 32, 229)
    """
    if head not in HEADS:
        raise ValueError(f"unet: head must be one of {HEADS}, got {head!r}")
    variant = str(backbone).lower().replace("-", "_")
    if variant not in VARIANTS:
        raise ValueError(f"unet: unknown backbone {backbone!r}. Available: {', '.join(VARIANTS)}")
    decoder_filters = tuple(int(f) for f in decoder_filters)
    if len(decoder_filters) != len(_LEVELS):
        raise ValueError(f"unet: decoder_filters needs 4 entries, got {decoder_filters}")
    shape = image_shape(input_shape, "unet", multiple=UNET_STRIDE)

    encoder = EfficientNetLiteBackbone(
        variant,
        include_top=False,
        weights=backbone_weights,
        input_shape=(None, None, 3),
        drop_connect_rate=drop_connect_rate,
    )
    features = backbone_features(encoder, levels=("P1", "P2", "P3", "P4", "P5"), name="backbone")
    features.trainable = not freeze_backbone

    inputs = keras.Input(shape, name="L")
    rgb = LightnessToRGB(name="to_backbone_rgb")(inputs)
    pyramid = features(rgb)
    x = _conv_bn_relu(pyramid["P5"], decoder_filters[0], 1, "decoder0")
    for stage, (level, filters) in enumerate(zip(_LEVELS, decoder_filters, strict=True), start=1):
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"decoder{stage}_up")(x)
        x = keras.layers.Concatenate(name=f"decoder{stage}_concat")([x, pyramid[level]])
        x = _conv_bn_relu(x, filters, 3, f"decoder{stage}a")
        x = _conv_bn_relu(x, filters, 3, f"decoder{stage}b")

    if head == "classes":
        outputs = ColorClassLogits(bins, output_stride=2, name="color_classes")(x)
    else:
        x = klayers.Conv2D(2, 3, padding="same", activation="tanh", name="ab_half")(x)
        outputs = keras.layers.UpSampling2D(2, interpolation="bilinear", name="ab")(x)
    model = ColorModel(inputs, outputs, name=name or f"unet_{variant}_{head}")
    if class_weights is not None:
        if head != "classes":
            raise ValueError("unet: class_weights are for head='classes'")
        set_class_weights(model, class_weights)
    return load_weights(model, weights, architecture="unet")


def set_backbone_trainable(model, trainable: bool = True, batch_norm: bool = False) -> None:
    """Freeze or unfreeze the ``"backbone"`` of a :func:`unet` (recompile afterwards).

    Args:
        model: a :func:`unet` model.
        trainable: let the backbone's weights train.
        batch_norm: let the backbone's batch norms train too (and use batch
            statistics); by default they stay frozen in inference mode, which keeps
            small-batch fine-tuning stable.
    """
    features = model.get_layer("backbone")
    features.trainable = bool(trainable)
    if trainable and not batch_norm:
        for layer in features.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False


__all__ = ["HEADS", "UNET_STRIDE", "LightnessToRGB", "set_backbone_trainable", "unet"]
