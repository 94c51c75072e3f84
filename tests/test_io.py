"""kcolor.io: every PIL mode, EXIF, alpha on white, size guard, clear errors, atomic saves."""

import os
import warnings

import numpy as np
import pytest
from corpus import (
    CAMERA,
    DATE_TAKEN,
    camera_jpeg,
    colour_image,
    fake_png_header,
    make_corpus,
    srgb_profile,
)
from PIL import Image

import kcolor
from conftest import shared_path
from kcolor import io
from kcolor.errors import ImageReadError, ImageWriteError

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"))


def _load_recording(path, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rgb = io.load_image(path, **kw)
    return rgb, [w for w in caught if issubclass(w.category, io.ExtensionMismatchWarning)]


def test_corpus_loads_as_expected(corpus):
    problems = []
    for name, (path, exp) in corpus.items():
        expect = exp["load"]
        if exp.get("root_ok") and IS_ROOT:
            expect = "ok"
        try:
            rgb, mismatch = _load_recording(path)
        except ImageReadError as e:
            if expect != "error":
                problems.append(f"{name}: unexpected error {e}")
            elif exp["reason"] not in e.reason.lower():
                problems.append(f"{name}: reason {e.reason!r} lacks {exp['reason']!r}")
            elif e.path != os.fspath(path) or os.fspath(path) not in str(e):
                problems.append(f"{name}: error does not name the file: {e}")
            continue
        if expect == "error":
            problems.append(f"{name}: loaded but should raise ({exp['reason']})")
            continue
        if rgb.dtype != np.uint8 or rgb.shape != tuple(exp["shape"]):
            problems.append(f"{name}: got {rgb.dtype} {rgb.shape}, want uint8 {exp['shape']}")
            continue
        if (expect == "warn") != bool(mismatch):
            problems.append(f"{name}: mismatch warnings {mismatch}, expected {expect}")
        if mismatch and (os.fspath(path) not in str(mismatch[0].message)):
            problems.append(f"{name}: warning does not name the file")
        for (r, c), want in exp.get("pixels", {}).items():
            got = rgb[r, c].astype(int)
            if np.abs(got - np.array(want, int)).max() > exp.get("atol", 0):
                problems.append(f"{name}: pixel {(r, c)} = {tuple(got)}, want {tuple(want)}")
    assert not problems, "\n".join(problems)


@pytest.mark.skipif(IS_ROOT, reason="root reads chmod-000 files; permission errors can't happen")
def test_permission_denied_names_file(corpus):
    path = corpus["unreadable.png"][0]
    with pytest.raises(ImageReadError, match="permission denied") as info:
        io.load_image(path)
    assert info.value.path == os.fspath(path)


def test_permission_error_is_reported_even_as_root(tmp_path, monkeypatch):
    path = tmp_path / "locked.png"
    Image.fromarray(colour_image(4, 4)).save(path)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(io.reading, "open", denied, raising=False)  # shadows the builtin there
    with pytest.raises(ImageReadError, match="permission denied"):
        io.load_image(path)


def test_strict_extension_raises(corpus):
    path = corpus["png_named.jpg"][0]
    with pytest.raises(ImageReadError, match="content is PNG"):
        io.load_image(path, strict_extension=True)
    # Honest files are fine under strict mode.
    assert io.load_image(corpus["rgb.jpg"][0], strict_extension=True).shape == (24, 32, 3)


def test_pixel_limit_checked_from_header_before_decoding(tmp_path, monkeypatch):
    # 5000x5000 is under PIL's own limits; the file holds no real pixel data, so any
    # attempt to decode would fail with "truncated" instead of our limit message.
    path = tmp_path / "big.png"
    path.write_bytes(fake_png_header(5000, 5000))
    with pytest.raises(ImageReadError, match="over the limit of 1,000,000"):
        io.load_image(path, max_pixels=1_000_000)
    monkeypatch.setattr(io.reading, "DEFAULT_MAX_PIXELS", 10_000)
    with pytest.raises(ImageReadError, match="decompression bomb"):
        io.load_image(path)
    assert io.image_size(path, max_pixels=0) == (5000, 5000)
    # With the limit lifted, decoding is attempted and fails for the missing data.
    with pytest.raises(ImageReadError, match="truncated|corrupt"):
        io.load_image(path, max_pixels=0)


def test_max_pixels_env(monkeypatch):
    monkeypatch.setenv("KCOLOR_MAX_PIXELS", "1234")
    assert io.reading._env_max_pixels() == 1234
    monkeypatch.delenv("KCOLOR_MAX_PIXELS")
    assert io.reading._env_max_pixels() == 2 * 89_478_485


def test_draft_size_decodes_jpeg_smaller(tmp_path):
    path = tmp_path / "big.jpg"
    Image.fromarray(colour_image(400, 640)).save(path, quality=90)
    full = io.load_image(path)
    small = io.load_image(path, draft_size=(100, 100))
    assert full.shape == (400, 640, 3)
    assert small.shape == (100, 160, 3)  # 1/4 scale keeps both sides >= 100


# ------------------------------------------------------------------ as_rgb
AS_RGB_CASES = [
    (np.zeros((5, 7), np.uint8), (5, 7, 3)),
    (np.zeros((5, 7, 1), np.float32), (5, 7, 3)),
    (np.ones((5, 7, 3), np.float64), (5, 7, 3)),
    (np.zeros((5, 7, 4), np.uint8), (5, 7, 3)),
    (np.full((5, 7), 65535, np.uint16), (5, 7, 3)),
    (np.ones((5, 7), bool), (5, 7, 3)),
]


@pytest.mark.parametrize("size", [(1, 1), (7, 3), (640, 481), (4000, 3000)])
def test_grey_array_equals_numpy_and_is_writable(size, monkeypatch):
    from kcolor.io.pixels import grey_array

    rng = np.random.default_rng(sum(size))
    pixels = rng.integers(0, 256, size[::-1], dtype=np.uint8)
    im = Image.fromarray(pixels).copy()  # Pillow's own buffer, not the array's
    out = grey_array(im)
    assert out.flags.writeable and out.dtype == np.uint8
    np.testing.assert_array_equal(out, pixels)
    out[0, 0] ^= 1  # the copy is the caller's: the image is untouched
    assert im.getpixel((0, 0)) == pixels[0, 0]

    # the plain copy when Pillow cannot share the buffer
    def refuse(*args, **kwargs):
        raise ValueError("no shared buffer")

    monkeypatch.setattr(Image, "frombuffer", refuse)
    np.testing.assert_array_equal(grey_array(im), pixels)


def test_grey_jpeg_loads_as_numpy_decodes_it(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (301, 403), dtype=np.uint8)
    path = tmp_path / "grey.jpg"
    Image.fromarray(pixels).save(path, quality=90)
    out = io.load_image(path, keep_grey=True)
    with Image.open(path) as im:
        np.testing.assert_array_equal(out, np.asarray(im))
    assert out.shape == (301, 403) and out.flags.writeable


def test_as_rgb_arrays():
    for array, shape in AS_RGB_CASES:
        out = io.as_rgb(array)
        assert out.dtype == np.uint8 and out.shape == shape, (array.shape, array.dtype)


def test_as_rgb_values():
    assert (io.as_rgb(np.ones((2, 2, 3))) == 255).all()
    assert (io.as_rgb(np.full((2, 2), 65535, np.uint16)) == 255).all()
    rgba = np.zeros((2, 2, 4), np.uint8)  # fully transparent black -> white
    assert (io.as_rgb(rgba) == 255).all()
    import torch

    assert io.as_rgb(torch.zeros(3, 4, 3)).shape == (3, 4, 3)


def test_as_rgb_bad_shapes():
    for bad in [np.zeros((5,)), np.zeros((5, 7, 2)), np.zeros((2, 5, 7, 3)), np.zeros((0, 3, 3))]:
        with pytest.raises(ValueError, match="shape"):
            io.as_rgb(bad)


def test_as_rgb_bad_ranges():
    with pytest.raises(ValueError, match="divide by 255"):
        io.as_rgb(np.full((3, 3, 3), 200.0))
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        io.as_rgb(np.full((3, 3, 3), 300, np.int32))


@pytest.mark.parametrize(
    "mode", ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]
)
def test_as_rgb_every_pil_mode(mode):
    base = Image.fromarray(colour_image(6, 8))
    if mode == "I;16":
        im = Image.fromarray((np.asarray(base.convert("L"), np.uint16) * 257).astype(np.uint16))
    elif mode == "I":
        im = Image.fromarray(np.asarray(base.convert("L"), np.int32) * 257, "I")
    elif mode == "F":
        im = Image.fromarray(np.asarray(base.convert("L"), np.float32) / 255.0, "F")
    else:
        im = base.convert(mode)
    assert im.mode == mode
    out = io.as_rgb(im)
    assert out.dtype == np.uint8 and out.shape == (6, 8, 3)
    if mode in ("L", "I;16", "I", "F", "LA"):
        want = np.asarray(base.convert("L"))
        assert np.abs(out[..., 0].astype(int) - want).max() <= 1
        assert (out[..., 0] == out[..., 2]).all()


