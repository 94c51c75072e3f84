"""Vividness: the colour-strength knob (kcolor.inference.vividness, Colorizer, presets, the CLI)."""

import doctest
import json
import shutil

import numpy as np
import pytest
from PIL import Image
from skimage import data

import kcolor.inference.vividness as viv
from kcolor import Colorizer, color, models, presets
from kcolor.cli import build_parser, main
from kcolor.errors import WeightsError


def grey_of(rgb):
    """The uint8 grey (its L) of an RGB photo."""
    return np.round(color.rgb_to_l(rgb)[..., 0] * 2.55).clip(0, 255).astype(np.uint8)


def chroma(rgb):
    lab = color.rgb_to_lab(rgb.astype(np.float32) / 255.0)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def tiny_regression(vividness=None):
    """An untrained alpha whose last bias paints a mild colour (in gamut at gain 1)."""
    import keras

    keras.utils.set_random_seed(0)
    model = models.alpha((None, None, 1))
    kernel, _ = model.layers[-1].get_weights()
    model.layers[-1].set_weights([kernel * 0.1, np.array([0.15, 0.1], np.float32)])
    return Colorizer(model, input_size=32, vividness=vividness)


@pytest.fixture(scope="module")
def default_colorizer():
    return Colorizer.from_preset()


# ---------------------------------------------------------------- the mapping
def test_doctests():
    from kcolor.presets import vividness_record  # the config.json record, re-exported by viv

    results = [doctest.testmod(module) for module in (viv, vividness_record)]
    assert sum(r.attempted for r in results) >= 10 and not any(r.failed for r in results)


def test_derived_anchors_and_interpolation():
    anchors = viv.derived_anchors(0.38, 0.5)
    assert anchors == [[0.0, 0.38, 1.0], [0.5, 0.38, 0.5], [1.0, 0.38, 0.0]]
    assert viv.class_decoding(0.5, anchors) == (0.38, 0.5)  # exactly the preset's
    assert viv.class_decoding(0.0, anchors) == (0.38, 1.0)
    assert viv.class_decoding(1.0, anchors) == (0.38, 0.0)
    t, a = viv.class_decoding(0.25, anchors)
    assert t == pytest.approx(0.38) and a == pytest.approx(0.75)
    # alpha falls (more colour) as V rises, never leaving [-1, 1]
    alphas = [viv.class_decoding(v, anchors)[1] for v in np.linspace(0, 1, 21)]
    assert all(b < a for a, b in zip(alphas, alphas[1:], strict=False))
    assert viv.derived_anchors(0.2, 0.0)[-1] == [1.0, 0.2, -0.5]  # kcolor train runs: alpha* 0
    assert viv.derived_anchors(0.2, 0.9) == [[0.0, 0.2, 1.0], [0.5, 0.2, 0.9], [1.0, 0.2, 0.4]]
    assert viv.derived_anchors(0.2, -0.8)[-1] == [1.0, 0.2, -1.0]
    own = [[0, 0.6, 0.8], [0.3, 0.5, 0.5], [1, 0.2, 0.1]]
    t, a = viv.class_decoding(0.65, own)
    assert t == pytest.approx(0.35) and a == pytest.approx(0.3)


def test_regression_gain():
    assert viv.regression_gain(0.5) == 1.0
    assert viv.regression_gain(0.0) == pytest.approx(0.625)
    assert viv.regression_gain(1.0) == pytest.approx(1.6)
    gains = [viv.regression_gain(v) for v in np.linspace(0, 1, 11)]
    assert all(b > a for a, b in zip(gains, gains[1:], strict=False))


@pytest.mark.parametrize("value", [-0.01, 1.01, "x", None, float("nan"), float("inf"), ""])
def test_check_refuses_what_is_not_in_0_1(value):
    with pytest.raises(ValueError, match=r"vividness must be a number from 0 to 1 \(0 muted"):
        viv.check(value)


@pytest.mark.parametrize(
    ("anchors", "words"),
    [
        ([[0, 0.3, 0.5]], "at least two"),
        ([[0, 0.3], [1, 0.3]], "triples"),
        ([[0.1, 0.3, 0.5], [1, 0.3, 0]], "from 0 to 1"),
        ([[0, 0.3, 0.5], [0, 0.3, 0.4], [1, 0.3, 0]], "rise strictly"),
        ([[0, 0.0, 0.5], [1, 0.3, 0]], "T must be > 0"),
        ([[0, 0.3, 1.5], [1, 0.3, 0]], "alpha in"),
        ("nonsense", "triples"),
    ],
)
def test_bad_anchors_are_refused(anchors, words):
    with pytest.raises(ValueError, match=words):
        viv.check_anchors(anchors)


