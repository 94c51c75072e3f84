"""The scripts in tools/ run (on the CPU here)."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_device_check_passes_on_this_device():
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "release" / "device_check.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fast path vs stock Keras: max abs diff 0.00e+00" in proc.stdout
    assert "DEVICE CHECK OK" in proc.stdout


def test_compare_aspect_prints_both_modes(tmp_path):
    from skimage import data

    from kcolor import io

    for name in ("astronaut", "coffee"):  # 512x512 and 400x600
        io.save_image(tmp_path / f"{name}.png", getattr(data, name)())
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "studies" / "compare_aspect.py"),
            str(tmp_path),
            "--n",
            "2",
            "--presets",
            "beta-photos",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith("beta-photos")]
    assert [r[1] for r in rows] == ["squash", "keep"]
    assert all(0 < float(r[-4]) < 100 for r in rows)  # a PSNR in dB was measured


def _run_tool(*args, env=None):
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "release" / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg", **(env or {})},
    )


def test_export_preset_makes_a_float16_shipping_folder(tmp_path):
    import h5py
    import numpy as np

    from kcolor import models, presets

    model = models.alpha((None, None, 1))
    run = presets.save_to_preset(
        model,
        tmp_path / "run",
        builder="alpha",
        args={"input_shape": [None, None, 1]},
        input_size=32,
        metadata={"run": True, "command": "kcolor train --model alpha ..."},
    )
    (run / "history.csv").write_text("epoch,loss\n0,0.5\n")
    proc = _run_tool(
        "export_preset.py",
        str(run),
        "mine",
        "--weights-dir",
        str(tmp_path / "w"),
        "--description",
        "a test preset",
        "--command",
        "kcolor train --model alpha ... && python tools/release/choose_decoding.py ...",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = tmp_path / "w" / "mine"
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "history.csv",
        "metadata.json",
        "model.onnx",  # the exported graph of the fast path (docs/export.md)
        "model.weights.h5",
    ]
    meta = presets.read_metadata(folder)
    assert meta["export"]["sha256"] == presets.sha256sum(folder / "model.onnx")
    assert meta["name"] == "mine" and "run" not in meta  # a shipped preset, not a run
    assert meta["description"] == "a test preset"
    assert meta["command"].endswith("&& python tools/release/choose_decoding.py ...")
    assert meta["weights_dtype"] == "float16"
    assert meta["weights_sha256"] in proc.stdout
    assert meta["weights_sha256"] == presets.sha256sum(folder / "model.weights.h5")
    with h5py.File(folder / "model.weights.h5") as f:
        dtypes = set()
        f.visititems(lambda k, v: dtypes.add(v.dtype) if isinstance(v, h5py.Dataset) else None)
    assert dtypes == {np.dtype("float16")}
    x = np.random.default_rng(0).uniform(-1, 1, (1, 16, 16, 1)).astype("float32")
    np.testing.assert_allclose(
        presets.build_model(folder).predict(x, verbose=0), model.predict(x, verbose=0), atol=2e-2
    )


def test_export_preset_says_what_is_wrong(tmp_path):
    proc = _run_tool(
        "export_preset.py", str(tmp_path / "nothing"), "mine", "--weights-dir", str(tmp_path / "w")
    )
    assert proc.returncode == 2 and "nothing" in proc.stderr
    assert not (tmp_path / "w" / "mine").exists()


def _preset_commands(tmp_path, **env):
    """The kcolor train arguments and exports tools/release/train_photo_presets.sh would run."""
    proc = subprocess.run(
        [
            "bash",
            str(REPO / "tools" / "release" / "train_photo_presets.sh"),
            str(tmp_path / "photos"),
            str(tmp_path / "runs"),
            "3.5",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DRY_RUN": "1", **env},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "runs").exists()  # a dry run writes nothing
    lines = [shlex.split(line) for line in proc.stdout.splitlines()]
    trains = [w[w.index("kcolor") + 1 :] for w in lines if "kcolor" in w]
    exports = [w[2:] for w in lines if w[1].endswith("export_preset.py")]
    return trains, exports


def test_train_photo_presets_runs_kcolor_train_with_the_presets_options(tmp_path):
    from kcolor import cli

    trains, exports = _preset_commands(tmp_path, PENALTIES="1.5", EXPORT_DIR="/tmp/w")
    configs = [cli.train_config_from_args(cli.build_parser().parse_args(t)) for t in trains]
    beta, fusion = configs
    runs = tmp_path / "runs"
    assert exports == [
        [str(runs / "beta-p1.5"), "beta-photos-p1.5", "--weights-dir", "/tmp/w"],
        [str(runs / "fusion-p1.5"), "fusion-lite0-photos-p1.5", "--weights-dir", "/tmp/w"],
    ]
    for config, model in ((beta, "beta"), (fusion, "fusion")):
        assert config.model == model and config.output == str(runs / f"{model}-p1.5")
        assert config.data == [
            str(tmp_path / "photos" / "tiny-imagenet-val" / "images"),
            str(tmp_path / "photos" / "bsds500" / "train"),
        ]
        assert (config.size, config.batch_size, config.epochs, config.repeat) == (128, 64, 200, 2)
        assert (config.lr, config.loss, config.penalty) == (1e-3, "saturation", 1.5)
        assert (config.val_max, config.minutes, config.workers) == (128, 3.5, 2)
    assert fusion.embedder == "efficientnet_lite0" and fusion.embed_cache  # the examples' default
    trains, _ = _preset_commands(tmp_path, PENALTIES="0.5 2", FUSION_ARGS="--no-cache")
    configs = [cli.train_config_from_args(cli.build_parser().parse_args(t)) for t in trains]
    assert [(c.model, c.penalty) for c in configs] == [
        ("beta", 0.5),
        ("fusion", 0.5),
        ("beta", 2.0),
        ("fusion", 2.0),
    ]
    assert not any(c.embed_cache for c in configs)  # --no-cache: every batch embedded


def test_choose_decoding_shares_the_networks_logits_between_decodings():
    """Colorizers of one size decode the same cached logits: outputs equal the uncached
    path, and the class model runs once per batch, not once per decoding."""
    import importlib.util

    import keras
    import numpy as np

    from kcolor.inference.colorizer import Colorizer
    from kcolor.models.color_classes import ColorClassLogits, set_class_weights

    spec = importlib.util.spec_from_file_location(
        "choose_decoding", REPO / "tools" / "release" / "choose_decoding.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    keras.utils.set_random_seed(2)
    inputs = keras.Input((None, None, 1))
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    head = ColorClassLogits(output_stride=2, name="color_classes")
    model = keras.Model(inputs, head(x), name="tiny_classes")
    rng = np.random.default_rng(3)
    set_class_weights(model, rng.uniform(0.3, 3.0, head.num_bins).astype(np.float32))
    decodings = [(0.3, 0.0), (0.38, 0.5), (0.6, 1.0)]
    plain = [
        Colorizer(model, input_size=32, temperature=t, prior_correction=a) for t, a in decodings
    ]
    shared = [
        Colorizer(model, input_size=32, temperature=t, prior_correction=a) for t, a in decodings
    ]
    tool.shared_logits(shared)
    calls = []
    for c in shared:
        inner = c.class_model
        c.class_model = lambda x, training=False, inner=inner: calls.append(1) or inner(x)
    photos = [rng.integers(0, 256, (40, 56), dtype=np.uint8) for _ in range(2)]
    outs = [c.colorize_arrays(photos) for c in shared]
    assert len(calls) == 1  # one network call for three decodings
    for c, out in zip(plain, outs, strict=True):
        for a, b in zip(c.colorize_arrays(photos), out, strict=True):
            assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    assert not np.array_equal(outs[0][0], outs[2][0])  # the decodings do differ


def test_vivid_grid_picks_the_most_strongly_coloured_photos(tmp_path):
    import numpy as np
    from PIL import Image

    photos = tmp_path / "val"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for name, rgb in {
        "a_grey": (120, 120, 118),
        "b_red": (200, 30, 30),
        "c_beige": (150, 140, 120),
        "d_blue": (20, 60, 210),
    }.items():
        noise = rng.integers(-4, 5, (48, 64, 3))
        pixels = np.clip(np.array(rgb) + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(photos / f"{name}.png")
    out = tmp_path / "grid.png"
    proc = _run_tool(
        "vivid_grid.py",
        str(photos),
        "--new",
        "alpha-woman",
        "--old",
        "alpha-woman",
        "-n",
        "2",
        "--size",
        "32",
        "-o",
        str(out),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "['b_red.png', 'd_blue.png']" in proc.stdout or "['d_blue.png', 'b_red.png']" in (
        proc.stdout
    )
    assert Image.open(out).size[0] > 4 * 32


def test_vivid_grid_pick_shows_the_listed_photos_in_order(tmp_path):
    import numpy as np
    from PIL import Image

    photos = tmp_path / "val"
    photos.mkdir()
    for i, name in enumerate(["a.png", "b.png", "c.png"]):
        Image.fromarray(np.full((40, 40, 3), 60 * i + 20, np.uint8)).save(photos / name)
    listing = tmp_path / "pick.txt"
    listing.write_text("# people in scenes\nc.png\n\na.png  # the first\n")
    out = tmp_path / "grid.png"
    args = [str(photos), "--new", "alpha-woman", "--old", "alpha-woman", "--size", "32"]
    proc = _run_tool("vivid_grid.py", *args, "--pick", str(listing), "-o", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "['c.png', 'a.png']" in proc.stdout
    listing.write_text("c.png\nmissing.png\n")
    proc = _run_tool("vivid_grid.py", *args, "--pick", str(listing), "-o", str(out))
    assert proc.returncode != 0 and "missing.png" in proc.stderr


def test_choose_decoding_writes_the_choice_from_earlier_sweeps(tmp_path):
    """--summaries joins sweeps already run and writes their best decoding, colouring nothing."""
    import importlib.util
    import json
    import shutil

    spec = importlib.util.spec_from_file_location(
        "choose_decoding", REPO / "tools" / "release" / "choose_decoding.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    columns = "model,psnr,delta_colorfulness,chroma_ratio,semantic_agreement,vivid_recall\n"
    grey = "grey baseline,21.9,42.7,0.0,0.615,0.0\n"
    first = tmp_path / "a.csv"  # the pale half: 3 targets at best
    first.write_text(columns + "128px T=0.5 a=0.4,23.25,8.9,0.85,0.69,0.60\n" + grey)
    second = tmp_path / "b.csv"  # the vivid half: T 0.6, alpha 0.3 meets all five
    second.write_text(
        columns
        + "128px T=0.5 a=0.3,22.90,5.0,0.95,0.69,0.66\n"
        + "128px T=0.6 a=0.3,22.95,5.5,0.93,0.69,0.65\n"
        + "compare: unet-lite0-photos,23.50,3.0,0.95,0.70,0.70\n"  # never the choice
        + grey
    )
    preset = tmp_path / "ckpt"
    shutil.copytree(REPO / "kcolor" / "weights" / "alpha-woman", preset)
    assert (
        tool.main([str(preset), "valdir", "--write", "--summaries", str(first), str(second)]) == 0
    )
    config = json.loads((preset / "config.json").read_text())
    assert (config["input_size"], config["temperature"], config["prior_correction"]) == (
        128,
        0.6,
        0.3,
    )
    choice = json.loads((preset / "metadata.json").read_text())["decoding_choice"]
    assert set(choice["table"]) == {"128px T=0.5 a=0.4", "128px T=0.5 a=0.3", "128px T=0.6 a=0.3"}
    assert "--summaries" in choice["command"]
