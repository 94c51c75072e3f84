"""The colour-MNIST examples run end to end with --smoke (on a small generated mnist.npz)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fake_mnist(tmp_path_factory):
    """160 train / 64 test 'digits': a bar whose angle depends on the label (no real MNIST needed)."""
    rng = np.random.default_rng(0)

    def digits(n):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        img = np.zeros((n, 28, 28), np.uint8)
        t = np.linspace(-9, 9, 40)
        for i, d in enumerate(labels):
            a = np.deg2rad(18 * d)
            r = np.clip(np.round(14 + t * np.sin(a)).astype(int), 0, 27)
            c = np.clip(np.round(14 + t * np.cos(a)).astype(int), 0, 27)
            img[i, r, c] = 255
        return img, labels

    (xa, ya), (xb, yb) = digits(160), digits(64)
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    np.savez(path, x_train=xa, y_train=ya, x_test=xb, y_test=yb)
    return path


def _run(script, out, data, capsys, *extra):
    """Run an example's main() in this process (no second keras import): its stdout."""
    spec = importlib.util.spec_from_file_location(script[:-3], REPO / "examples" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--smoke", "--data", str(data), "--out", str(out), *extra])
    return capsys.readouterr().out


def _check_run(out):
    for name in ("config.json", "history.csv", "metrics.json", "report.html", "model.weights.h5"):
        assert (out / name).is_file(), name
    scores = json.loads((out / "metrics.json").read_text())
    for key in ("digit_color_accuracy", "pixel_color_accuracy"):
        assert 0.0 <= scores[key] <= 1.0
    return scores


@pytest.mark.slow
@pytest.mark.parametrize("script", ["01_dense_mnist.py", "03_batchnorm_mnist.py"])
def test_single_model_examples(script, tmp_path, fake_mnist, capsys):
    stdout = _run(script, tmp_path / "run", fake_mnist, capsys)
    assert "digit colour accuracy" in stdout and "pixel colour accuracy" in stdout
    _check_run(tmp_path / "run")
    assert (tmp_path / "run" / "samples.png").is_file()


@pytest.mark.slow
def test_cnn_example_compares_losses(tmp_path, fake_mnist, capsys):
    import pandas as pd

    stdout = _run("02_cnn_mnist.py", tmp_path / "run", fake_mnist, capsys)
    table = pd.read_csv(tmp_path / "run" / "metrics.csv", index_col="loss")
    assert list(table.index) == ["mse", "saturation", "perceptual"]
    assert {"digit_color_accuracy", "pixel_color_accuracy", "chroma_ratio"} <= set(table.columns)
    for name in table.index:
        _check_run(tmp_path / "run" / name)
        assert f"{name}: test digit colour accuracy" in stdout
    assert (tmp_path / "run" / "samples.png").is_file()


@pytest.mark.slow
def test_seeds_trains_once_per_seed_and_prints_the_spread(tmp_path, fake_mnist, capsys):
    import pandas as pd

    stdout = _run("01_dense_mnist.py", tmp_path / "run", fake_mnist, capsys, "--seeds", "3", "4")
    table = pd.read_csv(tmp_path / "run" / "seeds.csv")
    assert list(table["seed"]) == [3, 4]
    for seed in (3, 4):
        _check_run(tmp_path / "run" / f"seed-{seed}")
        config = json.loads((tmp_path / "run" / f"seed-{seed}" / "config.json").read_text())
        assert config["seed"] == seed
    assert "2 seeds [3, 4]: digit colour accuracy" in stdout and " ± " in stdout


@pytest.mark.slow
def test_one_seed_gives_the_same_run_twice(tmp_path, fake_mnist, capsys):
    """The seed is set before the model is built, so it fixes the initial weights too."""
    from kcolor.models import linear

    weights = []
    for run in ("a", "b"):
        _run("01_dense_mnist.py", tmp_path / run, fake_mnist, capsys, "--seed", "5")
        model = linear(weights=tmp_path / run / "model.weights.h5")
        weights.append([w.numpy() for w in model.weights])
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))