def test_float_image_outside_unit_range_is_stretched():
    im = Image.fromarray(np.array([[-5.0, 0.0], [5.0, 15.0]], np.float32), "F")
    out = io.as_rgb(im)[..., 0]
    assert out[0, 0] == 0 and out[1, 1] == 255 and 0 < out[1, 0] < 255


# ------------------------------------------------------------------ save_image
def test_save_image_round_trip_and_no_overwrite(tmp_path):
    rgb = colour_image(10, 12)
    path = tmp_path / "a" / "b" / "out.png"
    written = io.save_image(path, rgb)
    assert written == path and (io.load_image(path) == rgb).all()
    before = path.read_bytes()
    with pytest.raises(ImageWriteError, match="exists") as info:
        io.save_image(path, np.zeros_like(rgb))
    assert info.value.path == os.fspath(path)
    assert path.read_bytes() == before
    io.save_image(path, np.zeros_like(rgb), overwrite=True)
    assert (io.load_image(path) == 0).all()
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.png"]  # no temp debris


def test_save_image_formats(tmp_path):
    rgb = colour_image(16, 16)
    for ext in [".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"]:
        path = io.save_image(tmp_path / f"x{ext}", rgb.astype(np.float32) / 255.0)
        with Image.open(path) as im:
            assert im.format == io.formats._EXT_FORMAT[ext]
        assert np.abs(io.load_image(path).astype(int) - rgb).max() <= 30, ext


