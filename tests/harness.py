"""The shared model test, like keras-hub's ``TestCase.run_vision_backbone_test``.

:func:`run_model_test` checks, for one builder of :mod:`kcolor.models` (or any function that
returns a Keras model):

1. the output shape (and, optionally, the output range) on ``input_data``, and on more inputs
   of other sizes for fully-convolutional models (``variable_size_data``);
2. ``get_config`` / ``from_config``: the same config back, the same outputs with the same
   weights;
3. one ``fit`` step: a finite loss, and every trainable weight tensor that gets a gradient
   changes (at least one must);
4. the ``.keras`` round trip, loaded with ``safe_mode=True``: identical outputs;
5. the ``.weights.h5`` round trip into a fresh model (``model.load_weights`` and the builder's
   own ``weights=`` argument): identical outputs, while the fresh model differs before loading.

Example (in a test)::

    from harness import run_model_test

    def test_unet(tmp_path):
        run_model_test(
            unet, {"input_shape": (32, 32, 1)}, np.zeros((2, 32, 32, 1), "float32"),
            expected_output_shape=(2, 32, 32, 2), tmp_path=tmp_path,
        )
"""

from __future__ import annotations

import json

import numpy as np

import kcolor  # noqa: F401  (the torch backend before keras)

import keras  # noqa: E402  isort: skip


def _numpy(x):
    return keras.tree.map_structure(keras.ops.convert_to_numpy, x)


def _shapes(x):
    return keras.tree.map_structure(lambda a: tuple(a.shape), x)


def _run(model, x):
    return _numpy(model(x, training=False))


def _assert_same(a, b, what):
    for u, v in zip(keras.tree.flatten(a), keras.tree.flatten(b), strict=True):
        np.testing.assert_array_equal(u, v, err_msg=what)


def _config_json(model) -> str:
    return json.dumps(keras.saving.serialize_keras_object(model.get_config()), sort_keys=True)


def run_model_test(
    builder,
    init_kwargs,
    input_data,
    expected_output_shape,
    *,
    tmp_path,
    target=None,
    output_range=(-1.0, 1.0),
    variable_size_data=(),
    run_fit=True,
    loss="mse",
    check_weights_argument=True,
):
    """Build ``builder(**init_kwargs)`` and check shape, config, one fit step and both round trips.

    Args:
        builder: a function returning a Keras model (``kcolor.models.beta`` ...).
        init_kwargs: its keyword arguments (``{"input_shape": (16, 16, 1)}``).
        input_data: a batch for the model (an array, or a list for several inputs).
        expected_output_shape: the output's shape on ``input_data`` (a tuple, or a structure
            of tuples for several outputs).
        tmp_path: a folder for the saved files (pytest's ``tmp_path``).
        target: the ``fit`` target; default: uniform noise in ``[-0.3, 0.3]`` of the output's
            shape.
        output_range: ``(low, high)`` every output value must lie in (``tanh`` ab by
            default), or ``None``.
        variable_size_data: ``[(input, expected_output_shape), ...]`` more inputs for the same
            model (other sizes, for fully-convolutional builders).
        run_fit: run the fit-step check (and save the trained model, so that the round trips
            carry moved batch-norm statistics too).
        loss: the loss of the fit step.
        check_weights_argument: also load the ``.weights.h5`` through ``builder(weights=...)``.

    Returns:
        The model, fitted for one step when ``run_fit``, for more checks.
    """
    model = builder(**init_kwargs)
    assert isinstance(model, keras.Model), f"{builder.__name__} returned {type(model).__name__}"

    # 1. shapes (and range)
    out = _run(model, input_data)
    assert _shapes(out) == expected_output_shape, (
        f"output shape {_shapes(out)}, expected {expected_output_shape}"
    )
    for data, shape in variable_size_data:
        assert _shapes(_run(model, data)) == shape, f"for input {_shapes(data)}"
    if output_range is not None:
        low, high = output_range
        for a in keras.tree.flatten(out):
            assert np.isfinite(a).all() and low <= a.min() and a.max() <= high, (
                f"outputs in [{a.min()}, {a.max()}], expected within {output_range}"
            )

    # 2. get_config / from_config
    config = _config_json(model)
    revived = model.__class__.from_config(model.get_config())
    assert _config_json(revived) == config, "from_config(get_config()) changed the config"
    revived.set_weights(model.get_weights())
    _assert_same(_run(revived, input_data), out, "from_config + set_weights: other outputs")

    # 3. one fit step
    if run_fit:
        if target is None:
            rng = np.random.default_rng(1)
            target = keras.tree.map_structure(
                lambda a: rng.uniform(-0.3, 0.3, a.shape).astype("float32"), out
            )
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
        before = [np.array(w) for w in _numpy(model.trainable_weights)]
        n = len(keras.tree.flatten(input_data)[0])
        history = model.fit(input_data, target, batch_size=n, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0]), f"loss {history.history['loss']}"
        after = _numpy(model.trainable_weights)
        changed = [not np.array_equal(a, b) for a, b in zip(before, after, strict=True)]
        assert any(changed), "one fit step changed no trainable weight"
    expected = _run(model, input_data)

    # 4. .keras round trip, safe mode
    keras_path = tmp_path / "model.keras"
    model.save(keras_path)
    loaded = keras.saving.load_model(keras_path, safe_mode=True)
    assert isinstance(loaded, keras.Model)
    _assert_same(_run(loaded, input_data), expected, ".keras round trip: other outputs")

    # 5. .weights.h5 round trip into a fresh model
    weights_path = tmp_path / "model.weights.h5"
    model.save_weights(weights_path)
    fresh = builder(**init_kwargs)
    if run_fit:  # a fresh model differs from a trained one (random init, or no fit step)
        assert any(
            not np.array_equal(a, b)
            for a, b in zip(
                keras.tree.flatten(_run(fresh, input_data)),
                keras.tree.flatten(expected),
                strict=True,
            )
        ), "a fresh model already gives the trained outputs: the round trip proves nothing"
    fresh.load_weights(weights_path)
    _assert_same(_run(fresh, input_data), expected, ".weights.h5 round trip: other outputs")
    if check_weights_argument:
        built = builder(**init_kwargs, weights=str(weights_path))
        _assert_same(_run(built, input_data), expected, "builder(weights=...): other outputs")
    return model
