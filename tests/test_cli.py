"""The kcolor command, run in-process via main(argv) (and once as `python -m kcolor`)."""

import json
import subprocess
import sys
import types

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import kcolor
from kcolor import color, presets
from kcolor.cli import main


def make_photos(folder, n=8, size=(40, 36), seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        base = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        Image.fromarray(base).resize(size, Image.BILINEAR).save(folder / f"img{i}.png")
    return folder


def colorize(inputs, out, *options, model=None):
    """Exit code of ``kcolor colorize INPUTS -o OUT [--model MODEL] -q [OPTIONS...]``."""
    model_args = [] if model is None else ["--model", str(model)]
    return main(["colorize", str(inputs), "-o", str(out), *model_args, "-q", *options])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One epoch of `kcolor train` on 8 generated photos at 32x32: a usable run folder."""
    root = tmp_path_factory.mktemp("train")
    data = make_photos(root / "data")
    run = root / "run"
    code = main(
        [
            "train",
            "--model",
            "alpha",
            "--data",
            str(data),
            "-o",
            str(run),
            "--epochs",
            "1",
            "--size",
            "32",
            "--batch-size",
            "4",
            "-q",
        ]
    )
    assert code == 0
    return run


def test_python_m_kcolor_help():
    out = subprocess.run(
        [sys.executable, "-m", "kcolor", "--help"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    for command in ("colorize", "models", "train", "demo"):
        assert command in out.stdout


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["colorize", "x.png"])  # no -o
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["train", "--model", "beta", "--data", "d", "-o", "r", "--size", "30"])
    assert info.value.code == 2
    assert "multiple of 8" in capsys.readouterr().err


def test_models_lists_presets(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "beta-photos" in out and "fusion+efficientnet_lite0" in out
    for name in presets.list_presets():
        line = next(row for row in out.splitlines() if row.startswith(name + " "))
        assert ("installed" if presets.is_installed(name) else "download") in line
    assert f"{presets.DEFAULT_PRESET} (default)" in out


def test_models_json_names_the_default_and_the_commands(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows][:4] == sorted(presets.list_presets())[:4]
    assert sum(r["default"] for r in rows) == 1
    for row in rows:
        assert row["description"] and row["command"].startswith("kcolor train --model ")


def test_demo_with_the_default_preset(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert main(["demo", "-o", str(out)]) == 0
    from kcolor.cli import DEMO_ARTICLE_PRESET
    from kcolor.presets import DEFAULT_PRESET

    panels = 2 if DEFAULT_PRESET == DEMO_ARTICLE_PRESET else 3  # the default next to beta
    sheet = np.asarray(Image.open(out))
    assert sheet.shape[1] == 512 * panels + 8 * (panels - 1)  # side by side, full size
    assert sheet.std() > 0
    printed = capsys.readouterr().out
    assert f"{DEFAULT_PRESET} (default)" in printed
    assert DEMO_ARTICLE_PRESET in printed


def test_train_writes_a_complete_run(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    assert config["builder"] == "alpha" and config["input_size"] == 32
    meta = json.loads((run_dir / "metadata.json").read_text())
    assert meta["train_images"] + meta["val_images"] == 8 and meta["val_images"] == 1
    assert meta["command"].startswith("kcolor train --model alpha --data ")
    assert meta["weights_sha256"] and meta["epochs_run"] == 1 and meta["wall_seconds"] > 0
    assert set(meta["metrics"]["held_out"]["model"]) >= {"psnr", "auc", "chroma_ratio"}
    history = pd.read_csv(run_dir / "history.csv")
    assert len(history) == 1 and {"loss", "val_loss"} <= set(history.columns)
    assert np.isfinite(history["loss"]).all()
    assert (run_dir / "model.weights.h5").is_file()
    assert (run_dir / "report.html").is_file()
    assert list((run_dir / "previews").glob("preview_epoch_000.png"))


def test_train_minutes_stops_at_an_epoch_end_and_resume_goes_on(tmp_path, capsys):
    data = make_photos(tmp_path / "data")
    run = tmp_path / "run"
    args = [
        "train",
        "--model",
        "alpha",
        "--data",
        str(data),
        "-o",
        str(run),
        "--epochs",
        "4",
        "--size",
        "32",
        "--batch-size",
        "4",
        "-q",
    ]
    assert main([*args, "--minutes", "0.00001"]) == 0  # the budget is spent in epoch 1
    assert "stopped by --minutes" in capsys.readouterr().err
    assert len(pd.read_csv(run / "history.csv")) == 1  # one whole epoch, then stopped
    assert main([*args, "--resume"]) == 0
    assert list(pd.read_csv(run / "history.csv")["epoch"]) == [0, 1, 2, 3]
    fresh = ["train", "--model", "alpha", "--data", str(data), "-o", str(tmp_path / "new")]
    assert main([*fresh, "--minutes", "0"]) == 2
    assert "--minutes must be positive" in capsys.readouterr().err


def test_train_refuses_a_used_run_dir(run_dir, tmp_path, capsys):
    data = make_photos(tmp_path / "d", n=2)
    assert main(["train", "--model", "alpha", "--data", str(data), "-o", str(run_dir)]) == 2
    assert "--resume" in capsys.readouterr().err
    args = ["train", "--model", "alpha", "--data", str(tmp_path / "empty")]
    assert main([*args, "-o", str(tmp_path / "r")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_colorize_with_a_run_dir(run_dir, tmp_path, capsys):
    src = tmp_path / "album"
    (src / "sub").mkdir(parents=True)
    grey = np.asarray(
        Image.fromarray(np.random.default_rng(1).integers(0, 256, (9, 13, 3), np.uint8)).convert(
            "L"
        )
    )
    Image.fromarray(grey).save(src / "a.png")
    Image.fromarray(np.full((31, 17, 3), 120, np.uint8)).save(src / "sub" / "b.jpg")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (src / "readme.txt").write_text("not an image")
    out = tmp_path / "out"

    code = colorize(src, out, "-r", model=run_dir)
    captured = capsys.readouterr()
    assert code == 1  # one file failed
    assert "2 written, 1 failed" in captured.out
    assert "broken.png" in captured.out
    a = np.asarray(Image.open(out / "a.png"))
    assert a.shape == (9, 13, 3)
    np.testing.assert_allclose(
        color.rgb_to_lab(a)[..., 0], color.rgb_to_lab(np.stack([grey] * 3, -1))[..., 0], atol=0.75
    )
    assert np.asarray(Image.open(out / "sub" / "b.jpg")).shape == (31, 17, 3)
    assert sorted(p.name for p in src.rglob("*")) == [
        "a.png",
        "b.jpg",
        "broken.png",
        "readme.txt",
        "sub",
    ]

    # Run again: existing outputs are kept and reported, and the exit code says so.
    before = (out / "a.png").stat().st_mtime_ns
    assert colorize(src / "a.png", out, model=run_dir) == 1
    assert "exists already" in capsys.readouterr().out
    assert (out / "a.png").stat().st_mtime_ns == before
    assert colorize(src / "a.png", out, "--overwrite", model=run_dir) == 0
    assert "1 written, 0 failed" in capsys.readouterr().out

    # The input folder as output: inputs are never overwritten, even with --overwrite.
    assert colorize(src / "a.png", src, "--overwrite", model=run_dir) == 1
    assert "would overwrite an input" in capsys.readouterr().out
    np.testing.assert_array_equal(np.asarray(Image.open(src / "a.png")), grey)

    # A .keras file directly, at another size, with a suffix.
    model_file = tmp_path / "model.keras"
    kcolor.presets.build_model(run_dir).save(model_file)
    assert colorize(src / "a.png", out, "--size", "16", "--suffix", "_c", model=model_file) == 0
    assert (out / "a_c.png").is_file()


@pytest.fixture
def unavailable_preset(tmp_path):
    """A registered preset whose folder holds no weights (e.g. a run that never finished an epoch)."""
    folder = tmp_path / "no-weights"
    folder.mkdir()
    (folder / "config.json").write_text('{"builder": "alpha"}')
    presets.register_preset("test-unavailable", folder=folder)
    yield "test-unavailable"
    presets.unregister_preset("test-unavailable")


def test_colorize_errors(run_dir, tmp_path, capsys, unavailable_preset):
    assert colorize(tmp_path, tmp_path / "o", model="nope") == 2
    assert "Presets:" in capsys.readouterr().err
    assert colorize(tmp_path / "missing.jpg", tmp_path / "o", model=run_dir) == 1
    assert "no such file or folder" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    assert colorize(tmp_path / "empty", tmp_path / "o", model=run_dir) == 1
    assert "no images found" in capsys.readouterr().err
    # A preset that has no weights yet: a clear error, not a crash.
    assert colorize(tmp_path, tmp_path / "o", model=unavailable_preset) == 2
    assert "no epoch of this run has finished" in capsys.readouterr().err


def test_demo_with_a_trained_run(run_dir, tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert main(["demo", "--model", str(run_dir), "-o", str(out)]) == 0
    image = np.asarray(Image.open(out))
    assert image.shape == (512 + 22, 512 * 2 + 8, 3)  # the photo, the colours, captions
    assert (image[:512, 512:520] == 255).all() and image[512:].min() < 128  # gap; a caption
    assert main(["demo", "--model", str(run_dir), "-o", str(out)]) == 1  # no silent overwrite


class _FakeEmbedder:
    name = "fake"
    embedding_dim = 5

    def __call__(self, x):
        x = np.asarray(x.cpu() if hasattr(x, "cpu") else x)
        m = x.mean(axis=(1, 2, 3))
        return np.stack([np.full_like(m, 0.2)] * 4 + [m], axis=1).astype(np.float32)


def test_train_fusion_with_an_embedder(tmp_path, monkeypatch, capsys):
    """The fusion path end to end (with a stand-in embedder: the real ones are slow on CPU)."""
    fake = types.ModuleType("kcolor.models.embedders")
    fake.get_embedder = lambda name, **kw: _FakeEmbedder()
    monkeypatch.setitem(sys.modules, "kcolor.models.embedders", fake)
    data = make_photos(tmp_path / "data", n=4, size=(16, 16))
    run = tmp_path / "run"
    args = ["train", "--model", "fusion", "--data", str(data), "-o", str(run), "--epochs", "1"]
    assert main([*args, "--size", "16", "--batch-size", "2", "--embedder", "fake", "-q"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["embedder"] == "fake" and config["args"]["embedding_dim"] == 5
    out = tmp_path / "out"
    assert colorize(data / "img0.png", out, model=run) == 0
    assert np.asarray(Image.open(out / "img0.png")).shape == (16, 16, 3)


@pytest.mark.parametrize(
    "argv, code",
    [
        (["colorize", "missing.jpg", "-o", "{tmp}/out"], 1),
        (["colorize", "missing.jpg", "-o", "{tmp}/out", "--model", "no-such-preset"], 2),
        (["evaluate", "{tmp}", "--model", "no-such-preset", "-o", "{tmp}/eval"], 2),
        (["evaluate", "{tmp}/missing", "-o", "{tmp}/eval"], 2),
        (["train", "--model", "beta", "--data", "{tmp}/missing", "-o", "{tmp}/run"], 2),
        (["train", "--model", "beta", "--data", "{tmp}", "-o", "{tmp}/run", "--init", "nope"], 2),
        (["train", "--model", "unet-lite0-photos", "--data", "{tmp}", "-o", "{tmp}/run"], 2),
        (["models"], 0),
    ],
)
def test_usage_errors_and_listings_need_no_torch(argv, code, tmp_path):
    """Fast start: these answer before torch and Keras are imported, and write nothing."""
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    script = (
        "import sys; from kcolor.cli import main; rc = main(sys.argv[1:]); "
        "print('LOADED', 'torch' in sys.modules or 'keras' in sys.modules); sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=120
    )
    assert "LOADED False" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == code, proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "run").exists()