def test_save_image_cleans_up_on_failure(tmp_path, monkeypatch):
    def boom(self, fp, format=None, **kw):
        fp.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(ImageWriteError, match="No space left"):
        io.save_image(tmp_path / "x.png", colour_image(4, 4))
    assert list(tmp_path.iterdir()) == []


def test_save_image_bad_extension(tmp_path):
    with pytest.raises(ImageWriteError, match="extension"):
        io.save_image(tmp_path / "x.xyz", colour_image(4, 4))


# ------------------------------------------------------------------ find / iter
def test_find_images(corpus, tmp_path):
    folder = corpus["rgb.png"][0].parent
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    Image.fromarray(colour_image(4, 4)).save(tmp_path / "sub" / "deep.png")
    Image.fromarray(colour_image(4, 4)).save(tmp_path / "b.png")
    Image.fromarray(colour_image(4, 4)).save(tmp_path / "A.JPG")
    paths, skipped = io.find_images([tmp_path, tmp_path / "missing.png", tmp_path / "notes.txt"])
    assert [p.name for p in paths] == ["A.JPG", "b.png", "notes.txt"]
    assert skipped == [(tmp_path / "missing.png", "not found")]
    paths, _ = io.find_images(tmp_path, recursive=True)
    assert [p.name for p in paths] == ["A.JPG", "b.png", "deep.png"]

    paths, skipped = io.find_images(folder)
    names = {p.name for p in paths}
    assert "folder.jpg" not in names and "rgb.png" in names and "zero_bytes.jpg" in names
    assert [(p.name, r) for p, r in skipped] == [
        ("broken_link.jpg", "broken symbolic link (its target does not exist)")
    ]
    assert paths == sorted(paths, key=lambda p: p.name)
    _, skipped = io.find_images(corpus["broken_link.jpg"][0])
    assert "broken" in skipped[0][1]


def test_iter_images_is_lazy_and_reports_skips(corpus, monkeypatch):
    folder = corpus["rgb.png"][0].parent
    stream = io.iter_images(folder)
    calls = []
    real = io.load_image
    monkeypatch.setattr(io.stream, "load_image", lambda p, **kw: calls.append(p) or real(p, **kw))
    it = iter(stream)
    next(it)
    assert 1 <= len(calls) <= 2  # one image decoded per step, not the whole folder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", io.ExtensionMismatchWarning)
        got = {p.name for p, rgb in stream}
    want = {n for n, (_, e) in corpus.items() if e["load"] != "error"}
    if IS_ROOT:
        want.add("unreadable.png")
    assert got == want
    skipped = {p.name: reason for p, reason in stream.skipped}
    errors = {n for n, (_, e) in corpus.items() if e["load"] == "error"} - {"folder.jpg"}
    if IS_ROOT:
        errors.discard("unreadable.png")
    assert set(skipped) == errors
    assert "empty" in skipped["zero_bytes.jpg"]


def test_lazy_module_attribute():
    assert kcolor.io is io


def test_article_alpha_photos_load_with_warning():
    folder = shared_path("article", "alpha")
    for name in ("man.jpg", "woman.jpg", "swim.jpg"):
        rgb, mismatch = _load_recording(folder / name)
        assert rgb.shape == (400, 400, 3) and rgb.dtype == np.uint8
        assert mismatch and "PNG" in str(mismatch[0].message)