def test_records():
    assert viv.read_record(None) == (0.5, None)
    assert viv.read_record(0.7) == (0.7, None)
    assert viv.read_record({"default": 0.6}) == (0.6, None)
    assert viv.make_record(0.6, [[0, 1, 1], [1, 0.5, 0]]) == {
        "default": 0.6,
        "anchors": [[0.0, 1.0, 1.0], [1.0, 0.5, 0.0]],
    }
    for bad in ({"default": 2}, {"anchors": [[0, 1, 1]]}, {"other": 1}, "0.5", True):
        with pytest.raises(ValueError):
            viv.read_record(bad)
    assert viv.preset_default(presets.DEFAULT_PRESET) == 0.5
    assert viv.preset_default("no-such-preset") == 0.5
    assert viv.preset_default("model.keras") == 0.5


# ---------------------------------------------------------------- the default preset
def _default_decoding():
    """The default preset's chosen (temperature, prior correction), from its config.json."""
    config = presets.read_config(presets.locate(presets.DEFAULT_PRESET))
    return config["temperature"], config["prior_correction"]


def test_default_is_exactly_the_presets_decoding(default_colorizer):
    c = default_colorizer
    t, a = _default_decoding()
    assert c.vividness == 0.5 and c.decoding() == {
        "vividness": 0.5,
        "temperature": t,
        "prior_correction": a,
    }
    decode = c.model.get_layer("annealed_mean")
    assert decode.temperature == t and decode.prior_correction == a
    grey = grey_of(data.coffee())
    base = c.colorize(grey)
    assert np.array_equal(base, c.colorize(grey, vividness=0.5))
    assert np.array_equal(base, Colorizer.from_preset(vividness=0.5).colorize(grey))
    # the decoding of kcolor before vividness: the preset's T and alpha, given explicitly
    loaded = presets.load(None)
    plain = Colorizer(loaded.model, input_size=128, multiple=32, temperature=t, prior_correction=a)
    assert np.array_equal(base, plain.colorize(grey))


def test_higher_vividness_gives_more_colour_on_real_photos(default_colorizer):
    c = default_colorizer
    for name in ("astronaut", "coffee"):
        grey = grey_of(getattr(data, name)())
        values = [chroma(c.colorize(grey, vividness=v)) for v in (0.0, 0.5, 1.0)]
        assert values[0] < values[1] < values[2], (name, values)
        # a real range: the default's anchors (alpha 0.7 to -0.3 since 79c3226) take the chroma
        # ratio on the validation photos from 0.70 to 1.18 (1.7x); 1.88x here on the astronaut
        assert values[2] >= 1.5 * values[0], (name, values)
        out = c.colorize(grey, vividness=1.0)
        assert (
            np.abs(color.rgb_to_l(out) - color.rgb_to_l(np.repeat(grey[..., None], 3, -1))).max()
            <= 1.5
        )
    assert c.vividness == 0.5  # a per-call value leaves the colorizer's own alone
    assert len(c._decoders) <= 4


def test_colorizer_vividness_argument_and_precedence(default_colorizer):
    grey = grey_of(data.astronaut())[::4, ::4]
    t, a = _default_decoding()
    vivid = Colorizer.from_preset(vividness=1.0)
    assert vivid.decoding()["prior_correction"] == pytest.approx(max(-1.0, a - viv.ALPHA_SPAN))
    assert np.array_equal(vivid.colorize(grey), default_colorizer.colorize(grey, vividness=1.0))
    # an explicit temperature is kept exactly and becomes the mid-point; alpha stays the preset's
    warm = Colorizer.from_preset(temperature=0.2)
    assert warm.decoding() == {"vividness": 0.5, "temperature": 0.2, "prior_correction": a}
    assert warm.decoding(1.0) == pytest.approx(
        {"vividness": 1.0, "temperature": 0.2, "prior_correction": max(-1.0, a - viv.ALPHA_SPAN)}
    )
    assert warm.model.get_layer("annealed_mean").temperature == 0.2
    with pytest.raises(ValueError, match="vividness must be a number from 0 to 1"):
        default_colorizer.colorize(grey, vividness=3)
    with pytest.raises(ValueError, match="vividness must be a number from 0 to 1"):
        Colorizer.from_preset(vividness=-1)


