"""Full resolution: the join of a photo's own L with low-resolution ab (kcolor.color), fast and
exact in L; colour-class models in the Colorizer."""

import tracemalloc

import numpy as np
import pytest
from PIL import Image

from kcolor import color
from kcolor.inference.colorizer import Colorizer


def big_grey(h, w):
    from skimage import data

    return np.asarray(Image.fromarray(data.astronaut()).convert("L").resize((w, h), Image.BICUBIC))


def smooth_ab(h, w, scale=60.0, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.standard_normal((4, 4, 2)).astype(np.float32) * scale
    return np.stack(
        [
            np.asarray(Image.fromarray(small[..., c], "F").resize((w, h), Image.BICUBIC))
            for c in (0, 1)
        ],
        -1,
    )


def lab_l(rgb):
    from skimage.color import rgb2lab

    return rgb2lab(rgb)[..., 0]


def test_keep_l_equals_lab_to_rgb_in_gamut_and_keeps_l_outside():
    import torch

    rng = np.random.default_rng(0)
    lab = np.stack(
        [rng.uniform(0, 100, 4000), rng.uniform(-128, 127, 4000), rng.uniform(-128, 127, 4000)], -1
    ).astype(np.float32)
    plain = color.lab_to_rgb(lab, clip=False)
    inside = ((plain >= 0) & (plain <= 1)).all(-1)
    assert 50 < inside.sum() < 3950  # both kinds are tested
    kept = color.lab_to_rgb_keep_l(lab)
    np.testing.assert_allclose(kept[inside], plain[inside], atol=1e-5)
    assert kept.min() >= 0 and kept.max() <= 1
    np.testing.assert_allclose(color.rgb_to_lab(kept)[..., 0], lab[..., 0], atol=0.02)
    # Clipping instead would have changed L: the test can fail.
    assert np.abs(color.rgb_to_lab(np.clip(plain, 0, 1))[..., 0] - lab[..., 0]).max() > 5
    # Desaturated, not recoloured: the chroma only shrinks.
    chroma = np.hypot(*color.rgb_to_lab(kept)[~inside][:, 1:].T)
    assert (chroma <= np.hypot(*lab[~inside][:, 1:].T) + 0.5).all()
    np.testing.assert_allclose(
        color.lab_to_rgb_keep_l(torch.from_numpy(lab)).numpy(), kept, atol=1e-4
    )


def test_grey_fast_path_matches_the_exact_path():
    grey = big_grey(300, 400)  # >= 2x the ab size: chroma at half resolution
    for h, w in [(300, 400), (60, 80), (17, 23)]:
        ab = smooth_ab(h, w, scale=40)
        fast = color.join_lightness(grey, ab)
        exact = color.join_lightness(np.repeat(grey[..., None], 3, -1), ab)  # RGB: exact path
        assert fast.shape == exact.shape == (300, 400, 3)
        lf, le = color.rgb_to_lab(fast), color.rgb_to_lab(exact)
        delta_e = np.sqrt(((lf - le) ** 2).sum(-1))
        assert delta_e.mean() < 1.0 and np.percentile(delta_e, 99) < 3.0, (h, w, delta_e.mean())
        assert np.abs(lf[..., 0] - le[..., 0]).max() < 0.8
    flat = np.zeros((5, 5, 2), np.float32) + [12.0, -30.0]  # on the grid: no dither, identical
    np.testing.assert_array_equal(
        color.join_lightness(grey, flat),
        color.join_lightness(np.repeat(grey[..., None], 3, -1), flat),
    )


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (33, 65), (301, 199)])
def test_any_size_and_odd_sides(shape):
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 256, shape, dtype=np.uint8)
    ab = smooth_ab(16, 16, scale=100)
    out = color.join_lightness(grey, ab)
    assert out.shape == (*shape, 3) and out.dtype == np.uint8
    assert np.abs(lab_l(out) - lab_l(np.repeat(grey[..., None], 3, -1))).max() < 0.75
    rgbx = color.join_lightness(grey, ab, rgbx=True)
    assert rgbx.shape == (*shape, 4) and (rgbx[..., 3] == 255).all()
    np.testing.assert_array_equal(rgbx[..., :3], out)


def test_12_megapixels_keep_l_in_little_memory():
    """A 4000x3000 grey photo: mean |dL| <= 0.5 against skimage, the saturated ab pushing many
    pixels out of gamut; memory besides the input and the RGBX output stays small."""
    grey = big_grey(3000, 4000)
    ab = smooth_ab(96, 128, scale=90)
    tracemalloc.start()
    out = color.join_lightness(grey, ab, rgbx=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 48e6 + 40e6, peak / 1e6  # the RGBX output (48 MB) and the work in strips
    s = (slice(None, None, 7), slice(None, None, 7))
    dl = np.abs(lab_l(out[s][..., :3]) - lab_l(np.repeat(grey[s][..., None], 3, -1)))
    assert dl.mean() <= 0.5 and dl.max() < 1.0, (dl.mean(), dl.max())
    assert np.abs(color.rgb_to_lab(out[s][..., :3])[..., 1:]).mean() > 10  # it did colour it


def _tiny(channels):
    import keras

    from kcolor import layers

    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 1))
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inp)
    return inp, x


def test_colour_class_models_are_decoded_with_the_temperature():
    import keras

    from kcolor.models.color_classes import ColorClassLogits

    inp, x = _tiny(4)
    model = keras.Model(inp, ColorClassLogits(output_stride=2)(x))
    warm = Colorizer(model, input_size=16)
    cool = Colorizer(model, input_size=16, temperature=0.05)
    assert warm.temperature is None and cool.temperature == 0.05
    assert warm.model.outputs[0].shape[-1] == 2
    grey = big_grey(40, 40)
    a, b = warm.colorize(grey), cool.colorize(grey)
    assert a.shape == b.shape == (40, 40, 3)
    assert np.abs(a.astype(int) - b.astype(int)).max() > 0  # the temperature matters
    assert np.abs(lab_l(a) - lab_l(np.repeat(grey[..., None], 3, -1))).max() < 0.75
    inp, x = _tiny(4)
    plain = keras.Model(inp, keras.layers.Conv2D(5, 1)(x))
    with pytest.raises(ValueError, match="neither encoded ab"):
        Colorizer(plain)


def test_multiple_rounds_the_model_side():
    import keras

    inp = keras.Input((None, None, 1))
    model = keras.Model(inp, keras.layers.Conv2D(2, 1, activation="tanh")(inp))
    c = Colorizer(model, input_size=128, multiple=32)
    h, w = c.target_size(3000, 4000)
    assert h % 32 == 0 and w % 32 == 0 and abs(h * w - 128 * 128) < 0.2 * 128 * 128
    assert c.colorize(np.zeros((45, 70), np.uint8)).shape == (45, 70, 3)
