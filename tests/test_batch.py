"""kcolor.batch: planning outputs, writing beside the inputs, no debris, reporting non-images."""

import numpy as np
import pytest
from PIL import Image

from kcolor import batch
from kcolor.cli import main
from kcolor.colorizer import Colorizer


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
    import kcolor.cli

    monkeypatch.setattr(kcolor.cli, "_load_colorizer", lambda spec, **kw: colorizer)
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
    import kcolor.colorizer

    assert kcolor.colorizer.ColorizeResult is batch.ColorizeResult
    assert kcolor.colorizer.plan_outputs is batch.plan_outputs
    assert not hasattr(kcolor.colorizer, "_safe_part")  # file batching lives in kcolor.batch
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