def test_regression_models_scale_ab_in_gamut():
    grey = np.tile(np.linspace(20, 235, 48).astype(np.uint8), (40, 1))
    plain = tiny_regression()
    assert plain.decoding() == {"vividness": 0.5, "gain": 1.0}
    out = {v: plain.colorize(grey, vividness=v) for v in (0.0, 0.5, 1.0)}
    values = [chroma(out[v]) for v in (0.0, 0.5, 1.0)]
    assert values[0] < values[1] < values[2], values
    assert values[1] / values[0] == pytest.approx(1.6, rel=0.1)  # ab scaled by the gain
    grey_rgb = np.repeat(grey[..., None], 3, -1)
    for rgb in out.values():  # colours out of gamut are desaturated, L is kept
        assert np.abs(color.rgb_to_l(rgb) - color.rgb_to_l(grey_rgb)).max() <= 1.5
    assert np.array_equal(out[0.5], plain.colorize(grey))
    assert np.array_equal(out[1.0], tiny_regression(vividness=1.0).colorize(grey))
    with pytest.raises(ValueError, match="outputs ab directly"):
        Colorizer(plain.model, vividness_anchors=[[0, 1, 1], [1, 1, 0]])


# ---------------------------------------------------------------- presets
def test_save_to_preset_records_the_default_and_loading_reads_it(tmp_path):
    model = models.alpha((None, None, 1))
    folder = presets.save_to_preset(
        model,
        tmp_path / "p",
        builder="alpha",
        args={"input_shape": [None, None, 1]},
        input_size=32,
        vividness=0.7,
    )
    config = json.loads((folder / "config.json").read_text())
    assert config["vividness"] == {"default": 0.7, "anchors": None}
    assert presets.get_preset(folder)["vividness"] == config["vividness"]
    assert presets.load(folder).vividness == 0.7
    c = Colorizer.from_preset(folder)
    assert c.vividness == 0.7 and c.decoding()["gain"] == pytest.approx(1.6**0.4)
    assert Colorizer.from_preset(folder, vividness=0.2).vividness == 0.2
    # without a record, the config stays as it was (no "vividness" key written)
    plain = presets.save_to_preset(model, tmp_path / "q", builder="alpha", args={})
    assert "vividness" not in json.loads((plain / "config.json").read_text())
    with pytest.raises(ValueError, match="vividness must be a number"):
        presets.save_to_preset(model, tmp_path / "r", builder="alpha", args={}, vividness=2)


def test_save_to_preset_with_anchors_writes_their_decoding(tmp_path):
    model = models.alpha((None, None, 1))
    anchors = [[0, 0.5, 1.0], [0.5, 0.4, 0.5], [1, 0.3, 0.1]]
    folder = presets.save_to_preset(
        model,
        tmp_path / "p",
        builder="alpha",
        args={},
        vividness={"default": 0.75, "anchors": anchors},
    )
    config = json.loads((folder / "config.json").read_text())
    assert config["temperature"] == pytest.approx(0.35)
    assert config["prior_correction"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="leave temperature out"):
        presets.save_to_preset(
            model,
            tmp_path / "q",
            builder="alpha",
            args={},
            temperature=0.1,
            vividness={"anchors": anchors},
        )


def test_a_presets_own_anchors_are_used_and_checked(tmp_path, default_colorizer):
    folder = tmp_path / "own"
    shutil.copytree(presets.locate(presets.DEFAULT_PRESET), folder)
    config = json.loads((folder / "config.json").read_text())
    t, a = _default_decoding()
    anchors = [[0, 0.5, 1.0], [0.5, t, a], [1, 0.3, -0.2]]
    config["vividness"] = {"default": 0.5, "anchors": anchors}
    presets.write_json(folder / "config.json", config)
    c = Colorizer.from_preset(folder)
    assert c.vividness_anchors == anchors and c.decoding(1.0)["prior_correction"] == -0.2
    grey = grey_of(data.coffee())[::2, ::2]
    assert np.array_equal(c.colorize(grey), default_colorizer.colorize(grey))
    # an explicit temperature replaces the record: anchors derived around it
    assert Colorizer.from_preset(folder, temperature=0.3).vividness_anchors == viv.derived_anchors(
        0.3, a
    )
    # a record that disagrees with the preset's temperature is refused, naming the file
    config["vividness"]["default"] = 1.0
    presets.write_json(folder / "config.json", config)
    with pytest.raises(WeightsError, match="config.json.*make them agree"):
        Colorizer.from_preset(folder)
    config["vividness"] = {"anchors": [[0, 0.5, 3.0], [1, 0.3, 0]]}
    presets.write_json(folder / "config.json", config)
    with pytest.raises(WeightsError, match="alpha in"):
        presets.load(folder)


