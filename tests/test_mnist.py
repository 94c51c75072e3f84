"""Colour MNIST: the iso-luminant palette, the painting, loading and its errors."""

import numpy as np
import pytest

from conftest import shared_path
from kcolor import DataError, color
from kcolor.datasets import MNIST_PALETTE_AB, colored_mnist
from kcolor.datasets import mnist as mnist_mod


def _fake_npz(path, n_train=12, n_test=5, **override):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }
    arrays.update(override)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return path


def test_palette_is_iso_luminant_in_gamut_and_36_degrees_apart():
    p = MNIST_PALETTE_AB.astype(np.float64)
    assert p.shape == (10, 2)
    np.testing.assert_allclose(np.hypot(p[:, 0], p[:, 1]), 30.0, rtol=1e-6)
    hues = np.rad2deg(np.arctan2(p[:, 1], p[:, 0])) % 360
    np.testing.assert_allclose(hues, 36.0 * np.arange(10), atol=1e-4)
    lab = np.concatenate([np.full((10, 1), 60.0), p], axis=-1)
    rgb = color.lab_to_rgb(lab, clip=False)
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    # ...and same lightness: converting back gives L* = 60 for all ten.
    np.testing.assert_allclose(color.rgb_to_lab(rgb)[:, 0], 60.0, atol=1e-3)
    # every partial intensity m * colour stays in gamut too
    m = np.linspace(0, 1, 65)[:, None, None]
    lab_m = np.concatenate([np.broadcast_to(60 * m, (65, 10, 1)), m * p[None]], axis=-1)
    rgb_m = color.lab_to_rgb(lab_m, clip=False)
    assert rgb_m.min() >= -1e-9 and rgb_m.max() <= 1.0


def test_colorize_digits_values():
    img = np.zeros((2, 28, 28), np.uint8)
    img[:, 5, 5] = 255
    img[:, 6, 6] = 51  # m = 0.2
    d = mnist_mod.colorize_digits(img, np.array([3, 7]))
    assert d.x.shape == (2, 28, 28, 1) and d.y.shape == (2, 28, 28, 2)
    assert d.x.dtype == d.y.dtype == d.intensity.dtype == np.float32
    L = color.decode_l(d.x[..., 0])
    ab = color.decode_ab(d.y)
    assert L[0, 5, 5] == pytest.approx(60.0) and L[0, 0, 0] == pytest.approx(0.0)
    assert L[1, 6, 6] == pytest.approx(12.0, abs=1e-4)
    np.testing.assert_allclose(ab[0, 5, 5], MNIST_PALETTE_AB[3], atol=1e-4)
    np.testing.assert_allclose(ab[1, 6, 6], 0.2 * MNIST_PALETTE_AB[7], atol=1e-4)
    np.testing.assert_allclose(ab[:, 0, 0], 0.0)
    assert list(d.labels) == [3, 7]
    assert d.intensity[1, 6, 6] == pytest.approx(0.2)
    # The true colour image: black background, digit pixel at L=60 with colour 3.
    rgb = d.rgb()
    assert rgb.shape == (2, 28, 28, 3)
    np.testing.assert_allclose(rgb[:, 0, 0], 0.0, atol=1e-6)
    lab = color.rgb_to_lab(rgb[0, 5, 5])
    np.testing.assert_allclose(lab, [60.0, *MNIST_PALETTE_AB[3]], atol=1e-2)


def test_load_from_path_splits_and_limit(tmp_path):
    f = _fake_npz(tmp_path / "mnist.npz")
    train = colored_mnist("train", path=f)
    test = colored_mnist("test", path=f)
    assert len(train.labels) == 12 and len(test.labels) == 5
    a, b = colored_mnist("both", path=f, limit=3)
    assert a.x.shape == (3, 28, 28, 1) and b.y.shape == (3, 28, 28, 2)
    with np.load(f) as raw:
        np.testing.assert_allclose(a.intensity, raw["x_train"][:3] / 255.0, atol=1e-7)
        np.testing.assert_array_equal(b.labels, raw["y_test"][:3])


def test_kcolor_data_env(tmp_path, monkeypatch):
    (tmp_path / "mnist").mkdir()
    _fake_npz(tmp_path / "mnist" / "mnist.npz", n_test=4)
    monkeypatch.setenv("KCOLOR_DATA", str(tmp_path))
    assert len(colored_mnist("test").labels) == 4


@pytest.mark.parametrize(
    "override, words",
    [
        ({"y_test": None}, "missing arrays ['y_test']"),
        ({"x_train": np.zeros((12, 28, 27), np.uint8)}, "x_train should be uint8 (N, 28, 28)"),
        ({"x_test": np.zeros((5, 28, 28), np.float32)}, "x_test should be uint8"),
        ({"y_train": np.arange(11, dtype=np.uint8)}, "x_train has 12 images but y_train has 11"),
        ({"y_test": np.full(5, 12, np.uint8)}, "digits 0-9"),
    ],
)
def test_malformed_npz_raises_data_error_naming_the_file(tmp_path, override, words):
    f = _fake_npz(tmp_path / "bad.npz", **override)
    with pytest.raises(DataError) as err:
        colored_mnist("train", path=f)
    assert str(f) in str(err.value) and words in str(err.value)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="no such file.*KCOLOR_DATA"):
        colored_mnist(path=tmp_path / "nope.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="cannot read it as an npz"):
        colored_mnist(path=junk)


def test_offline_download_failure_is_a_clear_data_error(tmp_path, monkeypatch):
    import keras

    monkeypatch.setattr(mnist_mod, "_candidate_files", lambda path: [tmp_path / "absent.npz"])

    def offline():
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError, match="download failed.*network is unreachable.*path="):
        colored_mnist("test")


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        colored_mnist("valid")
    with pytest.raises(ValueError, match="limit"):
        colored_mnist("test", limit=0)


def test_real_mnist_from_shared_data():
    f = shared_path("mnist", "mnist.npz")
    (x_train, y_train), _ = mnist_mod.load_mnist(f)
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    test = colored_mnist("test", path=f)
    assert test.x.shape == (10000, 28, 28, 1) and test.y.shape == (10000, 28, 28, 2)
    assert np.bincount(test.labels, minlength=10).min() > 800
    # every digit has pixels of intensity >= 0.5 (the metrics rely on it)
    assert (test.intensity >= 0.5).any(axis=(1, 2)).all()
