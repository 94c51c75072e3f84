"""kcolor.layers: the torch fast paths compute exactly what the plain Keras layers compute."""

import keras
import numpy as np
import pytest
import torch

import kcolor  # noqa: F401
from kcolor import layers as kl


def _pair(filters, kernel_size, strides, activation, use_bias, in_shape, padding="same"):
    kwargs = dict(strides=strides, activation=activation, use_bias=use_bias, padding=padding)
    fast = kl.Conv2D(filters, kernel_size, **kwargs)
    plain = keras.layers.Conv2D(filters, kernel_size, **kwargs)
    fast.build(in_shape)
    plain.build(in_shape)
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.3 for w in fast.get_weights()]
    fast.set_weights(weights)
    plain.set_weights(weights)
    return fast, plain


def _forward_backward(layer, x, upstream):
    xt = torch.tensor(x, requires_grad=True)
    y = layer(xt)
    (y * upstream).sum().backward()
    grads = [v.value.grad.detach().numpy().copy() for v in layer.trainable_weights]
    return y.detach().numpy(), xt.grad.numpy(), grads


@pytest.mark.parametrize("strides", [1, 2])
@pytest.mark.parametrize("hw", [(8, 8), (7, 9)])
def test_conv2d_matches_keras(strides, hw):
    # Even sizes exercise the asymmetric TF "same" padding of stride 2, odd ones the symmetric.
    for activation in ("relu", "tanh", None):
        for use_bias in (True, False):
            _check_conv(strides, hw, activation, use_bias)


def _check_conv(strides, hw, activation, use_bias):
    in_shape = (2, *hw, 3)
    fast, plain = _pair(5, 3, strides, activation, use_bias, in_shape)
    x = np.random.default_rng(0).normal(size=in_shape).astype("float32")
    out_shape = tuple(plain.compute_output_shape(in_shape))
    upstream = torch.tensor(np.random.default_rng(2).normal(size=out_shape).astype("float32"))

    kl.fast_path_calls(reset=True)
    y_fast, gx_fast, gw_fast = _forward_backward(fast, x, upstream)
    assert kl.fast_path_calls()["Conv2D"] == 1, (
        f"fast path not taken ({activation}, bias={use_bias})"
    )
    y_plain, gx_plain, gw_plain = _forward_backward(plain, x, upstream)

    assert y_fast.shape == y_plain.shape == out_shape
    np.testing.assert_allclose(y_fast, y_plain, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx_fast, gx_plain, rtol=1e-4, atol=1e-4)
    assert len(gw_fast) == len(gw_plain) == (2 if use_bias else 1)
    for a, b in zip(gw_fast, gw_plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_conv2d_other_shapes_match():
    # Even kernels and 'valid' padding, one input channel (as the models' first layer).
    in_shape = (1, 10, 11, 1)
    for kernel_size, strides, padding in [
        (1, 1, "same"),
        (5, 2, "same"),
        (3, 2, "valid"),
        (4, 1, "same"),
    ]:
        fast, plain = _pair(4, kernel_size, strides, "relu", True, in_shape, padding=padding)
        x = np.random.default_rng(3).normal(size=in_shape).astype("float32")
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(fast(x)),
            keras.ops.convert_to_numpy(plain(x)),
            rtol=1e-5,
            atol=1e-5,
        )


def test_conv2d_output_is_channels_last_view():
    layer = kl.Conv2D(6, 3, strides=2, padding="same", activation="relu")
    y = layer(torch.randn(2, 8, 8, 4))
    # NHWC-contiguous, so the next layer's permute is free.
    assert y.is_contiguous()


def test_fallback_for_unsupported_configs():
    # Dilation is not on the fast path: it must still be correct (the Keras layer runs).
    fast, plain = _pair(3, 3, 1, "relu", True, (1, 9, 9, 2))
    for layer in (fast, plain):
        layer.dilation_rate = (2, 2)
    x = np.random.default_rng(4).normal(size=(1, 9, 9, 2)).astype("float32")
    kl.fast_path_calls(reset=True)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(fast(x)),
        keras.ops.convert_to_numpy(plain(x)),
        rtol=1e-5,
        atol=1e-5,
    )
    assert kl.fast_path_calls()["Conv2D"] == 0