# ---------------------------------------------------------------- metadata (issue 27.8)
@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif"])
def test_exif_and_icc_profile_carried_into_saved_images(tmp_path, ext):
    """Date taken, camera and the ICC profile survive load -> save; Orientation does not
    (the pixels come back upright, so an Orientation 6 would turn them a second time)."""
    src = camera_jpeg(tmp_path / "camera.jpg")
    meta = {}
    rgb = io.load_image(src, metadata=meta)
    assert rgb.shape == (30, 20, 3) and rgb[:6, -6:].min() > 200  # turned: block top right
    assert set(meta) == {"exif", "icc_profile"}
    out = io.save_image(tmp_path / f"out{ext}", rgb, **meta)
    with Image.open(out) as im:
        exif = im.getexif()
        assert exif.get(0x0110) == CAMERA and exif.get(0x0112) in (None, 1)
        assert exif.get_ifd(0x8769).get(0x9003) == DATE_TAKEN
        assert im.info.get("icc_profile") == srgb_profile()
        assert im.size == (20, 30)
    # Read back, it is upright as it is: not turned again.
    np.testing.assert_array_equal(io.load_image(out)[:6, -6:] > 200, True)


def test_metadata_only_when_asked_and_bmp_cannot_hold_it(tmp_path):
    src = camera_jpeg(tmp_path / "camera.jpg")
    meta = {}
    rgb = io.load_image(src, metadata=meta)
    assert io.holds_metadata("x.jpg") and io.holds_metadata("x.PNG")
    assert not io.holds_metadata("x.bmp")
    out = io.save_image(tmp_path / "out.bmp", rgb, **meta)  # written, without metadata
    with Image.open(out) as im:
        assert not len(im.getexif()) and "icc_profile" not in im.info
    plain = {}
    io.load_image(tmp_path / "out.bmp", metadata=plain)
    assert plain == {}


# ---------------------------------------------------------------- the package's pieces
# Colours whose grey version rounds differently from uint8 (exact table) and from float
# input (float powers): grey_version must keep each caller's result as it was.
_ROUNDING_EDGE = np.array([[0, 40, 252], [0, 190, 146], [0, 224, 199], [2, 189, 72]], np.uint8)


def test_grey_version_is_the_old_expression_for_uint8_and_float_input():
    from kcolor import color, evaluation

    rng = np.random.default_rng(0)
    photo = np.concatenate([rng.integers(0, 256, (500, 3)), _ROUNDING_EDGE]).astype(np.uint8)
    photo = photo.reshape(1, -1, 1, 3)
    as_float = photo.astype(np.float32) / 255.0
    old_uint8 = color.to_uint8(color.rgb_to_gray(photo))  # kcolor evaluate's grey
    old_float = color.to_uint8(color.rgb_to_gray(as_float))  # kcolor train's, the examples'
    assert not np.array_equal(old_uint8, old_float)  # the edge colours tell them apart
    np.testing.assert_array_equal(io.grey_version(photo), old_uint8)
    np.testing.assert_array_equal(io.grey_version(as_float), old_float)
    np.testing.assert_array_equal(evaluation.grey_version(photo[0]), old_uint8[0])
    np.testing.assert_array_equal(io.grey_version(photo.tolist()), old_uint8)
    grey = io.grey_version(photo)
    spread = grey.max(-1).astype(int) - grey.min(-1)  # a = b = 0, up to float rounding
    assert grey.dtype == np.uint8 and spread.max() <= 1


def test_find_photos_raises_in_the_words_of_a_command(tmp_path):
    from kcolor.errors import DataError

    (tmp_path / "sub").mkdir()
    Image.fromarray(colour_image(4, 4)).save(tmp_path / "sub" / "a.png")
    with pytest.raises(DataError, match=r"no images found in .* \(--recursive looks"):
        io.find_photos(tmp_path)
    with pytest.raises(DataError, match="missing: no such file or folder"):
        io.find_photos([tmp_path / "missing"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no images found") as err:
        io.find_photos(empty, recursive=True)
    assert "--recursive" not in str(err.value)
    paths, skipped = io.find_photos([tmp_path, tmp_path / "missing"], recursive=True)
    assert paths == [tmp_path / "sub" / "a.png"]
    assert skipped == [(tmp_path / "missing", "not found")]


def test_the_package_keeps_every_old_name_and_each_piece_stays_small():
    import importlib
    from pathlib import Path

    old = [
        "DEFAULT_MAX_PIXELS", "IMAGE_EXTENSIONS", "METADATA_FORMATS",
        "ExtensionMismatchWarning", "ImageStream", "as_rgb", "atomic_path",
        "atomic_write_bytes", "find_images", "holds_metadata", "image_size", "iter_images",
        "load_image", "save_image",
    ]  # fmt: skip
    assert not [name for name in old if name not in io.__all__ or not hasattr(io, name)]
    for path in sorted(Path(io.__file__).parent.glob("*.py")):
        module = importlib.import_module(f"kcolor.io.{path.stem}".removesuffix(".__init__"))
        assert len(path.read_text().splitlines()) <= 500, path
        for name in getattr(module, "__all__", ()):
            assert hasattr(module, name), (path.stem, name)
