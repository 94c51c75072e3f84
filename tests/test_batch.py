"""kcolor.inference.batch: planning outputs, writing beside the inputs, no debris, reporting non-images."""

import numpy as np
import pytest
from PIL import Image

from kcolor.cli import main
from kcolor.inference import batch
from kcolor.inference.colorizer import Colorizer


def tiny_model():
    import keras

    from kcolor import layers

    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 1))
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inp)
    x = layers.UpSampling2D(2)(x)
    out = layers.Conv2D(2, 3, padding="same", activation="tanh")(x)
    return keras.Model(inp, out)


@pytest.fixture(scope="module")
def colorizer():
    return Colorizer(tiny_model(), input_size=16, batch_size=2)


@pytest.fixture
def cli(colorizer, monkeypatch):
    """`kcolor colorize ...` in-process, with the tiny colorizer instead of a preset."""
    import kcolor.cli.colorize

    monkeypatch.setattr(kcolor.cli.colorize, "_load_colorizer", lambda spec, **kw: colorizer)
    return lambda *argv: main(["colorize", *map(str, argv)])


def photos(folder, n=3, size=(20, 14)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        grey = rng.integers(0, 256, (size[1], size[0]), dtype=np.uint8)
        Image.fromarray(grey).save(folder / f"p{i}.png")
    return folder


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_the_colorizer_module_is_split():
    import kcolor.inference.colorizer

    assert kcolor.inference.colorizer.ColorizeResult is batch.ColorizeResult
    assert kcolor.inference.colorizer.plan_outputs is batch.plan_outputs
    assert not hasattr(
        kcolor.inference.colorizer, "_safe_part"
    )  # file batching lives in kcolor.inference.batch
    source = open(batch.__file__).read()
    assert "mkstemp" not in source and "os.replace" not in source  # atomic writes: kcolor.io


def test_results_beside_the_inputs_with_a_suffix(tmp_path, cli, capsys):
    """Issue 14.1: `kcolor colorize bw/ -o bw/ --suffix _c` colours the 3 photos beside them."""
    bw = photos(tmp_path / "bw")
    before = {p.name: p.read_bytes() for p in bw.iterdir()}
    assert cli(bw, "-o", bw, "--suffix", "_c", "-q") == 0
    out = capsys.readouterr().out
    assert out.startswith("3 written, 0 failed"), out
    assert names(bw) == ["p0.png", "p0_c.png", "p1.png", "p1_c.png", "p2.png", "p2_c.png"]
    assert all((bw / n).read_bytes() == b for n, b in before.items())  # inputs untouched
    # Again: our own outputs are not read back (no p0_c_c.png); existing ones are reported.
    assert cli(bw, "-o", bw, "--suffix", "_c", "-q") == 1
    out = capsys.readouterr().out
    assert out.startswith("0 written, 3 failed, 3 skipped"), out
    assert out.count("exists already") == 3 and out.count("earlier output") == 3
    assert len(names(bw)) == 6
    # Without a suffix the outputs would be the inputs: refused, nothing written.
    assert cli(bw / "p0.png", "-o", bw, "-q") == 1
    assert "would overwrite an input" in capsys.readouterr().out


def test_input_folder_inside_the_output_folder(tmp_path, colorizer):
    """Photos in a sub-folder of the output folder are inputs like any others."""
    src = photos(tmp_path / "out" / "scans", n=2)
    res = colorizer.colorize_files([src], tmp_path / "out", progress=False, suffix="_c")
    assert res.ok and sorted(names(tmp_path / "out")) == ["p0_c.png", "p1_c.png", "scans"]


@pytest.mark.parametrize("what", ["missing", "pdf", "empty_folder"])
def test_no_output_folder_when_nothing_is_written(tmp_path, cli, capsys, what):
    """Issue 14.2: a failed run leaves no empty output folder behind."""
    if what == "missing":
        arg = tmp_path / "missing.jpg"
    elif what == "pdf":
        arg = tmp_path / "notes.pdf"
        arg.write_bytes(b"%PDF-1.4 not an image")
    else:
        arg = tmp_path / "empty"
        arg.mkdir()
    out = tmp_path / "out"
    assert cli(arg, "-o", out) == 1
    captured = capsys.readouterr()
    assert not out.exists()
    assert "Traceback" not in captured.err
    assert "colorize" not in captured.err  # no (empty) progress bar at all
    assert "output folder:" not in captured.out


def test_non_images_in_a_folder_are_counted_and_listed_with_verbose(tmp_path, cli, capsys):
    """Issue 14.9: a PDF or .txt in a folder is reported, not passed over silently."""
    src = photos(tmp_path / "album", n=2)
    (src / "notes.pdf").write_bytes(b"%PDF-1.4")
    (src / "readme.txt").write_text("hello")
    (src / ".DS_Store").write_bytes(b"\0")  # hidden files are not worth a line
    assert cli(src, "-o", tmp_path / "o1", "-q") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "2 written, 0 failed, 2 non-image files ignored (--verbose lists them)"
    )
    assert "notes.pdf" not in out
    assert cli(src, "-o", tmp_path / "o2", "-q", "--verbose") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "2 written, 0 failed, 2 non-image files ignored"
    assert f"IGNORED {src / 'notes.pdf'}" in out and f"IGNORED {src / 'readme.txt'}" in out
    assert ".DS_Store" not in out
    # One non-image: singular.
    (src / "readme.txt").unlink()
    assert cli(src, "-o", tmp_path / "o3", "-q") == 0
    assert "1 non-image file ignored" in capsys.readouterr().out


