"""kcolor.models.embedders: frozen ImageNet classifiers for the fusion model."""

import hashlib
import time

import keras
import numpy as np
import pytest
import skimage.color
import skimage.data

import kcolor  # noqa: F401
from kcolor import WeightsError, color
from kcolor.models import embedders
from kcolor.models.embedders import (
    EfficientNetLite0Embedder,
    InceptionResNetV2Embedder,
    get_embedder,
)

CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = range(967, 969)  # espresso, cup


@pytest.fixture(scope="module")
def lite0():
    return EfficientNetLite0Embedder()


def _grey_rgb(rgb):
    grey = skimage.color.rgb2gray(rgb)
    return np.repeat(grey[..., None], 3, -1).astype("float32")


def test_lite0_classifies_real_photos_in_colour_and_grey(lite0):
    photos = [skimage.data.chelsea(), skimage.data.coffee()]
    classes = [CATS, COFFEE]
    for photo, wanted in zip(photos, classes, strict=True):
        colour = lite0(photo[None])  # uint8 RGB
        grey = lite0(_grey_rgb(photo)[None])  # grey RGB floats
        # encoded L, as the colourisers see it
        encoded = color.encode_l(color.rgb_to_lab(photo)[..., :1]).astype("float32")
        from_l = lite0(encoded[None])
        for probs in (colour, grey, from_l):
            assert probs.shape == (1, 1000) and probs.dtype == np.float32
            assert abs(float(probs.sum()) - 1.0) < 1e-4
            assert int(probs.argmax()) in wanted
        # L -> grey RGB is the same picture as skimage's grey, up to the grey formula.
        assert int(grey.argmax()) in wanted


def test_lite0_is_frozen_and_batches(lite0):
    layer = lite0.model.get_layer("efficientnet_lite0")
    assert not layer.trainable
    assert lite0.model.trainable_weights == []
    assert all(not p.requires_grad for p in layer.net.module.parameters())
    assert not layer.net.module.training
    assert lite0.embedding_dim == 1000 and lite0.input_size == 224
    assert lite0.name == "efficientnet_lite0"
    rng = np.random.default_rng(0)
    batch = rng.uniform(-1, 1, (5, 40, 48, 1)).astype("float32")
    whole = lite0(batch)
    chunked = lite0(batch, batch_size=2)
    np.testing.assert_allclose(whole, chunked, atol=1e-5)
    assert not layer.net.module.training


def test_lite0_rejects_bad_shapes(lite0):
    with pytest.raises(ValueError, match=r"\(N, H, W, 1\)"):
        lite0(np.zeros((2, 8, 8, 2), "float32"))


def test_lite0_missing_weights_file(tmp_path):
    with pytest.raises(WeightsError, match="no such weights file") as info:
        EfficientNetLite0Embedder(weights_path=tmp_path / "lite0.pth")
    assert "lite0.pth" in str(info.value)


def test_registry():
    assert set(embedders.EMBEDDERS) == {"efficientnet_lite0", "inception_resnet_v2"}
    assert isinstance(get_embedder("efficientnet-lite0"), EfficientNetLite0Embedder)
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        get_embedder("vgg16")


def test_inception_resnet_v2_offline_message(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(WeightsError) as info:
        InceptionResNetV2Embedder(weights="imagenet")
    message = str(info.value)
    assert "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert "weights=" in message and "~/.keras/models/" in message
    with pytest.raises(WeightsError, match="no such weights file"):
        InceptionResNetV2Embedder(weights=tmp_path / "irv2.h5")
    monkeypatch.undo()
    # keras.utils.get_file's hash check, through a file:// origin.
    small = tmp_path / "small.h5"
    small.write_bytes(b"x" * 100)
    with pytest.raises(WeightsError, match="could not fetch") as info:
        InceptionResNetV2Embedder(origin=small.as_uri(), file_hash="0" * 64, cache_dir=tmp_path)
    assert "small.h5" in str(info.value)


@pytest.mark.slow
def test_inception_resnet_v2_random_and_file_origin(tmp_path):
    """Builds the 55.9M-parameter network twice: a slow test (see timings in the report)."""
    start = time.perf_counter()
    first = InceptionResNetV2Embedder(weights=None)
    assert first.network.count_params() == 55_873_736
    assert first.input_size == 299 and first.embedding_dim == 1000
    probs = first(np.zeros((1, 32, 32, 1), "float32"))
    assert probs.shape == (1, 1000) and abs(float(probs.sum()) - 1) < 1e-4

    source = tmp_path / "irv2.weights.h5"
    first.network.save_weights(source)
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    second = InceptionResNetV2Embedder(
        origin=source.as_uri(), file_hash=sha256, cache_dir=tmp_path / "cache"
    )
    assert (tmp_path / "cache" / "models" / "irv2.weights.h5").exists()
    for a, b in zip(first.network.weights, second.network.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    print(f"InceptionResNetV2 test body: {time.perf_counter() - start:.1f} s")


def test_embedders_and_judges_are_frozen_classifiers_with_one_name_each():
    from kcolor.evaluation import judges
    from kcolor.models import classifiers

    # one base class for every frozen ImageNet classifier; "Embedder" only feeds fusion
    for cls in (*embedders.EMBEDDERS.values(), *judges.JUDGES.values()):
        assert issubclass(cls, classifiers.FrozenClassifier)
    assert set(embedders.EMBEDDERS.values()) <= {
        c
        for c in vars(embedders).values()
        if isinstance(c, type) and issubclass(c, embedders.Embedder)
    }
    assert not issubclass(judges.EfficientNetLite1Judge, embedders.Embedder)
    # the layers moved to kcolor.models.classifiers; the old import path still works
    assert embedders.ClassifierPreprocessing is classifiers.ClassifierPreprocessing
    assert judges.EfficientNetLiteClassifier is classifiers.EfficientNetLiteClassifier
