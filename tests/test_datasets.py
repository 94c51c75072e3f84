"""kcolor.datasets: folder and array datasets, augmentation, skipping broken photos."""

import warnings

import numpy as np
import pytest
from corpus import colour_image
from PIL import Image

import kcolor
from conftest import shared_path
from kcolor import color, io
from kcolor.datasets import ArrayDataset, Augmenter, ImageFolderDataset
from kcolor.datasets.augment import resize_fill
from kcolor.datasets.folder import SkippedImageWarning, is_grey
from kcolor.errors import DataError


@pytest.fixture
def photos(tmp_path):
    """Seven colourful photos of assorted sizes and shapes (JPEG and PNG)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    shapes = [(40, 60), (60, 40), (48, 48), (30, 90), (64, 50), (33, 47), (50, 50)]
    for i, (h, w) in enumerate(shapes):
        ext = "jpg" if i % 2 else "png"
        Image.fromarray(colour_image(h, w, seed=i)).save(folder / f"p{i}.{ext}", quality=95)
    (folder / "readme.txt").write_text("not a photo")
    return folder


def test_shapes_dtypes_ranges(photos):
    ds = ImageFolderDataset(photos, size=(24, 32), batch_size=3)
    assert len(ds) == 3 and len(ds.paths) == 7
    for i, n in enumerate([3, 3, 1]):
        x, y = ds[i]
        assert x.shape == (n, 24, 32, 1) and y.shape == (n, 24, 32, 2)
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert -1.0 <= x.min() and x.max() <= 1.0 and np.abs(y).max() <= 1.0
    with pytest.raises(IndexError):
        ds[3]


def test_validation_equals_split_lab_of_resized_photo(photos):
    ds = ImageFolderDataset(sorted(photos.glob("p*")), size=16, batch_size=7)
    assert not ds.shuffle
    x, y = ds[0]
    for k, path in enumerate(ds.paths):
        # JPEGs are decoded at reduced scale by the DCT (draft_size): the same pipeline.
        want_x, want_y = color.split_lab(resize_fill(io.load_image(path, draft_size=32), 16))
        np.testing.assert_allclose(x[k], want_x, atol=1e-5)
        np.testing.assert_allclose(y[k], want_y, atol=1e-5)
        # ... and that shortcut changes little against decoding at full size.
        full_x, _ = color.split_lab(resize_fill(io.load_image(path), 16))
        assert np.abs(x[k] - full_x).mean() < 0.02


def test_augmentation_is_seeded_per_epoch_and_index(photos):
    a = ImageFolderDataset(photos, size=16, batch_size=4, augment=True, seed=3)
    b = ImageFolderDataset(photos, size=16, batch_size=4, augment=True, seed=3)
    assert a.shuffle
    late_first = b[1]  # worker order must not matter
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[1][1], late_first[1])
    first = a[0][0]
    a.on_epoch_end()
    assert a.epoch == 1
    assert not np.array_equal(a[0][0], first)
    assert sorted(a.order) == list(range(7))
    a.set_epoch(0)
    np.testing.assert_array_equal(a[0][0], first)
    c = ImageFolderDataset(photos, size=16, batch_size=4, augment=True, seed=4)
    assert not np.array_equal(c[0][0], first)


def test_augmenter_identity_and_flip():
    img = colour_image(32, 32)
    still = dict(rotation_range=0, zoom_range=0.0, shear_range=0, crop_scale=(1, 1))
    aug = Augmenter(32, horizontal_flip=False, **still)
    np.testing.assert_array_equal(aug(img, 0, 0), img)
    flips = Augmenter(32, horizontal_flip=True, **still)
    outs = [flips(img, 0, i) for i in range(8)]
    assert any((o == img[:, ::-1]).all() for o in outs) and any((o == img).all() for o in outs)
    busy = Augmenter(32, seed=1)
    a, b = busy(img, 0, 5), busy(img, 1, 5)
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8 and not np.array_equal(a, b)
    with pytest.raises(ValueError):
        Augmenter(32, fill_mode="wrap")


def test_corrupt_files_are_skipped_mid_epoch(photos):
    (photos / "zz_text.jpg").write_text("no photo here")
    good = (photos / "p1.jpg").read_bytes()
    (photos / "p3_truncated.jpg").write_bytes(good[: len(good) // 2])
    ds = ImageFolderDataset(photos, size=16, batch_size=3)
    assert len(ds.paths) == 9
    with pytest.warns(SkippedImageWarning) as caught:
        shapes = [ds[i][0].shape[0] for i in range(len(ds))]
    assert shapes == [3, 3, 3]
    names = sorted(p.name for p, _ in ds.skipped)
    assert names == ["p3_truncated.jpg", "zz_text.jpg"]
    assert {str(w.message).split(":")[0] for w in caught} == {
        str(photos / "p3_truncated.jpg"),
        str(photos / "zz_text.jpg"),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedImageWarning)  # reported only once
        ds.on_epoch_end()
        assert all(np.isfinite(ds[i][0]).all() for i in range(len(ds)))
    assert len(ds.skipped) == 2


def test_all_unreadable_is_a_data_error(tmp_path):
    (tmp_path / "a.jpg").write_text("x")
    ds = ImageFolderDataset(tmp_path, size=8, batch_size=1)
    with pytest.warns(SkippedImageWarning), pytest.raises(DataError, match="none of the 1"):
        ds[0]
    with pytest.raises(DataError, match="no readable images"):
        ImageFolderDataset(tmp_path / "empty_missing", size=8)


def test_drop_grey(photos):
    grey = colour_image(40, 40)[..., 1]
    Image.fromarray(np.repeat(grey[..., None], 3, -1)).save(photos / "grey_rgb.jpg", quality=90)
    Image.fromarray(grey, "L").save(photos / "grey_l.png")
    assert is_grey(io.load_image(photos / "grey_rgb.jpg"))
    assert not is_grey(io.load_image(photos / "p0.png"))
    ds = ImageFolderDataset(photos, size=16, drop_grey=True)
    assert len(ds.paths) == 7
    assert sorted(p.name for p, r in ds.skipped if "grey" in r) == ["grey_l.png", "grey_rgb.jpg"]


def test_only_grey_photos_are_named_grey_not_unreadable(tmp_path):
    grey = colour_image(40, 40)[..., 1]
    for i in range(3):
        Image.fromarray(np.roll(grey, i, 0), "L").save(tmp_path / f"g{i}.png")
    with pytest.raises(DataError, match=r"all 3 photos in .* are greyscale.*drop_grey=False keeps"):
        ImageFolderDataset(tmp_path, size=16, drop_grey=True)
    (tmp_path / "z.jpg").write_text("not a photo")
    with pytest.raises(
        DataError,
        match=r"no colour photos in .*: 3 greyscale .*1 unreadable: "
        r".*z.jpg \(not an image file",
    ):
        ImageFolderDataset(tmp_path, size=16, drop_grey=True)


def test_cache_skips_decoding_after_first_epoch(photos, monkeypatch):
    ds = ImageFolderDataset(photos, size=16, batch_size=4, augment=True, cache=True)
    calls = []
    real = io.load_image
    monkeypatch.setattr(io, "load_image", lambda p, **kw: calls.append(p) or real(p, **kw))
    first = [ds[i][1] for i in range(len(ds))]
    assert len(calls) == 7
    ds.on_epoch_end()
    second = [ds[i][1] for i in range(len(ds))]
    assert len(calls) == 7
    assert not np.array_equal(first[0], second[0])  # still augmented afresh


def test_fit_with_two_worker_threads(photos):
    import keras

    ds = ImageFolderDataset(photos, size=16, batch_size=2, augment=True, workers=2)
    model = keras.Sequential(
        [keras.Input((16, 16, 1)), keras.layers.Conv2D(2, 1, activation="tanh")]
    )
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert ds.epoch >= 2  # on_epoch_end ran after each epoch (and once before, in Keras 3)


def test_array_dataset():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 20, 30, 3), dtype=np.uint8)
    ds = ArrayDataset(images, batch_size=4)
    x, y = ds[0]
    assert x.shape == (4, 20, 30, 1) and y.shape == (4, 20, 30, 2) and len(ds) == 3
    want_x, want_y = color.split_lab(images[:4])
    np.testing.assert_allclose(x, want_x, atol=1e-5)
    np.testing.assert_allclose(y, want_y, atol=1e-5)
    resized = ArrayDataset(images, size=16, batch_size=5)
    assert resized[1][0].shape == (5, 16, 16, 1)
    floats = ArrayDataset(images / 255.0, batch_size=10)
    np.testing.assert_allclose(floats[0][0], ArrayDataset(images, batch_size=10)[0][0], atol=1e-5)
    aug = ArrayDataset(images, size=16, batch_size=5, augment=True, seed=2, repeat=2)
    assert len(aug) == 4 and sorted(aug.order) == sorted(list(range(10)) * 2)
    again = ArrayDataset(images, size=16, batch_size=5, augment=True, seed=2, repeat=2)
    np.testing.assert_array_equal(aug[3][1], again[3][1])
    torch_lab = ArrayDataset(images, batch_size=4, lab_backend="torch")[0]
    np.testing.assert_allclose(torch_lab[1], y, atol=1e-4)
    with pytest.raises(ValueError, match="N, H, W, 3"):
        ArrayDataset(images[..., 0])
    with pytest.raises(ValueError, match="augment=True needs"):
        ArrayDataset(images, augment=True)
    with pytest.raises(TypeError, match="unknown"):
        ArrayDataset(images, rotation=3)


def test_lazy_exports():
    assert kcolor.datasets.ImageFolderDataset is ImageFolderDataset
    assert kcolor.datasets.ArrayDataset is ArrayDataset


def test_shared_faces_first_batch():
    faces = shared_path("photos", "faces")
    ds = ImageFolderDataset(faces, size=64, batch_size=8, augment=True, workers=2)
    assert len(ds.paths) >= 700
    x, y = ds[0]
    assert x.shape == (8, 64, 64, 1) and y.shape == (8, 64, 64, 2)
    assert np.abs(y).max() > 0.02  # faces have colour
