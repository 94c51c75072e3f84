"""Colour hints: points and scribbles spread along the photo's regions, L kept, no hints = as before."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from kcolor import color
from kcolor.errors import HintError
from kcolor.inference import hints as H
from kcolor.inference.colorizer import Colorizer
from kcolor.inference.hints_solver import DEFAULT_EPS, HINT_WEIGHT, Propagator


def tiny_model(seed=0):
    import keras

    from kcolor import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input((None, None, 1))
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inp)
    x = layers.UpSampling2D(2)(x)
    out = layers.Conv2D(2, 3, padding="same", activation="tanh")(x)
    return keras.Model(inp, out)


@pytest.fixture(scope="module")
def colorizer():
    return Colorizer(tiny_model(), max_side=64, multiple=8)


def two_halves(h=64, w=96):
    """Dark left half, bright right half: a strong vertical edge at x = w / 2."""
    photo = np.full((h, w), 100, np.uint8)
    photo[:, w // 2 :] = 220
    return photo


def hex_of_lab(L, a, b):
    rgb = color.lab_to_rgb(np.array([[[L, a, b]]], np.float32))[0, 0]
    return "#" + "".join(f"{int(round(v * 255)):02x}" for v in np.clip(rgb, 0, 1))


RED_ISH = hex_of_lab(45.0, 25.0, 30.0)


def ab_of(rgb):
    return color.rgb_to_lab(rgb)[..., 1:]


def test_no_hints_is_exactly_todays_output(colorizer):
    photo = two_halves()
    rgb = np.stack([photo, photo // 2 + 40, photo], axis=-1)
    for p in (photo, rgb):
        today = colorizer.colorize(p)
        assert np.array_equal(colorizer.colorize(p, hints=None), today)
        assert np.array_equal(colorizer.colorize(p, hints=[]), today)
    batch = colorizer.colorize([photo, rgb], hints=[None, []])
    assert np.array_equal(batch[0], colorizer.colorize(photo))


def test_hint_colours_its_region_and_stops_at_a_strong_edge(colorizer):
    photo = two_halves()
    plain = colorizer.colorize(photo)
    out = colorizer.colorize(photo, hints=[(10, 30, RED_ISH)])
    ab = ab_of(out)
    left = ab[:, :46].reshape(-1, 2)
    # the whole dark half, even 35 pixels from the hint, takes the hint's ab ...
    np.testing.assert_allclose(left.mean(0), [25.0, 30.0], atol=2.5)
    assert np.abs(left - [25.0, 30.0]).max() < 6
    # ... and the bright half beyond the edge keeps the network's colours
    beyond = np.abs(ab[:, 50:] - ab_of(plain)[:, 50:])
    assert beyond.mean() < 0.5 and np.percentile(beyond, 99) < 3  # uint8 and dither rounding
    # (the network's colours were far from the hint's: the test can fail)
    assert np.abs(ab_of(plain)[:, :46].reshape(-1, 2).mean(0) - [25.0, 30.0]).max() > 10


def test_lightness_is_kept(colorizer):
    photo = two_halves()
    out = colorizer.colorize(photo, hints=[(10, 30, "#2050d0"), (80, 10, "#20c040")])
    L_in = color.rgb_to_lab(np.repeat(photo[..., None], 3, -1))[..., 0]
    assert np.abs(color.rgb_to_lab(out)[..., 0] - L_in).max() < 0.6  # uint8 rounding
    assert not np.array_equal(out, colorizer.colorize(photo))


def test_hints_on_a_large_photo_work_at_the_working_size(colorizer):
    photo = np.full((300, 1100), 90, np.uint8)  # the working size is 512 x 140
    photo[:, 700:] = 230
    out = colorizer.colorize(photo, hints=[{"x": 100, "y": 150, "color": RED_ISH, "radius": 4}])
    assert out.shape == (300, 1100, 3)
    # near the hint the dark part takes its colour; the reach fades over ~100 working pixels
    np.testing.assert_allclose(ab_of(out)[100:200, 60:140].reshape(-1, 2).mean(0), [25, 30], atol=3)
    far = np.abs(ab_of(out)[:, 750:] - ab_of(colorizer.colorize(photo))[:, 750:])
    assert far.mean() < 0.5 and np.percentile(far, 99) < 3  # uint8 and dither rounding


def test_stroke_and_scribble_agree(colorizer):
    photo = two_halves()
    stroke = [{"points": [[5, 20], [30, 20], [30, 40]], "color": RED_ISH, "radius": 2}]
    scribble = np.zeros((64, 96, 4), np.uint8)
    scribble[18:23, 5:31] = [*H.parse_color(RED_ISH), 255]
    scribble[18:41, 28:33] = [*H.parse_color(RED_ISH), 255]
    a = ab_of(colorizer.colorize(photo, hints=stroke))[:, :46]
    b = ab_of(colorizer.colorize(photo, hints=scribble))[:, :46]
    np.testing.assert_allclose(a.mean((0, 1)), b.mean((0, 1)), atol=1.5)
    rgb_scribble = np.zeros((64, 96, 3), np.uint8)  # no alpha: coloured pixels are hints
    rgb_scribble[18:23, 5:31] = H.parse_color(RED_ISH)
    c = ab_of(colorizer.colorize(photo, hints=rgb_scribble))[:, :46]
    np.testing.assert_allclose(c.mean((0, 1)), [25, 30], atol=2.5)


@pytest.mark.parametrize(
    "hints, message",
    [
        ([(96, 10, "#ff0000")], "hint 1: the point (96, 10) is outside the 96x64 photo"),
        ([(5, 5, "#fff"), (-1, 10, "#ff0000")], "hint 2: the point (-1, 10) is outside"),
        ([(5, 5, "crimson")], "hint 1: cannot parse the colour 'crimson'"),
        ([(5, 5, (300, 0, 0))], "is not 3 numbers from 0 to 255"),
        ([(5, 5, "#ff0000")] * 501, "too many hint points: more than 500"),
        ([{"x": 5, "color": "#ff0000"}], "hint 1: it needs 'x' and 'y'"),
        ([{"x": 5, "y": 5}], "hint 1: it has no 'color'"),
        ([(5, "a", "#ff0000")], "hint 1: y must be a number"),
        ("[1, 2", "the hints are not valid JSON"),
        (np.zeros((10, 10, 4), np.uint8), "the scribble is 10x10, the photo 96x64"),
    ],
)
def test_bad_hints_are_refused_naming_the_problem(colorizer, hints, message):
    with pytest.raises(HintError, match=None) as info:
        colorizer.colorize(two_halves(), hints=hints)
    assert message in str(info.value)


def test_json_hints_parse_like_tuples():
    text = json.dumps([{"x": 3, "y": 4, "color": "#c0392b"}, [7, 8, "#00ff00", 2.5]])
    a, b = H.parse_hints(text, 20, 10)
    assert a == H.Hint(((3.0, 4.0),), (192, 57, 43), None)
    assert b == H.Hint(((7.0, 8.0),), (0, 255, 0), 2.5)


def test_propagator_matches_a_direct_solve():
    rng = np.random.default_rng(0)
    L = np.kron(rng.uniform(0, 100, (6, 8)), np.ones((12, 12)))  # blocks with edges
    mask = np.zeros(L.shape, bool)
    mask[rng.integers(0, 72, 12), rng.integers(0, 96, 12)] = True
    target = rng.uniform(-50, 50, (*L.shape, 2))
    prop = Propagator(L)
    got = prop.solve(mask, target, tol=1e-3, max_iter=500)
    A = (prop.laplacian + sp.diags(DEFAULT_EPS + HINT_WEIGHT * mask.ravel())).tocsc()
    b = np.zeros((L.size, 2))
    b[mask.ravel()] = HINT_WEIGHT * target.reshape(-1, 2)[mask.ravel()]
    want = spla.spsolve(A, b).reshape(got.shape)
    np.testing.assert_allclose(got, want, atol=0.5)  # values up to 50
    assert np.abs(got - want).mean() < 0.05
    assert not prop.solve(np.zeros(L.shape, bool), target).any()


def test_hint_cache_reuses_the_network_ab(colorizer):
    calls = []

    def ab(photo):
        calls.append(1)
        return colorizer.colorize_arrays([photo], ab_only=True)[0]

    cache = H.HintCache(ab)
    photo = two_halves()
    hints = [(10, 30, RED_ISH)]
    first = cache.colorize("k", photo, hints)
    again = cache.colorize("k", photo, hints + [(80, 30, "#2050d0")])
    assert len(calls) == 1
    np.testing.assert_allclose(
        ab_of(first).mean((0, 1)),
        ab_of(colorizer.colorize(photo, hints=hints)).mean((0, 1)),
        atol=1,
    )
    assert not np.array_equal(first, again)


def test_cli_refuses_bad_hints_and_several_inputs(tmp_path, capsys):
    from PIL import Image

    from kcolor.cli import main

    photo = tmp_path / "old.png"
    Image.fromarray(two_halves()).save(photo)
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": 5, "y": 5, "color": "#c0392b"}, [500, 5, "#c0392b"]]))
    out = tmp_path / "out"
    assert main(["colorize", str(photo), "-o", str(out), "--hints", str(hints), "-q"]) == 2
    err = capsys.readouterr().err
    assert "hints.json: hint 2: the point (500, 5) is outside the 96x64 photo" in err
    assert main(["colorize", str(photo), str(photo), "-o", str(out), "--hints", str(hints)]) == 2
    assert "--hints takes a single photo file" in capsys.readouterr().err
    scribble = tmp_path / "s.png"
    Image.new("RGBA", (10, 10)).save(scribble)
    assert main(["colorize", str(photo), "-o", str(out), "--scribble", str(scribble), "-q"]) == 2
    assert "the scribble is 10x10, the photo 96x64" in capsys.readouterr().err
    assert not out.exists()


def test_server_hints_with_a_colouriser_that_gives_only_rgb(tmp_path, colorizer):
    """The exported graph's colouriser has no ``ab_only``: the ab of its answer is used."""
    from kcolor.serve.hints import colorize_with_hints, parse_field

    class RgbOnly:
        def colorize_arrays(self, photos, rgbx=False):
            return colorizer.colorize_arrays(photos, rgbx=rgbx)

        def colorize(self, photo, vividness=None):
            return colorizer.colorize(photo)

    path = tmp_path / "upload"
    path.write_bytes(b"the photo's bytes")
    photo = two_halves()
    hints = parse_field(json.dumps([[10, 30, RED_ISH]]))
    out = colorize_with_hints(H.HintCache(), RgbOnly(), photo, str(path), "m", None, hints)
    np.testing.assert_allclose(ab_of(out)[:, :46].reshape(-1, 2).mean(0), [25, 30], atol=2.5)
    beyond = np.abs(ab_of(out)[:, 50:] - ab_of(colorizer.colorize(photo))[:, 50:])
    assert beyond.mean() < 1.0
    assert parse_field("[]") is None
    with pytest.raises(HintError, match="the hints are not valid JSON"):
        parse_field("[1,")
