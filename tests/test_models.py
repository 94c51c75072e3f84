"""kcolor.models: the article's layer stacks, parameter counts, training, saving and weights=."""

import keras
import numpy as np
import pytest
from harness import run_model_test

import kcolor  # noqa: F401  (torch backend first)
from kcolor import WeightsError
from kcolor.models import (
    KNOWN_PARAM_COUNTS,
    BroadcastEmbedding,
    alpha,
    beta,
    cnn,
    fusion,
    linear,
    load_weights,
)


def conv_params(cin, cout, k=3):
    return k * k * cin * cout + cout


def dense_params(nin, nout):
    return nin * nout + nout


def chain(channels):
    """Parameters of a column of 3x3 convs with the given channel sequence."""
    return sum(conv_params(a, b) for a, b in zip(channels[:-1], channels[1:], strict=True))


# The article's stacks, counted by hand from the layer lists.
ALPHA = chain([1, 8, 8, 16, 16, 32, 32, 32, 16, 2])
BETA = chain([1, 64, 64, 128, 128, 256, 256, 512, 256, 128, 64, 32, 2])
FUSION = (
    chain([1, 64, 128, 128, 256, 256, 512, 512, 256])
    + conv_params(256 + 1000, 256, k=1)
    + chain([256, 128, 64, 32, 16, 2])
)
LINEAR = dense_params(784, 512) + dense_params(512, 512) + dense_params(512, 28 * 28 * 2)
CNN = (
    conv_params(1, 32)
    + conv_params(32, 64)
    + conv_params(64, 128)
    + conv_params(128, 128)  # context conv, 7 -> 4
    + dense_params(4 * 4 * 128, 128)
    + conv_params(128 + 128, 128, k=1)
    + conv_params(128, 64)
    + conv_params(64, 32)
    + conv_params(32 + 1, 32)
    + conv_params(32 + 32, 2)  # [x, x * (L + 1)]
)
CNN_BN = CNN + 4 * (32 + 64 + 128 + 128 + 128 + 64 + 32 + 32)


def test_parameter_counts_match_the_article():
    assert (ALPHA, BETA, FUSION, LINEAR) == (32_202, 3_892_194, 6_541_202, 1_468_960)
    assert (CNN, CNN_BN) == (638_370, 640_802)
    # Input size does not change the conv models' counts.
    assert alpha().count_params() == ALPHA
    assert beta((16, 24, 1)).count_params() == BETA
    assert fusion((16, 16, 1)).count_params() == FUSION
    assert linear().count_params() == LINEAR
    assert cnn().count_params() == CNN
    assert cnn(batch_norm=True).count_params() == CNN_BN
    assert KNOWN_PARAM_COUNTS == {
        "linear": LINEAR,
        "cnn": CNN,
        "cnn (batch_norm=True)": CNN_BN,
        "alpha": ALPHA,
        "beta": BETA,
        "fusion": FUSION,
    }


def test_alpha_is_the_article_stack():
    model = alpha()
    kinds = [
        (type(layer).__name__, getattr(layer, "filters", None), getattr(layer, "strides", None))
        for layer in model.layers[1:]
    ]
    up = ("UpSampling2D", None, None)
    assert kinds == [
        ("Conv2D", 8, (2, 2)),
        ("Conv2D", 8, (1, 1)),
        ("Conv2D", 16, (1, 1)),
        ("Conv2D", 16, (2, 2)),
        ("Conv2D", 32, (1, 1)),
        ("Conv2D", 32, (2, 2)),
        up,
        ("Conv2D", 32, (1, 1)),
        up,
        ("Conv2D", 16, (1, 1)),
        up,
        ("Conv2D", 2, (1, 1)),
    ]
    convs = [layer for layer in model.layers if hasattr(layer, "filters")]
    assert all(c.__class__.__module__ == "kcolor.layers" for c in convs)
    assert [c.activation.__name__ for c in convs] == ["relu"] * 8 + ["tanh"]
    assert {c.padding for c in convs} == {"same"}


def test_beta_and_fusion_end_and_upsample_as_in_the_article():
    kinds = [type(layer).__name__ for layer in beta((16, 16, 1)).layers]
    assert kinds[-3:] == ["Conv2D", "Conv2D", "UpSampling2D"]
    f = fusion((16, 16, 1))
    assert [tuple(i.shape) for i in f.inputs] == [(None, 16, 16, 1), (None, 1000)]
    assert type(f.layers[-1]).__name__ == "UpSampling2D"
    assert not any(type(layer).__name__ == "Lambda" for layer in f.layers)


def _inputs(name, size, n=2):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (n, size, size, 1)).astype("float32")
    if name == "fusion":
        e = rng.random((n, 1000)).astype("float32")
        return [x, e / e.sum(1, keepdims=True)]
    return x


# name -> (builder, init_kwargs); all run at 16 x 16, the fully-convolutional ones at 32 too.
CASES = {
    "linear": (linear, {"input_shape": (16, 16, 1)}),
    "cnn": (cnn, {"input_shape": (16, 16, 1)}),
    "cnn_bn": (cnn, {"input_shape": (16, 16, 1), "batch_norm": True}),
    "alpha": (alpha, {}),
    "beta": (beta, {"input_shape": (None, None, 1)}),
    "fusion": (fusion, {"input_shape": (None, None, 1)}),
}
ANY_SIZE = {"alpha", "beta", "fusion"}


