"""torch.compile of kcolor's models: kcolor.backend.compile_model / CompiledForward,
Colorizer(compile=True) and ``kcolor train --compile``.

Each compiled model compiles its own graphs (seconds per model on the CPU, tiny shapes
here). The U-Net's graphs take minutes to compile on a CPU: its tests run only with
``KCOLOR_HEAVY_TESTS=1``.
"""

import os
import warnings

import keras
import numpy as np
import pytest
import torch

import kcolor  # noqa: F401  (torch backend before keras)
from kcolor.backend import CompiledForward, compile_model
from kcolor.inference.colorizer import Colorizer
from kcolor.models import beta, fusion

heavy = pytest.mark.skipif(
    os.environ.get("KCOLOR_HEAVY_TESTS") != "1",
    reason="compiling the U-Net takes minutes on a CPU; run with KCOLOR_HEAVY_TESTS=1",
)


def _data(shape, n=4, out=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, *shape, 1)).astype("float32")
    y = rng.uniform(-0.5, 0.5, (n, *shape, out)).astype("float32")
    return x, y


def _twins(model):
    """``(compiled, eager)``: ``model`` compiled in place and an eager clone with its weights."""
    eager = keras.models.clone_model(model)
    eager.set_weights(model.get_weights())
    return compile_model(model), eager


def _fit_both(compiled, eager, x, y, epochs=2, optimizer=keras.optimizers.RMSprop):
    histories = []
    for model in (compiled, eager):
        model.compile(optimizer(), "mse")
        h = model.fit(x, y, batch_size=len(y), epochs=epochs, shuffle=False, verbose=0)
        histories.append(h.history["loss"])
    return histories


def test_beta_compiled_equals_eager_in_inference_and_training():
    x, y = _data((16, 16))
    compiled, eager = _twins(beta((16, 16, 1)))
    want = keras.ops.convert_to_numpy(eager(x, training=False))
    got = keras.ops.convert_to_numpy(compiled(x, training=False))
    np.testing.assert_allclose(got, want, atol=1e-4)
    compiled(x, training=False)
    assert compiled.compile_stats.compiles == 1, compiled.compile_stats  # no recompile per call
    calls = compiled.compile_stats.calls
    (loss_c, loss_e) = _fit_both(compiled, eager, x, y)
    np.testing.assert_allclose(loss_c, loss_e, rtol=1e-5)
    assert loss_c[1] < loss_c[0]
    for a, b in zip(compiled.weights, eager.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5, err_msg=a.path)
    # each fit step ran the compiled forward (a graph is reused when nothing differs)
    assert compiled.compile_stats.calls >= calls + 2 and compiled.compile_stats.seconds > 0


def test_fusion_compiled_equals_eager_in_inference_and_training():
    x, y = _data((16, 16))
    emb = np.random.default_rng(1).uniform(0, 1, (len(x), 8)).astype("float32")
    compiled, eager = _twins(fusion((16, 16, 1), embedding_dim=8))
    want = keras.ops.convert_to_numpy(eager([x, emb], training=False))
    got = keras.ops.convert_to_numpy(compiled([x, emb], training=False))
    np.testing.assert_allclose(got, want, atol=1e-4)
    calls = compiled.compile_stats.calls
    (loss_c, loss_e) = _fit_both(compiled, eager, [x, emb], y)
    np.testing.assert_allclose(loss_c, loss_e, rtol=1e-5)
    assert loss_c[1] < loss_c[0]
    assert compiled.compile_stats.calls >= calls + 2


def test_colorizer_compile_equals_eager():
    model = beta((None, None, 1))
    photos = [
        np.random.default_rng(2).integers(0, 256, (20, 24), dtype=np.uint8),
        np.random.default_rng(3).integers(0, 256, (30, 22), dtype=np.uint8),
    ]
    eager = Colorizer(model, input_size=16, keep_aspect=False)
    compiled = Colorizer(model, input_size=16, keep_aspect=False, compile=True)
    assert eager.compile_stats is None
    for want, got in zip(eager.colorize(photos), compiled.colorize(photos), strict=True):
        assert got.shape == want.shape and got.dtype == np.uint8
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    with torch.inference_mode():  # an inference tensor, as colorize makes (same graph)
        x = torch.from_numpy(_data((16, 16), n=2)[0])
        np.testing.assert_allclose(
            compiled._predict(x).numpy(), eager._predict(x).numpy(), atol=1e-4
        )
    assert compiled.compile_stats.compiles == 1  # one model-side size, one graph
    assert not hasattr(model, "compile_stats")  # the Colorizer leaves the model alone


def test_compiled_model_saves_and_reloads_like_the_eager_one(tmp_path):
    x, _ = _data((8, 8), n=1)
    model = compile_model(beta((8, 8, 1)))
    assert compile_model(model) is model  # again: a no-op
    want = keras.ops.convert_to_numpy(model(x, training=False))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert not hasattr(loaded, "compile_stats")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), want, atol=1e-5)


def test_compile_refuses_what_it_cannot_walk():
    class Sub(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="not a functional Keras model"):
        CompiledForward(Sub())
    with pytest.raises(ValueError, match="not built"):
        compile_model(keras.Sequential([keras.layers.Dense(2)]))


