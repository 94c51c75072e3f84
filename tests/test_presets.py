"""Presets: registry, offline weights resolution with hash checks, file:// downloads, clear errors."""

import os

import numpy as np
import pytest

import kcolor
from kcolor import presets
from kcolor.errors import WeightsError

REAL = ["alpha-woman", "beta-faces", "beta-photos", "fusion-lite0-photos"]


def _numpy(weights):
    return [np.asarray(w.numpy()) for w in weights]


@pytest.fixture
def register():
    """``register(name, **spec)``: a preset (alpha unless told) registered until the test ends."""
    names = []

    def register(name, description="test only", architecture="alpha", **spec):
        presets.register_preset(
            name, description=description, architecture=architecture, overwrite=True, **spec
        )
        names.append(name)

    yield register
    for name in names:
        presets.unregister_preset(name)


@pytest.fixture
def test_preset(tmp_path, register):
    """A tiny alpha model's weights (float16) registered as preset 'test-alpha' for this test only."""
    from kcolor.models import alpha

    model = alpha()
    path = tmp_path / "test-alpha.weights.h5"
    digest = presets.save_weights(model, path)
    register(
        "test-alpha",
        config={"input_shape": [None, None, 1]},
        input_size=32,
        file=path,
        sha256=digest,
        training={"data": "none", "command": "fixture"},
    )
    return model, path, digest


def test_registry_lists_the_real_presets_installed_or_plainly_unavailable():
    names = presets.list_presets()
    assert list(names)[:4] == REAL
    for name in REAL:
        entry = presets.get_preset(name)
        assert entry["architecture"] in ("alpha", "beta", "fusion") and entry["description"]
        if presets.is_installed(name):
            # A shipped preset: a real file in the package, matching its hash, with the
            # command that made it.
            path = presets.resolve_weights(name)
            assert presets.sha256sum(path) == entry["sha256"]
            assert entry["training"]["command"]
        else:
            with pytest.raises(WeightsError, match="has no weights yet.*kcolor train"):
                presets.resolve_weights(name)
    assert presets.get_preset("fusion-lite0-photos")["embedder"] == "efficientnet_lite0"


def test_unknown_preset_lists_the_available_ones():
    with pytest.raises(WeightsError, match="Unknown preset 'nope'.*beta-photos"):
        presets.get_preset("nope")
    with pytest.raises(WeightsError, match="Available presets"):
        presets.resolve_weights("nope")
    with pytest.raises(WeightsError, match="no such weights file"):
        presets.resolve_weights("missing/file.weights.h5")


def test_packaged_preset_loads_offline(test_preset):
    model, path, digest = test_preset
    assert presets.resolve_weights("test-alpha") == os.fspath(path)
    assert presets.is_installed("test-alpha") and presets.is_available("test-alpha")
    built = presets.build_model("test-alpha")
    for a, b in zip(_numpy(model.weights), _numpy(built.weights), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)  # float16 storage
    # keras.applications style, through kcolor.models' weights= argument.
    from kcolor.models import alpha, beta

    again = alpha(weights="test-alpha")
    np.testing.assert_array_equal(_numpy(again.weights)[0], _numpy(built.weights)[0])
    with pytest.raises(WeightsError, match="'alpha' architecture, not 'beta'"):
        beta(weights="test-alpha")
    colorizer = kcolor.Colorizer.from_preset("test-alpha")
    assert colorizer.input_size == (32, 32)
    assert colorizer.colorize(np.zeros((7, 9), np.uint8)).shape == (7, 9, 3)


def test_float16_storage_halves_the_file(tmp_path):
    from kcolor.models import alpha

    model = alpha()
    presets.save_weights(model, tmp_path / "a16.weights.h5")
    presets.save_weights(model, tmp_path / "a32.weights.h5", float16=False)
    small, big = (os.path.getsize(tmp_path / f) for f in ("a16.weights.h5", "a32.weights.h5"))
    params = sum(int(np.prod(w.shape)) for w in model.weights)
    assert big - small >= 1.9 * params  # 2 bytes saved per parameter (HDF5 overhead aside)


def test_wrong_hash_and_missing_file(test_preset, register):
    _, path, _ = test_preset
    register("test-alpha", description="bad hash", file=path, sha256="0" * 64)
    with pytest.raises(WeightsError, match="'test-alpha' fails its SHA-256 check") as info:
        presets.build_model("test-alpha")
    assert info.value.path == os.fspath(path)
    register("test-alpha", description="missing", file=path.with_name("gone.weights.h5"))
    with pytest.raises(WeightsError, match="preset 'test-alpha' is missing"):
        presets.resolve_weights("test-alpha")


def test_weights_of_another_architecture_are_refused(test_preset, register):
    _, path, digest = test_preset
    register(
        "test-liar",
        description="alpha weights claiming to be beta",
        architecture="beta",
        config={"input_shape": [None, None, 1]},
        file=path,
        sha256=digest,
    )
    with pytest.raises(WeightsError, match="test-liar"):
        presets.build_model("test-liar")


def test_url_preset_downloads_once_and_checks_hash(test_preset, register, tmp_path, monkeypatch):
    _, path, digest = test_preset
    monkeypatch.setenv("KERAS_HOME", os.fspath(tmp_path / "keras_home"))
    url = path.as_uri()  # file:///...
    register("test-url", description="url", url=url, sha256=digest)
    assert not presets.is_installed("test-url")
    local = presets.resolve_weights("test-url", architecture="alpha")
    assert local.startswith(os.fspath(tmp_path / "keras_home" / "kcolor"))
    assert presets.sha256sum(local) == digest and presets.is_installed("test-url")
    presets.build_model("test-url")
    # A corrupted cached copy is fetched again.
    with open(local, "wb") as f:
        f.write(b"junk")
    assert presets.sha256sum(presets.resolve_weights("test-url")) == digest
    # A url whose content does not match its hash.
    register("test-url", description="url", url=url, sha256="1" * 64)
    os.remove(local)
    with pytest.raises(WeightsError, match="test-url"):
        presets.resolve_weights("test-url")
    with pytest.raises(ValueError, match="sha256"):
        presets.register_preset("x", description="x", architecture="alpha", url=url)


def test_save_weights_leaves_the_optimizer_state_out(tmp_path):
    import numpy as np

    from kcolor import models

    model = models.alpha()
    x = np.zeros((2, 16, 16, 1), "float32")
    y = np.zeros((2, 16, 16, 2), "float32")
    presets.save_weights(model, tmp_path / "bare.weights.h5")
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)  # Adam now holds two moments per weight
    presets.save_weights(model, tmp_path / "trained.weights.h5")
    bare, trained = (
        (tmp_path / f).stat().st_size for f in ("bare.weights.h5", "trained.weights.h5")
    )
    assert trained <= bare * 1.05
    again = models.alpha(weights=str(tmp_path / "trained.weights.h5"))
    for a, b in zip(again.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=2e-3, rtol=1e-3)  # float16 storage
