"""kcolor.models.backbones: EfficientNet-Lite in Keras, equal to the PyTorch reference."""

import keras
import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

import kcolor  # noqa: F401
from kcolor import WeightsError
from kcolor.models.backbones import (
    RGB_MEAN,
    RGB_STD,
    EfficientNetLiteBackbone,
    backbone_features,
    imagenet_checkpoint,
)
from kcolor.models.backbones.efficientnet_lite import stage_config

PHOTOS = ("chelsea", "coffee", "astronaut")


@pytest.fixture(scope="module")
def photos():
    images = []
    for name in PHOTOS:
        image = Image.fromarray(getattr(skimage.data, name)()).resize((224, 224), Image.BILINEAR)
        images.append((np.asarray(image, np.float32) - RGB_MEAN) / RGB_STD)
    return np.stack(images)


def _reference(variant, x):
    from efficientnet_lite_pytorch import EfficientNet

    # image_size=None: TF "SAME" padding computed for the actual input size.
    net = EfficientNet.from_name(variant.replace("_", "-"), image_size=None)
    net.load_state_dict(torch.load(imagenet_checkpoint(variant), weights_only=True))
    net.eval()
    with torch.no_grad():
        return net(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()


@pytest.mark.parametrize("variant", ["efficientnet_lite0", "efficientnet_lite2"])
def test_logits_match_torch_reference(photos, variant):
    model = EfficientNetLiteBackbone(variant, weights="imagenet")
    ours = keras.ops.convert_to_numpy(model(photos, training=False))
    ref = _reference(variant, photos)
    assert np.abs(ours - ref).max() <= 1e-4 * np.abs(ref).max()
    assert (ours.argmax(1) == ref.argmax(1)).all()
    assert ours.argmax(1)[0] in range(281, 286)  # a cat
    assert ours.argmax(1)[1] in (967, 968)  # espresso / cup


def test_stage_config_and_names():
    assert [s[0] for s in stage_config("efficientnet_lite0")] == [1, 2, 2, 3, 3, 4, 1]
    assert [s[0] for s in stage_config("efficientnet_lite2")] == [1, 3, 3, 4, 4, 5, 1]
    assert [s[5] for s in stage_config("efficientnet_lite2")] == [16, 24, 48, 88, 120, 208, 352]
    model = EfficientNetLiteBackbone("efficientnet_lite0", weights=None)
    names = {layer.name for layer in model.layers}
    for name in ("stem_conv", "block1a_dwconv", "block2a_expand_conv", "block2b_add", "top_conv"):
        assert name in names
    assert model.count_params() == 4_694_024
    with pytest.raises(ValueError, match="Available"):
        EfficientNetLiteBackbone("efficientnet_b0", weights=None)


def test_pyramid_strides():
    model = EfficientNetLiteBackbone("efficientnet_lite0", include_top=False, weights=None)
    features = backbone_features(model)
    out = features(np.zeros((1, 96, 64, 3), np.float32))
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "P1": (1, 48, 32, 16),
        "P2": (1, 24, 16, 24),
        "P3": (1, 12, 8, 40),
        "P4": (1, 6, 4, 112),
        "P5": (1, 3, 2, 1280),
    }


def test_keras_round_trip(tmp_path):
    model = EfficientNetLiteBackbone("efficientnet_lite0", weights=None, drop_connect_rate=0.2)
    x = np.random.default_rng(0).normal(size=(1, 64, 64, 3)).astype("float32")
    path = tmp_path / "lite0.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, EfficientNetLiteBackbone)
    assert loaded.get_config()["drop_connect_rate"] == 0.2
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-5
    )
    assert sorted(loaded.pyramid_outputs) == ["P1", "P2", "P3", "P4", "P5"]


def test_bad_weights_files(tmp_path):
    with pytest.raises(WeightsError, match="no such weights file"):
        EfficientNetLiteBackbone(weights=tmp_path / "missing.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="not a PyTorch checkpoint"):
        EfficientNetLiteBackbone(weights=bad)
    lite2 = tmp_path / "lite2.pth"
    lite2.write_bytes(open(imagenet_checkpoint("efficientnet_lite2"), "rb").read())
    with pytest.raises(WeightsError, match="not efficientnet_lite0 weights"):
        EfficientNetLiteBackbone("efficientnet_lite0", weights=lite2)