def test_a_progress_bar_only_when_something_is_coloured(tmp_path, cli, capsys, monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    src = photos(tmp_path / "in", n=1)
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert cli(src, "-o", tmp_path / "o") == 0
    assert "1/1" in term.getvalue() and "photo" in term.getvalue()
    term.truncate(0)
    assert cli(src, "-o", tmp_path / "o") == 1  # exists already: nothing to colour, no bar
    assert "colorize:" not in term.getvalue()
    monkeypatch.undo()
    # Not a terminal (a log file): no bar lines at all.
    assert cli(src, "-o", tmp_path / "o2") == 0
    assert "colorize:" not in capsys.readouterr().err


def test_plan_outputs_reports_and_sanitises(tmp_path):
    d = photos(tmp_path / "d", n=1)
    (d / "x.txt").write_text("t")
    res = batch.ColorizeResult()
    plan = batch.plan_outputs([d, tmp_path / "nope.png"], tmp_path / "o", suffix="/bad", result=res)
    assert [dst.name for _, dst in plan] == ["p0_bad.png"]
    assert res.ignored == [str(d / "x.txt")]
    assert res.failed == [(str(tmp_path / "nope.png"), "no such file or folder")]


def test_writes_overlap_and_keep_input_order(tmp_path, colorizer):
    """Several batches (read ahead, written behind): every output, in input order."""
    src = photos(tmp_path / "in", n=7, size=(9, 11))
    res = colorizer.colorize_files([src], tmp_path / "o", progress=False)
    assert res.ok
    assert [p.rsplit("/", 1)[-1] for p in res.written] == [f"p{i}.png" for i in range(7)]
    for i in range(7):
        assert Image.open(tmp_path / "o" / f"p{i}.png").size == (9, 11)


# ---------------------------------------------------------------- issue 27: outputs and messages
class Terminal(__import__("io").StringIO):
    def isatty(self):
        return True


def test_exif_and_icc_profile_are_carried_into_the_outputs(tmp_path, cli, colorizer, capsys):
    """Issue 27.8: date taken and camera kept, Orientation gone (the pixels are turned
    upright), the same ICC profile."""
    from corpus import CAMERA, DATE_TAKEN, camera_jpeg, srgb_profile

    src = tmp_path / "in"
    src.mkdir()
    camera_jpeg(src / "scan.jpg")
    with Image.open(src / "scan.jpg") as im:
        profile = im.info["icc_profile"]
    assert profile == srgb_profile()
    assert cli(src / "scan.jpg", "-o", tmp_path / "out", "-q") == 0
    with Image.open(tmp_path / "out" / "scan.jpg") as im:
        exif = im.getexif()
        assert exif.get(0x0110) == CAMERA and exif.get_ifd(0x8769).get(0x9003) == DATE_TAKEN
        assert exif.get(0x0112) in (None, 1)
        assert im.info.get("icc_profile") == profile
        rgb = np.asarray(im.convert("RGB"))
    # Stored 20x30 with Orientation 6: shown 30x20, the stored top-left block at the top right.
    assert rgb.shape == (30, 20, 3)
    assert rgb[:5, -5:].mean() > 200 and rgb[:5, :5].mean() < 100
    assert "warning" not in capsys.readouterr().err
    # Colorizer.colorize_files does the same (PNG output: EXIF and ICC too).
    (src / "scan.jpg").rename(src / "scan.jpe")  # no .jpe writer here: written as PNG
    res = colorizer.colorize_files([src], tmp_path / "api", progress=False, suffix="_c")
    assert res.ok and res.written == [str(tmp_path / "api" / "scan_c.png")]
    with Image.open(res.written[0]) as im:
        assert im.getexif().get(0x0110) == CAMERA
        assert im.info.get("icc_profile") == srgb_profile()
    res = colorizer.colorize_files([src], tmp_path / "bare", progress=False, keep_metadata=False)
    with Image.open(res.written[0]) as im:
        assert not len(im.getexif()) and "icc_profile" not in im.info


def test_bmp_outputs_say_once_that_they_drop_metadata(tmp_path, cli, capsys, monkeypatch):
    from corpus import camera_jpeg

    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        camera_jpeg(src / f"{name}.jpg")
    out = tmp_path / "out"
    # The outputs of a run are BMP: make plan_outputs name them so.
    from kcolor.inference import outputs

    real = outputs._output_name
    monkeypatch.setattr(
        outputs, "_output_name", lambda rel, suffix: real(rel, suffix).with_suffix(".bmp")
    )
    assert cli(src, "-o", out, "-q") == 0
    err = capsys.readouterr().err
    assert err.count("BMP files cannot hold EXIF") == 1, err
    assert sorted(names(out)) == ["a.bmp", "b.bmp"]


def test_a_name_clash_that_renames_an_output_is_heard(tmp_path, cli, capsys):
    """Issue 27.9: two inputs named photo.* would both be photo.png: the user is told."""
    photos(tmp_path / "a", n=1)
    photos(tmp_path / "b", n=1)
    out = tmp_path / "out"
    assert cli(tmp_path / "a" / "p0.png", tmp_path / "b" / "p0.png", "-o", out, "-q") == 0
    assert names(out) == ["p0-2.png", "p0.png"]
    err = capsys.readouterr().err
    line = next(row for row in err.splitlines() if "p0-2.png" in row)
    assert line.startswith("kcolor: warning:") and str(tmp_path / "b" / "p0.png") in line
    assert str(tmp_path / "a" / "p0.png") in line  # and which input has the name
    res = batch.ColorizeResult()
    batch.plan_outputs([tmp_path / "a" / "p0.png", tmp_path / "b" / "p0.png"], out, result=res)
    assert res.renamed == [
        (str(tmp_path / "b" / "p0.png"), str(out / "p0-2.png"), str(tmp_path / "a" / "p0.png"))
    ]


def test_colour_photos_are_warned_about_or_skipped(tmp_path, cli, capsys):
    """Issue 27.9: a colour photo gets recoloured with a warning, or with --skip-color is
    left alone and reported as skipped; sepia photos are black-and-white photos."""
    from corpus import colour_image

    src = photos(tmp_path / "in", n=1)  # p0.png: grey
    Image.fromarray(colour_image(40, 50)).save(src / "colour.png")
    grey = np.asarray(Image.open(src / "p0.png"), np.float32)[..., None] / 255
    sepia = (grey * np.array([255, 190, 120])).astype(np.uint8)  # a toned print
    Image.fromarray(sepia).save(src / "sepia.jpg", quality=90)
    assert cli(src, "-o", tmp_path / "o1", "-q") == 0
    captured = capsys.readouterr()
    warned = [row for row in captured.err.splitlines() if "colour photo" in row]
    assert len(warned) == 1 and str(src / "colour.png") in warned[0], captured.err
    assert "--skip-color" in warned[0] and warned[0].startswith("kcolor: warning:")
    assert captured.out.startswith("3 written, 0 failed\n")
    assert "  RECOLOURED 1 colour photo: their own colours were replaced" in captured.out
    before = (src / "colour.png").read_bytes()
    assert cli(src, "-o", tmp_path / "o2", "-q", "--skip-color") == 0
    captured = capsys.readouterr()
    assert names(tmp_path / "o2") == ["p0.png", "sepia.jpg"]  # the colour photo: no output
    assert captured.out.startswith("2 written, 0 failed, 1 skipped")
    assert f"SKIPPED {src / 'colour.png'}: a colour photo" in captured.out
    assert "colour photo" not in captured.err
    assert (src / "colour.png").read_bytes() == before
    # Only colour photos, all skipped: not "no images found", and exit 0.
    assert cli(src / "colour.png", "-o", tmp_path / "o3", "-q", "--skip-color") == 0
    assert "no images found" not in capsys.readouterr().err
    assert not (tmp_path / "o3").exists()


def test_is_color_photo():
    from corpus import colour_image

    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (60, 80), dtype=np.uint8)
    assert not batch.is_color_photo(grey)
    assert not batch.is_color_photo(np.repeat(grey[..., None], 3, -1))
    assert batch.is_color_photo(colour_image(60, 80))
    g = np.asarray(Image.fromarray(grey).filter(__import__("PIL.ImageFilter").ImageFilter.BLUR))
    for tone in ((255, 190, 120), (150, 200, 255), (250, 245, 215)):  # sepia, cyanotype, paper
        toned = (g[..., None] / 255 * np.array(tone)).astype(np.uint8)
        assert not batch.is_color_photo(toned), tone


