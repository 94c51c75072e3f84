"""The exported graph (kcolor.presets.export) and the fast path that runs it (kcolor.fast).

The fast path must give the Keras path's colours (max |delta ab| <= 1) over sizes and
aspect ratios, never import Keras, torch or kcolor's model code, and refuse a corrupt or
stale export with an error naming the file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from PIL import Image

from kcolor import color
from kcolor.errors import WeightsError
from kcolor.fast import FastColorizer
from kcolor.fast.engine import load_colorizer
from kcolor.inference.colorizer import Colorizer
from kcolor.presets import format as preset_format
from kcolor.presets import registry
from kcolor.presets.export import EXPORT_FILE, export_onnx

SIZES = [(40, 60), (77, 33), (128, 128), (50, 200), (211, 97)]
VIVIDNESS = [None, 0.0, 1.0]


def _photo(h, w, seed=0):
    """A grey photo with some structure (gradients and noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    grey = 128 + 80 * np.sin(x / 7.0) * np.cos(y / 11.0) + rng.normal(0, 12, (h, w))
    return np.clip(grey, 0, 255).astype(np.uint8)


def _ab_of(colorizer, photo, vividness, monkeypatch):
    """The ab the colorizer joins to the photo's lightness (before the uint8 quantisation)."""
    seen = []
    original = color.join_lightness

    def spy(image, ab, **kwargs):
        seen.append(np.array(ab, np.float32))
        return original(image, ab, **kwargs)

    monkeypatch.setattr(color, "join_lightness", spy)
    rgb = colorizer.colorize(photo, vividness=vividness)
    monkeypatch.setattr(color, "join_lightness", original)
    (ab,) = seen
    return ab, rgb


def _assert_same(fast, slow, monkeypatch, sizes=SIZES, vividness=VIVIDNESS):
    for h, w in sizes:
        photo = _photo(h, w)
        assert fast.target_size(h, w) == slow.target_size(h, w)
        for v in vividness:
            ab_fast, rgb_fast = _ab_of(fast, photo, v, monkeypatch)
            ab_slow, rgb_slow = _ab_of(slow, photo, v, monkeypatch)
            assert ab_fast.shape == ab_slow.shape
            worst = float(np.abs(ab_fast - ab_slow).max())
            assert worst <= 1.0, f"{h}x{w} vividness {v}: max |delta ab| {worst:.3f}"
            assert rgb_fast.shape == (h, w, 3)
            # the joined photo is quantised to a 2-unit ab grid: a rare pixel may round apart
            same = np.all(rgb_fast == rgb_slow, axis=-1).mean()
            assert same > 0.99, f"{h}x{w} vividness {v}: only {same:.2%} pixels equal"


@pytest.fixture(scope="module")
def tiny_preset(tmp_path_factory):
    """A preset folder of the article's tiny alpha network, saved by save_to_preset."""
    from kcolor import models
    from kcolor.presets import save_to_preset

    keras.utils.set_random_seed(1)
    folder = tmp_path_factory.mktemp("presets") / "tiny"
    save_to_preset(
        models.alpha(),
        folder,
        builder="alpha",
        args={"input_shape": [None, None, 1]},
        input_size=64,
    )
    return folder


@pytest.fixture(scope="module")
def tiny_class_model():
    """A small colour-class model (one conv, a ColorClassLogits head at stride 2) with
    rebalancing weights, so that temperature and prior correction both matter."""
    from kcolor.models.color_classes import ColorClassLogits, set_class_weights

    keras.utils.set_random_seed(2)
    inputs = keras.Input((None, None, 1))
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    head = ColorClassLogits(output_stride=2, name="color_classes")
    model = keras.Model(inputs, head(x), name="tiny_classes")
    rng = np.random.default_rng(3)
    set_class_weights(model, rng.uniform(0.3, 3.0, head.num_bins).astype(np.float32))
    return model


# ---------------------------------------------------------------- equal colours
def test_save_to_preset_writes_a_hash_checked_export(tiny_preset):
    record = preset_format.read_metadata(tiny_preset)["export"]
    assert record["file"] == EXPORT_FILE and record["decoding"] == "ab"
    assert record["sha256"] == preset_format.sha256sum(tiny_preset / EXPORT_FILE)
    assert record["weights_sha256"] == preset_format.read_metadata(tiny_preset)["weights_sha256"]


def test_fast_path_equals_keras_for_a_regression_preset(tiny_preset, monkeypatch):
    fast = load_colorizer(tiny_preset)
    assert isinstance(fast, FastColorizer)
    _assert_same(fast, Colorizer.from_preset(tiny_preset), monkeypatch)


def test_fast_path_equals_keras_for_a_class_model(tiny_class_model, tmp_path, monkeypatch):
    import onnxruntime as ort

    slow = Colorizer(tiny_class_model, input_size=64, temperature=0.3, prior_correction=0.5)
    record = export_onnx(tiny_class_model, tmp_path / "m.onnx")
    assert record["decoding"] == "classes"
    assert set(record["inputs"]) == {"l", "temperature", "prior_correction"}
    fast = FastColorizer(
        ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]),
        decoding="classes",
        input_size=64,
        multiple=8,
        vividness_anchors=slow.vividness_anchors,
    )
    assert fast.decoding(0.9) == slow.decoding(0.9)
    _assert_same(fast, slow, monkeypatch)


@pytest.mark.slow  # the U-Net on torch eager: 5-35 s on a shared 2-core CPU
def test_fast_path_equals_keras_for_the_default_preset(monkeypatch):
    fast = load_colorizer(None)
    assert isinstance(fast, FastColorizer)
    slow = Colorizer.from_preset(registry.DEFAULT_PRESET)
    _assert_same(fast, slow, monkeypatch, sizes=[(96, 128), (150, 90)], vividness=[None, 1.0])


