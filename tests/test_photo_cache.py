"""kcolor.datasets.cache: photos decoded once into a memmap, and crops drawn from it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from kcolor.datasets.cache import CachedCrops, PhotoCache, build_photo_cache
from kcolor.errors import DataError


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache-photos")
    paths = []
    for i, img in enumerate([skdata.astronaut(), skdata.coffee(), skdata.chelsea()]):
        paths.append(root / f"{i}.jpg")
        Image.fromarray(img).save(paths[-1], quality=90)
    (root / "broken.jpg").write_bytes(b"not a photo")
    return root, [*paths, root / "broken.jpg"]


def test_build_reuse_and_skip(photos, tmp_path):
    _, paths = photos
    cache = build_photo_cache(paths, tmp_path / "c", side=48, workers=1, progress=False)
    assert cache.images.shape == (3, 48, 48, 3) and len(cache) == 3
    assert cache.header["skipped"][0][0].endswith("broken.jpg")
    # the centre square of the photo, resized: the astronaut's image equals a direct resize
    want = np.asarray(Image.open(paths[0]).resize((48, 48), Image.Resampling.BICUBIC))
    assert np.abs(cache.images[0].astype(int) - want).mean() < 6
    mtime = (tmp_path / "c.u8").stat().st_mtime_ns
    again = build_photo_cache(paths, tmp_path / "c", side=48, workers=1, progress=False)
    assert (tmp_path / "c.u8").stat().st_mtime_ns == mtime and len(again) == 3  # reused
    assert not list(tmp_path.glob("*.tmp"))


def test_damaged_cache_names_the_file(photos, tmp_path):
    _, paths = photos
    build_photo_cache(paths[:2], tmp_path / "c", side=32, workers=1, progress=False)
    with open(tmp_path / "c.u8", "r+b") as f:
        f.truncate(100)
    with pytest.raises(DataError, match=r"c\.u8: 100 bytes, expected 6144"):
        PhotoCache(tmp_path / "c")
    (tmp_path / "c.json").write_text("{}")
    with pytest.raises(DataError, match="not a kcolor photo cache"):
        PhotoCache(tmp_path / "c")


def test_crops_are_a_function_of_the_step(photos, tmp_path):
    _, paths = photos
    big = build_photo_cache(paths, tmp_path / "big", side=64, workers=1, progress=False)
    small = build_photo_cache(paths, tmp_path / "small", side=32, workers=1, progress=False)
    sources = [(big, 48, 1.0, 4), (small, 16, 2.0, 8)]
    a = CachedCrops(sources, steps=10, seed=3)
    b = CachedCrops(sources, steps=10, seed=3, start=4)  # a resumed run
    for i in range(6):
        np.testing.assert_array_equal(a.rgb_batch(i + 4), b.rgb_batch(i))
    shapes = {a.rgb_batch(i).shape for i in range(10)}
    assert shapes == {(4, 48, 48, 3), (8, 16, 16, 3)}
    fresh = CachedCrops(sources, steps=10, seed=3)
    for i in range(10):
        fresh.rgb_batch(i)
    assert fresh.seen == {
        48: 4 * sum(fresh.source_of(i) == 0 for i in range(10)),
        16: 8 * sum(fresh.source_of(i) == 1 for i in range(10)),
    }
    x, y = a[0]
    assert x.shape[-1] == 1 and y.shape[-1] == 2 and -1.0 <= x.min() and x.max() <= 1.0
    assert not np.array_equal(a.rgb_batch(0), CachedCrops(sources, steps=10, seed=4).rgb_batch(0))


def test_crops_are_not_blown_up(photos, tmp_path):
    """A 32-px cached photo cropped to 32 px is never a small part enlarged (max_upscale)."""
    _, paths = photos
    small = build_photo_cache(paths, tmp_path / "s", side=32, workers=1, progress=False)
    crops = CachedCrops([(small, 32, 1.0, 8)], steps=50, seed=0, max_upscale=1.0)
    for i in range(20):
        batch = crops.rgb_batch(i)
        # the whole square, maybe flipped: each crop equals the cached photo or its mirror
        for img in batch:
            assert any(
                np.array_equal(img, c) or np.array_equal(img, c[:, ::-1])
                for c in np.asarray(small.images)
            )
    with pytest.raises(DataError, match="non-empty source"):
        CachedCrops([(small, 32, 0.0, 8)])