def test_model_loading_status_only_on_a_terminal(tmp_path, colorizer, monkeypatch, capsys):
    """Issue 27.9: a spinner line while the model loads, on a terminal only, wiped after."""
    import sys
    import time

    import kcolor.cli.colorize
    from kcolor.presets import DEFAULT_PRESET

    def slow_load(spec, **kwargs):
        time.sleep(0.35)
        return colorizer

    monkeypatch.setattr(kcolor.cli.colorize, "_load_colorizer", slow_load)
    src = photos(tmp_path / "in", n=1)
    captured_err, term = sys.stderr, Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main(["colorize", str(src), "-o", str(tmp_path / "o")]) == 0
    text = term.getvalue()
    status = f"loading {DEFAULT_PRESET}"
    assert f"\r| {status}" in text and text.count(status) >= 3, text  # it spins
    assert "\r" + " " * len(status) in text[text.rindex(status) :]  # then the line is wiped
    # -q: no status line either.
    term.truncate(0)
    assert main(["colorize", str(src), "-o", str(tmp_path / "o1"), "-q"]) == 0
    assert "loading" not in term.getvalue()
    # Not a terminal (a log file): not a character of it.
    monkeypatch.setattr(sys, "stderr", captured_err)
    assert main(["colorize", str(src), "-o", str(tmp_path / "o2")]) == 0
    assert "loading" not in capsys.readouterr().err


def test_is_color_photo_on_the_articles_photos():
    """The article's test photos are black and white; its training photos are colour, one of
    them a faint portrait (skin beside a grey hoodie of the same lightness)."""
    from conftest import shared_path
    from kcolor import io as kio

    test, train = shared_path("article", "test"), shared_path("article", "train")
    assert not any(batch.is_color_photo(kio.load_image(f)) for f in sorted(test.glob("*.jpg")))
    assert all(batch.is_color_photo(kio.load_image(f)) for f in sorted(train.glob("*.jpg")))
