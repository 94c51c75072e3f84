"""Colorizer: any-size, any-mode photos in; same-size colour photos out, keeping the input's L."""

import numpy as np
import pytest
from PIL import Image

import kcolor
from kcolor import color
from kcolor.inference.colorizer import Colorizer, plan_outputs


def tiny_model(input_shape=(None, None, 1), saturated=False, seed=0):
    """A 2-stride fully-convolutional toy: encoded L in, encoded ab (tanh) out."""
    import keras

    from kcolor import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input(input_shape)
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inp)
    x = layers.UpSampling2D(2)(x)
    bias = keras.initializers.Constant([2.0, -2.0]) if saturated else "zeros"
    out = layers.Conv2D(2, 3, padding="same", activation="tanh", bias_initializer=bias)(x)
    return keras.Model(inp, out)


def fusion_model(dim=5):
    import keras

    from kcolor import layers

    inp = keras.Input((None, None, 1))
    emb = keras.Input((dim,))
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inp)
    e = keras.layers.Dense(4)(emb)
    e = keras.layers.Reshape((1, 1, 4))(e)
    x = keras.layers.Add()([x, e])  # broadcasts over H, W
    x = layers.UpSampling2D(2)(x)
    out = layers.Conv2D(2, 3, padding="same", activation="tanh")(x)
    return keras.Model([inp, emb], out)