def test_every_builder_is_a_color_model_and_round_trips_as_one(tmp_path):
    from kcolor.models import ColorModel, alpha, cnn, linear, unet

    built = [
        alpha((8, 8, 1)),
        beta((8, 8, 1)),
        fusion((8, 8, 1), embedding_dim=4),
        cnn(),
        linear(),
        unet((32, 32, 1), backbone_weights=None, head="regression"),
    ]
    for model in built:
        assert isinstance(model, ColorModel), model.name
    model = built[1]
    model.compile(keras.optimizers.RMSprop(2e-3), "mse")
    model.fit(np.zeros((2, 8, 8, 1), "float32"), np.zeros((2, 8, 8, 2), "float32"), verbose=0)
    model.save(tmp_path / "b.keras")
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error", UserWarning
        )  # Keras warns when it cannot re-compile a loaded model
        loaded = keras.models.load_model(tmp_path / "b.keras")
        cloned = keras.models.clone_model(model)
    assert type(loaded) is ColorModel and type(cloned) is ColorModel
    assert loaded.compiled and isinstance(loaded.optimizer, keras.optimizers.RMSprop)
    assert float(loaded.optimizer.learning_rate) == pytest.approx(2e-3)


@pytest.mark.parametrize("name", ["beta", "fusion"])
def test_jit_compile_true_compiles_the_network_and_equals_eager(name):
    """``model.compile(..., jit_compile=True)`` (Keras' own switch) runs the compiled network."""
    x, y = _data((16, 16))
    if name == "fusion":
        model = fusion((16, 16, 1), embedding_dim=8)
        x = [x, np.random.default_rng(1).uniform(0, 1, (len(y), 8)).astype("float32")]
    else:
        model = beta((16, 16, 1))
    eager = keras.models.clone_model(model)
    eager.set_weights(model.get_weights())
    model.compile(keras.optimizers.RMSprop(), "mse", jit_compile=True)
    eager.compile(keras.optimizers.RMSprop(), "mse")
    assert model.jit_compile is True and model.compile_stats is not None
    assert getattr(eager, "compile_stats", None) is None
    losses = [
        m.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
        for m in (model, eager)
    ]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
    stats = model.compile_stats
    assert stats.compiles >= 1 and stats.calls >= 2, stats  # fit ran the compiled forward
    for a, b in zip(model.weights, eager.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-4, err_msg=a.path)
    np.testing.assert_allclose(model.predict(x, verbose=0), eager.predict(x, verbose=0), atol=1e-4)
    np.testing.assert_allclose(
        model.evaluate(x, y, verbose=0), eager.evaluate(x, y, verbose=0), rtol=1e-4
    )
    # Keras never wrapped its own step in torch.compile (that is what fails for these models)
    assert not hasattr(model.train_function, "_torchdynamo_orig_callable")
    # compiling again without jit_compile makes the model eager again
    model.compile(keras.optimizers.RMSprop(), "mse")
    assert model.compile_stats is None and "call" not in vars(model)
    np.testing.assert_allclose(model.predict(x, verbose=0), eager.predict(x, verbose=0), atol=1e-4)


def test_jit_compile_keeps_an_explicit_compile_model_and_refuses_mixed_precision():
    model = compile_model(beta((8, 8, 1)))
    model.compile("rmsprop", "mse")  # jit_compile "auto" (False on torch): stays compiled
    assert model.compile_stats is not None
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = beta((8, 8, 1))
    finally:
        keras.config.set_dtype_policy("float32")
    with pytest.raises(ValueError, match="only float32"):
        mixed.compile("rmsprop", "mse", jit_compile=True)


def test_kcolor_train_compile_is_a_recorded_option():
    from kcolor.cli import build_parser, train_config_from_args
    from kcolor.training import TrainConfig

    config = TrainConfig(output="runs/c", data=["photos/"], compile=True)
    command = config.to_command()
    assert "--compile" in command.split()
    argv = command.split()[1:]
    assert train_config_from_args(build_parser().parse_args(argv)) == config
    assert "--compile" not in TrainConfig(output="runs/c", data=["p"]).to_command()
    assert TrainConfig.from_json(config.to_json()).compile is True


@heavy
def test_unet_compiled_equals_eager_in_inference_and_a_training_step():
    from kcolor.models import unet

    x, y = _data((32, 32))
    compiled, eager = _twins(unet((32, 32, 1), backbone_weights=None, head="regression"))
    want = keras.ops.convert_to_numpy(eager(x, training=False))
    got = keras.ops.convert_to_numpy(compiled(x, training=False))
    np.testing.assert_allclose(got, want, atol=1e-4)
    # A random-init U-Net with batch norms on batches of 4 (1x1 at stride 32) is badly
    # conditioned: even eager with and without kcolor's fast layers differ by ~10 % in some
    # gradients. So the training step is compared by its loss, not by its weights.
    (loss_c, loss_e) = _fit_both(compiled, eager, x, y, optimizer=lambda: "sgd")
    np.testing.assert_allclose(loss_c[0], loss_e[0], rtol=1e-4)
    assert np.isfinite(loss_c).all() and loss_c[1] < loss_c[0]
    assert compiled.compile_stats.compiles >= 2  # training mode (batch norms) is its own graph
