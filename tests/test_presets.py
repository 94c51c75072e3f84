"""Presets are folders (config.json, model.weights.h5, metadata.json): shipped, written, loaded."""

import json
import shutil
import zipfile

import numpy as np
import pytest

import kcolor
from kcolor import Colorizer, models, presets
from kcolor.errors import WeightsError

REAL = ["alpha-woman", "beta-faces", "beta-photos", "fusion-lite0-photos", "unet-lite0-photos"]


@pytest.fixture
def alpha_preset(tmp_path):
    """A freshly written alpha preset folder."""
    model = models.alpha((None, None, 1))
    folder = presets.save_to_preset(
        model,
        tmp_path / "my-alpha",
        builder="alpha",
        args={"input_shape": [None, None, 1]},
        input_size=32,
        metadata={"description": "test alpha", "command": "kcolor train ..."},
    )
    return model, folder


def test_the_shipped_presets_are_folders_with_hash_checked_weights():
    assert presets.shipped_names() == REAL
    assert kcolor.DEFAULT_PRESET == presets.DEFAULT_PRESET == "unet-lite0-photos"
    for name in REAL:
        folder = presets.locate(name)
        config = presets.read_config(folder)
        meta = presets.read_metadata(folder)
        assert config["builder"] in ("alpha", "beta", "fusion", "unet")
        assert meta["description"] and meta["command"].startswith("kcolor train ")
        assert meta["weights_sha256"] == presets.sha256sum(folder / "model.weights.h5")
    sizes = sum((presets.locate(n) / "model.weights.h5").stat().st_size for n in REAL)
    assert sizes < 40e6


def test_save_to_preset_and_build_model_are_symmetric(alpha_preset):
    model, folder = alpha_preset
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "metadata.json", "model.weights.h5"} <= names
    assert names <= {"config.json", "metadata.json", "model.weights.h5", "model.onnx"}
    rebuilt = presets.build_model(folder)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 16, 16, 1)).astype("float32")
    np.testing.assert_allclose(
        rebuilt.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )
    meta = presets.read_metadata(folder)
    assert meta["weights_sha256"] == presets.sha256sum(folder / "model.weights.h5")
    assert meta["kcolor_version"] == kcolor.__version__
    with pytest.raises(WeightsError, match="holds a preset already"):
        presets.save_to_preset(model, folder, builder="alpha", args={})


def test_a_folder_loads_everywhere_a_name_does(alpha_preset):
    _, folder = alpha_preset
    colorizer = Colorizer.from_preset(folder)
    assert colorizer.input_size == (32, 32)
    assert colorizer.colorize(np.zeros((20, 30), np.uint8)).shape == (20, 30, 3)
    assert models.alpha((None, None, 1), weights=str(folder)).count_params() == 32_202
    loaded = presets.load(folder)
    assert loaded.folder == folder and loaded.input_size == 32


def test_from_preset_without_a_name_is_the_default():
    colorizer = Colorizer.from_preset()
    named = Colorizer.from_preset(presets.DEFAULT_PRESET)
    assert colorizer.model.name.startswith("unet_efficientnet_lite0_classes")  # the U-Net
    assert colorizer.model.count_params() == named.model.count_params()
    # its decoding is the one chosen on validation and recorded in the preset
    chosen = presets.read_metadata(presets.locate(presets.DEFAULT_PRESET))["decoding_choice"]
    assert colorizer.prior_correction == named.prior_correction
    assert colorizer.prior_correction == chosen["chosen"]["prior_correction"]
    assert colorizer.temperature == chosen["chosen"]["temperature"]
    assert colorizer.input_size == (128, 128) and colorizer.multiple == 32
    assert (
        Colorizer.from_preset("beta-photos").model.count_params()
        == models.KNOWN_PARAM_COUNTS["beta"]
    )


def test_unknown_preset_lists_the_available_ones():
    with pytest.raises(WeightsError, match="beta-photos") as info:
        presets.check_spec("no-such-preset")
    assert "kcolor models" in str(info.value)


def test_wrong_hash_and_missing_weights_name_the_file(alpha_preset):
    _, folder = alpha_preset
    data = bytearray((folder / "model.weights.h5").read_bytes())
    data[-100] ^= 0xFF
    (folder / "model.weights.h5").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256") as info:
        presets.build_model(folder)
    assert "model.weights.h5" in str(info.value)
    (folder / "model.weights.h5").unlink()
    with pytest.raises(WeightsError, match="model.weights.h5"):
        Colorizer.from_preset(folder)