def test_set_fast_path_switches_off():
    layer = kl.Conv2D(2, 3, padding="same")
    x = np.ones((1, 4, 4, 1), "float32")
    previous = kl.set_fast_path(False)
    try:
        kl.fast_path_calls(reset=True)
        layer(x)
        assert kl.fast_path_calls()["Conv2D"] == 0
    finally:
        kl.set_fast_path(previous)
    layer(x)
    assert kl.fast_path_calls()["Conv2D"] == 1


def test_upsampling_matches_keras():
    for size in [(2, 2), (4, 2), (3, 2)]:
        _check_upsampling(size)


def _check_upsampling(size):
    x = np.random.default_rng(5).normal(size=(2, 3, 5, 4)).astype("float32")
    upstream = torch.tensor(
        np.random.default_rng(6).normal(size=(2, 3 * size[0], 5 * size[1], 4)).astype("float32")
    )
    outs = []
    kl.fast_path_calls(reset=True)
    for layer in (kl.UpSampling2D(size), keras.layers.UpSampling2D(size)):
        xt = torch.tensor(x, requires_grad=True)
        y = layer(xt)
        (y * upstream).sum().backward()
        outs.append((y.detach().numpy(), xt.grad.numpy()))
    assert kl.fast_path_calls()["UpSampling2D"] == 1, size
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-6, atol=1e-6)


def _tiny_model():
    inputs = keras.Input((16, 16, 1))
    x = kl.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = kl.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = kl.UpSampling2D((2, 2))(x)
    x = kl.Conv2D(2, 3, padding="same", activation="tanh")(x)
    return keras.Model(inputs, x)


def test_model_fit_trains_and_matches_plain_keras():
    x = np.random.default_rng(7).uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    y = np.random.default_rng(8).uniform(-0.5, 0.5, (4, 16, 16, 2)).astype("float32")
    model = _tiny_model()
    start = model.get_weights()
    losses = {}
    for fast in (True, False):
        previous = kl.set_fast_path(fast)
        try:
            model.set_weights(start)
            model.compile(optimizer=keras.optimizers.RMSprop(), loss="mse")
            history = model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0)
            losses[fast] = (history.history["loss"], [w.copy() for w in model.get_weights()])
        finally:
            kl.set_fast_path(previous)
    np.testing.assert_allclose(losses[True][0], losses[False][0], rtol=1e-4)
    for a, b in zip(losses[True][1], losses[False][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    assert not np.allclose(losses[True][1][0], start[0])  # it did train


def test_serialization_round_trip(tmp_path):
    model = _tiny_model()
    x = np.random.default_rng(9).uniform(-1, 1, (1, 16, 16, 1)).astype("float32")
    path = tmp_path / "tiny.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert isinstance(loaded.layers[1], kl.Conv2D)
    assert loaded.layers[2].get_config() == model.layers[2].get_config()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)),
        keras.ops.convert_to_numpy(model(x)),
        rtol=1e-6,
        atol=1e-6,
    )
    # The config is the plain Keras one: a plain Keras layer can be rebuilt from it.
    config = model.layers[2].get_config()
    assert keras.layers.Conv2D.from_config(config).strides == (2, 2)


def test_inference_mode_forward():
    model = _tiny_model()
    x = torch.rand(2, 16, 16, 1) * 2 - 1
    with torch.inference_mode():
        y = model(x, training=False)
    previous = kl.set_fast_path(False)
    try:
        with torch.no_grad():
            y_plain = model(x, training=False)
    finally:
        kl.set_fast_path(previous)
    np.testing.assert_allclose(y.numpy(), y_plain.numpy(), rtol=1e-5, atol=1e-5)


def test_beta_model_takes_fast_path_everywhere():
    models = pytest.importorskip("kcolor.models")
    model = models.beta((16, 16, 1))
    kl.fast_path_calls(reset=True)
    with torch.inference_mode():
        model(torch.zeros(1, 16, 16, 1), training=False)
    assert kl.fast_path_calls() == {"Conv2D": 12, "UpSampling2D": 3}