class FakeEmbedder:
    """Stands in for an ImageNet classifier: deterministic 'probabilities' from the grey image."""

    name = "fake"
    embedding_dim = 5

    def __init__(self):
        self.calls = []

    def __call__(self, x):
        x = np.asarray(x.cpu() if hasattr(x, "cpu") else x)
        self.calls.append(x.shape)
        feats = np.stack([x.mean(axis=(1, 2, 3)) * k for k in range(1, 6)], axis=1)
        e = np.exp(feats - feats.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def photo(h, w, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (max(1, h // 4 + 1), max(1, w // 4 + 1), 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(base).resize((w, h), Image.BILINEAR))


def lightness(rgb):
    return color.rgb_to_lab(rgb)[..., 0]


@pytest.fixture(scope="module")
def fixed():
    return Colorizer(tiny_model((16, 16, 1), saturated=True), batch_size=4)


@pytest.fixture(scope="module")
def fixed_plain():
    return Colorizer(tiny_model((16, 16, 1)), batch_size=4)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (17, 31), (40, 24), (24, 40), (1000, 1500)])
def test_any_size_keeps_size_and_lightness(fixed, fixed_plain, shape):
    rgb = photo(*shape)
    if shape[0] * shape[1] > 10**6:  # large: the plain model (less out-of-gamut work), for speed
        out = fixed_plain.colorize(rgb)
        assert out.shape == (*shape, 3)
        assert np.abs(lightness(out) - lightness(rgb)).max() < 0.75
        return
    out = fixed.colorize(rgb)
    assert out.shape == (*shape, 3) and out.dtype == np.uint8
    # The saturated toy pushes colours far out of gamut; L must still be the input's.
    assert np.abs(lightness(out) - lightness(rgb)).max() < 0.75
    assert np.abs(color.rgb_to_lab(out)[..., 1:]).mean() > 10  # and it did colour it


def test_fully_convolutional_target_size_is_explicit():
    c = Colorizer(tiny_model(), input_size=None, max_side=64)
    assert c.target_size(1, 1) == (8, 8)
    assert c.target_size(30, 41) == (32, 40)
    assert c.target_size(1000, 1500) == (40, 64)  # longer side capped at 64, multiple of 8
    c = Colorizer(tiny_model(), input_size=24, keep_aspect=False)
    assert c.target_size(1000, 7) == (24, 24)
    c = Colorizer(tiny_model((16, 16, 1)), input_size=64)  # a fixed model wins
    assert c.input_size == (16, 16) and c.target_size(40, 80) == (16, 16)


def test_input_size_keeps_the_photos_aspect_ratio_by_default():
    c = Colorizer(tiny_model(), input_size=32)
    assert c.target_size(300, 300) == (32, 32)  # square photos: exactly input_size
    assert c.target_size(40, 80) == (24, 48)  # about 32*32 pixels, 1:2 like the photo
    assert c.target_size(80, 40) == (48, 24)
    assert c.target_size(1, 1000) == (8, 512)  # a sliver: the longer side is capped
    seen = []

    def spy(x):
        seen.append(tuple(x.shape))
        import torch

        return torch.zeros((*x.shape[:3], 2), dtype=x.dtype, device=x.device)

    c._predict = spy
    out = c.colorize([photo(40, 80), photo(80, 40), photo(45, 90)])
    assert [o.shape for o in out] == [(40, 80, 3), (80, 40, 3), (45, 90, 3)]
    assert sorted(seen) == [(1, 48, 24, 1), (2, 24, 48, 1)]  # grouped by model size


def test_fully_convolutional_any_size():
    c = Colorizer(tiny_model(saturated=True), max_side=32)
    for shape in [(1, 1), (5, 3), (33, 70)]:
        rgb = photo(*shape, seed=1)
        out = c.colorize(rgb)
        assert out.shape == (*shape, 3)
        assert np.abs(lightness(out) - lightness(rgb)).max() < 0.75


def test_modes_and_kinds_of_input(tmp_path, fixed):
    rgb = photo(20, 30)
    grey = Image.fromarray(rgb).convert("L")
    path = tmp_path / "g.png"
    grey.save(path)
    a = fixed.colorize(np.asarray(grey))  # 2-D uint8
    for other in [
        grey,  # PIL L
        grey.convert("RGB"),  # grey as RGB
        grey.convert("RGBA"),
        grey.convert("P"),
        np.asarray(grey)[..., None],  # (H, W, 1)
        np.asarray(grey).astype(np.float32) / 255.0,  # float in [0, 1]
        str(path),
        path,
    ]:
        np.testing.assert_array_equal(fixed.colorize(other), a)


def test_colour_input_is_reduced_to_its_lightness(fixed_plain):
    rgb = photo(32, 32, seed=3)
    grey = color.to_uint8(color.rgb_to_gray(rgb))
    # Same L (up to uint8 rounding of the grey copy) -> the same colours, whatever the input's
    # hue. The grey copy takes the fast path (ab dithered onto a 2-unit grid), so compare in
    # Lab: a 1-unit step in a or b can move a near-zero sRGB channel by many levels.
    lab_rgb = color.rgb_to_lab(fixed_plain.colorize(rgb))
    lab_grey = color.rgb_to_lab(fixed_plain.colorize(grey))
    delta_e = np.sqrt(((lab_rgb - lab_grey) ** 2).sum(-1))
    assert delta_e.mean() < 1.0 and np.percentile(delta_e, 99) < 3.0, delta_e.max()
    assert np.abs(lab_rgb[..., 0] - lab_grey[..., 0]).max() < 1.0


def test_batches_equal_one_by_one():
    c = Colorizer(tiny_model(), batch_size=3, max_side=48)
    images = [
        photo(h, w, seed=i)
        for i, (h, w) in enumerate([(20, 30), (30, 20), (20, 30), (7, 9), (64, 64)])
    ]
    batched = c.colorize(images)
    assert isinstance(batched, list) and len(batched) == len(images)
    for image, out in zip(images, batched, strict=True):
        np.testing.assert_allclose(out.astype(int), c.colorize(image).astype(int), atol=1)
    stack = np.stack([photo(16, 12, seed=i) for i in range(4)])
    outs = c.colorize(stack)
    assert outs.shape == stack.shape
    np.testing.assert_allclose(outs[2].astype(int), c.colorize(stack[2]).astype(int), atol=1)


def test_upsampled_colour_is_smooth_and_detail_comes_from_l():
    """A fine checkerboard survives: the model runs at 16x16 but L is full resolution."""
    c = Colorizer(tiny_model((16, 16, 1), saturated=True))
    board = ((np.indices((128, 128)).sum(0) % 2) * 200 + 30).astype(np.uint8)
    out = c.colorize(board)
    np.testing.assert_allclose(lightness(out), lightness(np.stack([board] * 3, -1)), atol=0.75)


def test_fusion_embedder_sees_the_grey_image():
    emb = FakeEmbedder()
    c = Colorizer(fusion_model(), embedder=emb, input_size=16, batch_size=2)
    outs = c.colorize([photo(20, 20), photo(9, 40, seed=2), photo(5, 5)])
    assert [o.shape for o in outs] == [(20, 20, 3), (9, 40, 3), (5, 5, 3)]
    # batches of 2; the 9x40 photo runs at its own aspect (8x32), so alone
    assert emb.calls == [(1, 16, 16, 1), (1, 8, 32, 1), (1, 16, 16, 1)]
    with pytest.raises(ValueError, match="embedder"):
        Colorizer(fusion_model())
    with pytest.raises(ValueError, match="single input"):
        Colorizer(tiny_model(), embedder=emb)


def test_colorize_files_streams_and_reports(tmp_path):
    c = Colorizer(tiny_model((16, 16, 1)), batch_size=2)
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for i, name in enumerate(["a.png", "b.jpg", "sub/a.png", "c.gif"]):
        Image.fromarray(photo(10 + i, 12, seed=i)).save(src / name)
    (src / "broken.png").write_bytes(b"not a png")
    (src / "notes.txt").write_text("hello")
    out = tmp_path / "out"
    res = c.colorize_files([src], out, recursive=True, progress=False)
    assert sorted(
        p.relative_to(out).as_posix() for p in map(__import__("pathlib").Path, res.written)
    ) == [
        "a.png",
        "b.jpg",
        "c.png",  # GIF out -> PNG
        "sub/a.png",
    ]
    assert [(p.split("/")[-1], "broken" in p) for p, _ in res.failed] == [("broken.png", True)]
    assert "corrupt" in res.failed[0][1]
    assert Image.open(out / "sub" / "a.png").size == (12, 12)
    # Again: nothing is overwritten, each existing output is reported.
    again = c.colorize_files([src], out, recursive=True, progress=False)
    assert again.written == [] and len(again.failed) == 5
    assert sum("exists" in r for _, r in again.failed) == 4
    forced = c.colorize_files([src / "a.png"], out, overwrite=True, progress=False)
    assert forced.written == [str(out / "a.png")] and forced.ok


def test_plan_outputs_never_clobbers_inputs_nor_escapes(tmp_path):
    d1, d2 = tmp_path / "x", tmp_path / "y"
    d1.mkdir()
    d2.mkdir()
    for d in (d1, d2):
        Image.fromarray(photo(4, 4)).save(d / "same.png")
    weird = d1 / "..bad:name?.png"
    Image.fromarray(photo(4, 4)).save(weird)
    res = kcolor.inference.colorizer.ColorizeResult()
    plan = plan_outputs(
        [d1 / "same.png", d2 / "same.png", weird, tmp_path / "nope.png"], tmp_path / "o", result=res
    )
    names = [dst.name for _, dst in plan]
    assert names == ["same.png", "same-2.png", "bad_name_.png"]
    assert all(dst.parent == tmp_path / "o" for _, dst in plan)
    assert res.failed == [(str(tmp_path / "nope.png"), "no such file or folder")]
    # Writing into the input folder without a suffix would overwrite the input: refused.
    res = kcolor.inference.colorizer.ColorizeResult()
    assert plan_outputs([d1 / "same.png"], d1, result=res) == []
    assert "overwrite an input" in res.failed[0][1]
    assert len(plan_outputs([d1 / "same.png"], d1, suffix="_color")) == 1