def run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.mark.parametrize("name", list(CASES))
def test_builder(name, tmp_path):
    """Shape, config, one fit step, .keras and .weights.h5 round trips (tests/harness.py)."""
    builder, kwargs = CASES[name]
    run_model_test(
        builder,
        kwargs,
        _inputs(name, 16),
        expected_output_shape=(2, 16, 16, 2),
        variable_size_data=[(_inputs(name, 32), (2, 32, 32, 2))] if name in ANY_SIZE else [],
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("name", ["alpha", "cnn_bn"])
def test_keras_archives_load_through_load_weights(name, tmp_path):
    builder, kwargs = CASES[name]
    model = builder(**kwargs)
    x = _inputs(name, 16)
    model.compile(optimizer="adam", loss="mse")
    # A non-zero target: cnn's output layer starts at zero, so a zero target would leave it there.
    model.fit(x, np.full((2, 16, 16, 2), 0.1, "float32"), verbose=0)  # moves BN statistics too
    model.save(tmp_path / "m.keras")
    fresh = builder(**kwargs)
    assert not np.array_equal(run(fresh, x), run(model, x))
    load_weights(fresh, tmp_path / "m.keras")
    np.testing.assert_array_equal(run(fresh, x), run(model, x))
    again = builder(**kwargs, weights=str(tmp_path / "m.keras"))
    np.testing.assert_array_equal(run(again, x), run(model, x))


def test_the_harness_catches_a_broken_round_trip(tmp_path):
    def forgetful(input_shape=(16, 16, 1), weights=None):  # ignores weights=
        return alpha(input_shape)

    with pytest.raises(AssertionError, match=r"builder\(weights=\.\.\.\)"):
        run_model_test(forgetful, {}, _inputs("alpha", 16), (2, 16, 16, 2), tmp_path=tmp_path)
    with pytest.raises(AssertionError, match="output shape"):
        run_model_test(alpha, {}, _inputs("alpha", 16), (2, 8, 8, 2), tmp_path=tmp_path)


def test_alpha_and_fusion_take_any_multiple_of_8():
    assert run(alpha(), np.zeros((1, 24, 40, 1), "float32")).shape == (1, 24, 40, 2)
    x = [np.zeros((1, 24, 16, 1), "float32"), np.zeros((1, 1000), "float32")]
    assert run(fusion((None, None, 1)), x).shape == (1, 24, 16, 2)


@pytest.mark.parametrize("shape", [(250, 256, 1), (64, 60), 100])
def test_beta_rejects_sides_not_multiple_of_8(shape):
    with pytest.raises(ValueError, match="multiples of 8"):
        beta(shape)


def test_fusion_rejects_bad_shapes():
    with pytest.raises(ValueError, match="multiples of 8"):
        fusion((30, 32, 1))
    with pytest.raises(ValueError, match=r"\(H, W, 1\)"):
        fusion((32, 32, 3))


def test_broadcast_embedding_repeats_the_vector():
    grid = np.zeros((2, 3, 5, 7), "float32")
    vector = np.arange(8, dtype="float32").reshape(2, 4)
    out = keras.ops.convert_to_numpy(BroadcastEmbedding()([grid, vector]))
    assert out.shape == (2, 3, 5, 4)
    np.testing.assert_array_equal(out[1, 2, 4], vector[1])
    np.testing.assert_array_equal(out[0], np.broadcast_to(vector[0], (3, 5, 4)))


def test_missing_weights_file(tmp_path):
    path = tmp_path / "nowhere" / "beta.weights.h5"
    with pytest.raises(WeightsError, match="no such weights file") as info:
        alpha(weights=path)
    assert "beta.weights.h5" in str(info.value)
    assert info.value.path == str(path)


def test_corrupt_and_truncated_weights_files(tmp_path):
    alpha().save_weights(tmp_path / "good.weights.h5")
    data = (tmp_path / "good.weights.h5").read_bytes()
    truncated = tmp_path / "truncated.weights.h5"
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.weights.h5"
    garbage.write_bytes(b"not an hdf5 file at all" * 10)
    bad_zip = tmp_path / "broken.keras"
    bad_zip.write_bytes(b"PK\x03\x04 truncated")
    for path in (truncated, garbage, bad_zip):
        with pytest.raises(WeightsError, match="corrupt") as info:
            alpha(weights=path)
        assert path.name in str(info.value)


def test_wrong_format(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(WeightsError, match="unknown weights format") as info:
        alpha(weights=path)
    assert "weights.npz" in str(info.value)


def test_wrong_architecture_names_the_file_and_the_likely_model(tmp_path):
    path = tmp_path / "alpha.weights.h5"
    alpha().save_weights(path)
    # Keras alone would load these into a smaller model without a word.
    with pytest.raises(WeightsError, match="another architecture") as info:
        beta((16, 16, 1), weights=path)
    message = str(info.value)
    assert "alpha.weights.h5" in message
    assert "kcolor.models.alpha" in message
    assert "32,202 parameters" in message
    with pytest.raises(WeightsError, match="another architecture"):
        cnn(weights=path)

    # Same count of arrays, different shapes: a cnn without vs with batch norm.
    keras_path = tmp_path / "cnn.keras"
    cnn().save(keras_path)
    with pytest.raises(WeightsError, match="cnn") as info:
        cnn(batch_norm=True, weights=keras_path)
    assert "cnn.keras" in str(info.value)


def test_unknown_preset_name():
    with pytest.raises(WeightsError, match="no-such-preset"):
        alpha(weights="no-such-preset")


def test_weights_argument_type():
    with pytest.raises(WeightsError, match="weights must be"):
        alpha(weights=42)