def test_config_naming_another_network_is_refused(alpha_preset):
    _, folder = alpha_preset
    config = json.loads((folder / "config.json").read_text())
    config["builder"] = "beta"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="another architecture"):
        presets.build_model(folder)


def test_a_newer_format_asks_for_an_upgrade(alpha_preset):
    _, folder = alpha_preset
    config = json.loads((folder / "config.json").read_text())
    config["format_version"] = 99
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="upgrade kcolor"):
        presets.build_model(folder)


def test_url_preset_downloads_once_checks_its_hash_and_is_cached(
    alpha_preset, tmp_path, monkeypatch
):
    _, folder = alpha_preset
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    archive = tmp_path / "my-alpha.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f"my-alpha/{f.name}")
    digest = presets.sha256sum(archive)
    presets.register_preset("test-url", url=archive.as_uri(), sha256=digest)
    try:
        assert not presets.is_installed("test-url")
        assert presets.build_model("test-url").count_params() == 32_202
        assert presets.is_installed("test-url")
        archive.unlink()  # cached: no second download
        assert presets.build_model("test-url").count_params() == 32_202
        presets.register_preset("test-bad", url=(tmp_path / "gone.zip").as_uri(), sha256="0" * 64)
        with pytest.raises(WeightsError, match="could not fetch preset 'test-bad'"):
            presets.build_model("test-bad")
    finally:
        presets.unregister_preset("test-url")
        presets.unregister_preset("test-bad")


def test_wrong_download_hash_is_refused(alpha_preset, tmp_path, monkeypatch):
    _, folder = alpha_preset
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f.name)
    presets.register_preset("test-hash", url=archive.as_uri(), sha256="1" * 64)
    try:
        with pytest.raises(WeightsError, match="SHA-256"):
            presets.build_model("test-hash")
    finally:
        presets.unregister_preset("test-hash")


def test_float16_storage_halves_the_file(tmp_path):
    model = models.beta((None, None, 1))
    presets.save_weights(model, tmp_path / "a.weights.h5", float16=False)
    presets.save_weights(model, tmp_path / "b.weights.h5", float16=True)
    full, half = ((tmp_path / f).stat().st_size for f in ("a.weights.h5", "b.weights.h5"))
    assert half < 0.55 * full


def test_save_weights_leaves_the_optimizer_state_out(tmp_path):
    model = models.alpha((16, 16, 1))
    model.compile("adam", "mse")
    model.fit(np.zeros((2, 16, 16, 1)), np.zeros((2, 16, 16, 2)), verbose=0)
    presets.save_weights(model, tmp_path / "a.weights.h5", float16=False)
    bare = models.alpha((16, 16, 1))
    presets.save_weights(bare, tmp_path / "b.weights.h5", float16=False)
    size_a = (tmp_path / "a.weights.h5").stat().st_size
    assert size_a < 1.2 * (tmp_path / "b.weights.h5").stat().st_size


def test_old_run_folders_say_how_to_convert_and_convert(tmp_path):
    model = models.alpha((None, None, 1))
    old = tmp_path / "old-run"
    old.mkdir()
    model.save(old / "model.keras")
    (old / "config.json").write_text(
        json.dumps(
            {"architecture": "alpha", "input_size": 32, "config": {"input_shape": [None, None, 1]}}
        )
    )
    with pytest.raises(WeightsError, match="kcolor convert"):
        presets.check_spec(old)
    new = presets.convert_legacy(old, tmp_path / "new")
    assert Colorizer.from_preset(new).input_size == (32, 32)
    example = tmp_path / "example-run"
    example.mkdir()
    model.save_weights(example / "model.weights.h5")
    (example / "config.json").write_text(
        json.dumps({"example": "04", "model": "alpha", "size": 32})
    )
    with pytest.raises(WeightsError, match="kcolor convert"):
        Colorizer.from_preset(example)
    assert (
        presets.build_model(presets.convert_legacy(example, tmp_path / "n2")).count_params()
        == 32_202
    )


def test_export_preset_stores_float16_and_keeps_history(alpha_preset, tmp_path):
    _, folder = alpha_preset
    (folder / "history.csv").write_text("epoch,loss\n0,1.0\n")
    out = presets.export_preset(folder, tmp_path / "shipped", note="x")
    assert presets.read_metadata(out)["weights_dtype"] == "float16"
    assert (out / "history.csv").read_text().startswith("epoch,loss")
    assert presets.build_model(out).count_params() == 32_202
    shutil.rmtree(out)