def test_shipped_presets_record_no_vividness_and_still_verify():
    for name in presets.shipped_names():
        folder = presets.locate(name)  # the weights' SHA-256 still checks
        assert presets.read_config(folder)["vividness"] is None
        assert viv.preset_default(name) == 0.5


# ---------------------------------------------------------------- the command line
def test_cli_flag_parses_and_documents_itself(capsys):
    parser = build_parser()
    args = parser.parse_args(["colorize", "a.png", "-o", "out", "--vividness", "0.8"])
    assert args.vividness == 0.8
    assert parser.parse_args(["colorize", "a.png", "-o", "out"]).vividness is None
    assert parser.parse_args(["demo", "--vividness", "0"]).vividness == 0.0
    with pytest.raises(SystemExit):
        main(["colorize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--vividness V" in text and "0 muted, 0.5 the preset's balance, 1 vivid" in text


@pytest.mark.parametrize("command", ["colorize", "demo"])
@pytest.mark.parametrize("value", ["1.5", "-0.2", "lots", "nan"])
def test_cli_refuses_vividness_outside_0_1(command, value, capsys):
    argv = [command, "--vividness", value] + (
        ["a.png", "-o", "out"] if command == "colorize" else []
    )
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert (
        "argument --vividness: expected a number from 0 to 1 (0 muted, 0.5 the preset's "
        f"balance, 1 vivid), got '{value}'" in " ".join(err.split())
    )


def test_cli_colorize_and_demo_pass_the_vividness(tmp_path, monkeypatch, capsys):
    import kcolor.cli.colorize as cli  # demo loads through it too

    seen = []

    def load(spec, **kwargs):
        seen.append(kwargs.get("vividness"))
        return tiny_regression(vividness=kwargs.get("vividness"))

    monkeypatch.setattr(cli, "_load_colorizer", load)
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.tile(np.linspace(20, 235, 48).astype(np.uint8), (40, 1))).save(src / "a.png")
    outs = {}
    for v in ("0", "1"):
        assert main(["colorize", str(src), "-o", str(tmp_path / v), "-q", "--vividness", v]) == 0
        outs[v] = chroma(np.asarray(Image.open(tmp_path / v / "a.png").convert("RGB")))
    assert main(["colorize", str(src), "-o", str(tmp_path / "d"), "-q"]) == 0
    assert seen == [0.0, 1.0, None] and outs["0"] < outs["1"]
    assert (
        main(["demo", "-o", str(tmp_path / "demo.png"), "--model", "x", "--vividness", "0.9"]) == 0
    )
    assert seen[-1] == 0.9 and "x, vividness 0.9" in capsys.readouterr().out


# ---------------------------------------------------------------- docs/vividness.png
def _strip(out, name="astronaut", values=(0.0, 0.25, 0.5, 0.75, 1.0), width=224):
    """The grey photo, then the default preset at each vividness, side by side."""
    from kcolor import io as kio
    from kcolor.cli import _panels

    colorizer = Colorizer.from_preset()
    grey = grey_of(getattr(data, name)())
    h = round(width * grey.shape[0] / grey.shape[1])

    def small(rgb):
        return np.asarray(Image.fromarray(rgb).resize((width, h), Image.LANCZOS))

    words = {0.0: " (muted)", 0.5: " (the preset's balance)", 1.0: " (vivid)"}
    panels = [("black and white", small(np.repeat(grey[..., None], 3, -1)))]
    for v in values:
        rgb = colorizer.colorize(grey, vividness=v)
        panels.append((f"vividness {v:g}{words.get(v, '')}", small(rgb)))
        print(json.dumps({"vividness": v, "mean_chroma": round(chroma(rgb), 2)}))
    kio.save_image(out, _panels(panels), overwrite=True)
    print(json.dumps({"wrote": str(out)}))


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] != ["--strip"] or len(sys.argv) != 3:
        sys.exit("usage: python tests/test_vividness.py --strip docs/vividness.png")
    _strip(sys.argv[2])