def test_the_fast_path_imports_neither_keras_torch_nor_model_code(tmp_path):
    Image.fromarray(_photo(60, 80)).save(tmp_path / "one.png")
    code = textwrap.dedent(
        f"""
        import sys
        from kcolor.cli import main
        assert main(["colorize", {str(tmp_path / "one.png")!r}, "-o", {str(tmp_path / "out")!r},
                     "-q"]) == 0
        heavy = [m for m in sys.modules if m.split(".")[0] in ("torch", "keras")
                 or m.startswith(("kcolor.models", "kcolor.inference.colorizer"))]
        print("HEAVY", heavy)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout, done.stdout
    assert (tmp_path / "out" / "one.png").is_file()


# ---------------------------------------------------------------- broken and missing exports
def _copy(folder, tmp_path):
    return shutil.copytree(folder, tmp_path / "copy")


def test_a_corrupt_export_is_an_error_naming_the_file(tiny_preset, tmp_path):
    from kcolor.cli import main

    folder = _copy(tiny_preset, tmp_path)
    data = bytearray((folder / EXPORT_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / EXPORT_FILE).write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="model.onnx: fails its SHA-256 check") as err:
        load_colorizer(folder)
    assert err.value.path == str(folder / EXPORT_FILE)
    Image.fromarray(_photo(20, 30)).save(tmp_path / "a.png")
    assert (
        main(
            [
                "colorize",
                str(tmp_path / "a.png"),
                "-o",
                str(tmp_path / "o"),
                "-q",
                "--model",
                str(folder),
            ]
        )
        == 2
    )  # no silent fallback to Keras
    assert not (tmp_path / "o").exists()
    assert isinstance(load_colorizer(folder, engine="keras"), Colorizer)  # when asked for


def test_an_unloadable_or_stale_export_is_an_error_naming_the_file(tiny_preset, tmp_path):
    folder = _copy(tiny_preset, tmp_path)
    meta = preset_format.read_metadata(folder)
    (folder / EXPORT_FILE).write_bytes(b"not an onnx file")
    meta["export"]["sha256"] = preset_format.sha256sum(folder / EXPORT_FILE)
    preset_format.write_json(folder / preset_format.METADATA, meta)
    with pytest.raises(WeightsError, match="model.onnx: onnxruntime cannot load it"):
        load_colorizer(folder)
    shutil.copyfile(tiny_preset / EXPORT_FILE, folder / EXPORT_FILE)
    meta["export"]["sha256"] = preset_format.sha256sum(folder / EXPORT_FILE)
    meta["export"]["weights_sha256"] = "0" * 64  # made from other weights
    preset_format.write_json(folder / preset_format.METADATA, meta)
    with pytest.raises(WeightsError, match="model.onnx: was exported from other weights"):
        load_colorizer(folder)


def test_a_preset_without_export_falls_back_to_keras_with_a_note(tiny_preset, tmp_path):
    folder = _copy(tiny_preset, tmp_path)
    meta = preset_format.read_metadata(folder)
    del meta["export"]
    preset_format.write_json(folder / preset_format.METADATA, meta)
    notes = []
    assert isinstance(load_colorizer(folder, on_fallback=notes.append), Colorizer)
    assert len(notes) == 1 and "no exported graph" in notes[0]
    with pytest.raises(WeightsError, match="no exported graph"):
        load_colorizer(folder, engine="onnx")


def test_the_export_command_writes_a_graph_plain_onnxruntime_runs(tiny_preset, tmp_path):
    import onnxruntime as ort

    from kcolor.cli import main

    out = tmp_path / "deploy"
    assert main(["export", str(tiny_preset), "-o", str(out)]) == 0
    about = json.loads((out / "model.json").read_text())
    assert about["inputs"] == {"l": ["n", "h", "w", 1]} and about["model_size"]["multiple"] == 8
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    L = color.rgb_to_l(np.repeat(_photo(48, 64)[..., None], 3, -1))
    (ab,) = session.run(None, {"l": color.encode_l(L)[None].astype(np.float32)})
    assert ab.shape == (1, 48, 64, 2)
    assert main(["export", str(tiny_preset), "-o", str(out)]) == 2  # exists: --overwrite


def test_the_readme_example_runs_on_plain_onnxruntime(tmp_path, monkeypatch):
    """The README's plain-onnxruntime example, run as written against `kcolor export`'s
    files: it colours a photo of the right size, close to kcolor's own colours."""
    import re
    from pathlib import Path

    from kcolor.cli import main

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    [code] = [c for c in re.findall(r"```python\n(.*?)```", readme, re.S) if "deploy/" in c]
    monkeypatch.chdir(tmp_path)
    assert main(["export", "unet-lite0-photos", "-o", "deploy"]) == 0
    Image.fromarray(_photo(90, 120)).save("old.jpg", quality=95)
    exec(compile(code, "README.md", "exec"), {})
    out = np.asarray(Image.open("coloured.jpg").convert("RGB"))
    assert out.shape == (90, 120, 3)
    ours = load_colorizer("unet-lite0-photos").colorize(np.asarray(Image.open("old.jpg")))
    ab_readme = color.rgb_to_lab(out.astype(np.float32) / 255)[..., 1:]
    ab_ours = color.rgb_to_lab(ours.astype(np.float32) / 255)[..., 1:]
    assert np.abs(ab_ours).mean() > 2  # colours to compare
    assert np.abs(ab_readme - ab_ours).mean() < 0.2 * np.abs(ab_ours).mean()
