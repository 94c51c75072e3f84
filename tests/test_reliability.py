"""Reliability: malformed inputs, resumable training, safe weights, nothing lost.

* every case of the malformed-input corpus (tests/corpus.py), through BOTH
  ``Colorizer.colorize_files`` and ``kcolor colorize``: a correct output (size, orientation,
  lightness) or a failure that names the file;
* one real ``kcolor colorize`` subprocess over the whole corpus (capabilities dropped, so the
  chmod-000 file is really unreadable even for root), inputs hashed before and after;
* corrupt / truncated / wrong-architecture / wrong-hash weights and unsafe ``.keras`` files;
* ``kcolor train`` killed with SIGKILL mid-epoch, resumed, then driven to NaN;
* atomic outputs, output folder inside the input folder, Ctrl-C, disk-full errors;
* (slow) flat memory: peak RSS of ``kcolor colorize`` on 50 and on 500 images.

Running as root: root reads chmod-000 files, so in-process tests fake the permission error
for that one file (``kcolor.io.reading.open`` raises ``PermissionError`` for it); the subprocess test
makes it real with ``setpriv`` (CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped).
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from corpus import colour_image, make_corpus
from PIL import Image

import kcolor
from kcolor import color
from kcolor import io as kio
from kcolor.cli import main
from kcolor.errors import ImageWriteError, WeightsError
from kcolor.inference.colorizer import Colorizer

import keras  # noqa: E402  isort: skip

REPO = Path(__file__).resolve().parents[1]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SETPRIV = shutil.which("setpriv")
# Dropping these two capabilities makes root obey file permissions (root owns the file).
DROP_DAC = ["--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]

#: Every case of tests/corpus.py (asserted equal to what make_corpus writes).
CASES = [
    "animated.gif",
    "bomb.png",
    "broken_link.jpg",
    "cmyk.jpg",
    "exif_rotated.jpg",
    "float32.tiff",
    "folder.jpg",
    "grey16.png",
    "grey_rgb.jpg",
    "int32.tiff",
    "mode_1.png",
    "mode_l.png",
    "mode_la.png",
    "mode_p.png",
    "p_transparent.png",
    "png_named.jpg",
    "rgb.jpg",
    "rgb.png",
    "rgba.png",
    "text.jpg",
    "tiny_1x1.png",
    "tiny_3x5.png",
    "truncated.jpg",
    "truncated.png",
    "unreadable.png",
    "with space ünïcødé 写真.png",
    "zero_bytes.jpg",
]

SIZE = 16  # the model runs at 16x16; colour is upsampled onto each photo's own L
# One torch thread: on a small machine shared with other jobs, torch's thread pool spins and
# costs several times the work itself (200 photos at 32x32: 2.8 s with 1 thread, 12.7 s with 2,
# measured on the 2-core CI machine under load).
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def tiny_keras(tmp_path_factory):
    """The article's alpha network (32k parameters), random weights, saved as .keras."""
    from kcolor.models import alpha

    keras.utils.set_random_seed(3)
    path = tmp_path_factory.mktemp("model") / "alpha.keras"
    alpha().save(path)
    return path


@pytest.fixture(scope="module")
def colorizer(tiny_keras):
    return Colorizer.load(tiny_keras, input_size=SIZE)


@pytest.fixture
def fake_unreadable(corpus, monkeypatch):
    """As root, chmod 000 does not stop reads: fake the PermissionError for that one file."""
    target = os.fspath(corpus["unreadable.png"][0])
    if IS_ROOT:

        def guarded(path, *args, **kwargs):
            if os.fspath(path) == target:
                raise PermissionError(13, "Permission denied", target)
            return builtins.open(path, *args, **kwargs)

        monkeypatch.setattr(
            kio.reading, "open", guarded, raising=False
        )  # shadows the builtin there
    return target


def _outcome(name, exp):
    if name == "folder.jpg":
        return "skipped"  # a folder, not an image: passed over, and the summary names it
    return "failed" if exp["load"] == "error" else "written"


def _lightness(rgb):
    return color.rgb_to_lab(np.asarray(rgb, np.uint8))[..., 0]


def _load_quiet(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kio.ExtensionMismatchWarning)
        return kio.load_image(path)


def check_output(src, out):
    """``out`` is a correct colouring of ``src``: same (oriented) size, same lightness."""
    want = _load_quiet(src)
    with Image.open(out) as im:
        got = np.asarray(im.convert("RGB"))
    assert got.shape == want.shape, f"{out}: {got.shape} != {want.shape}"
    diff = np.abs(_lightness(got) - _lightness(want))
    if Path(out).suffix.lower() in (".jpg", ".jpeg"):
        # JPEG output (the input's own format) re-quantises: close, not exact.
        assert diff.mean() < 1.0 and diff.max() < 8.0, (out, diff.mean(), diff.max())
    else:
        assert diff.max() < 0.75, (out, diff.max())  # uint8 rounding of the RGB
    return got


def _visible_files(folder):
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and not p.name.startswith("."))


def _hashes(folder):
    """{relative path: (sha256, mtime) | "link" | "dir"} of everything under ``folder``."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        key = p.relative_to(folder).as_posix()
        if p.is_file() and not p.is_symlink():
            out[key] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        else:
            out[key] = "link" if p.is_symlink() else "dir"
    return out


# ---------------------------------------------------------------- the corpus, case by case
def test_corpus_covers_every_case(corpus):
    assert sorted(corpus) == sorted(CASES)
    assert len(CASES) >= 20
    assert sum(_outcome(n, e) == "failed" for n, (_, e) in corpus.items()) >= 7


@pytest.mark.parametrize("name", CASES)
def test_colorize_files_each_case(name, corpus, colorizer, tmp_path, fake_unreadable):
    path, exp = corpus[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kio.ExtensionMismatchWarning)
        res = colorizer.colorize_files([path], tmp_path / "out", progress=False)
    outcome = _outcome(name, exp)
    if outcome == "written":
        assert res.ok and len(res.written) == 1, res.summary()
        check_output(path, res.written[0])
    elif outcome == "failed":
        assert res.written == [] and [p for p, _ in res.failed] == [os.fspath(path)]
        assert exp["reason"] in res.failed[0][1].lower(), res.failed
        assert os.fspath(path) in res.summary()
    else:
        assert res.written == [] and res.failed == []
        assert os.fspath(path) in res.summary() and "folder" in res.summary()


@pytest.mark.parametrize("name", CASES)
def test_kcolor_colorize_each_case(
    name, corpus, tiny_keras, colorizer, tmp_path, capsys, monkeypatch, fake_unreadable
):
    # The command as a user runs it, minus re-loading the same .keras file 27 times
    # (loading is tested by the whole-corpus subprocess and the weights tests below).
    loads = []
    monkeypatch.setattr(
        kcolor.cli.colorize,
        "_load_colorizer",
        lambda spec, **kw: loads.append((spec, kw)) or colorizer,
    )
    path, exp = corpus[name]
    out = tmp_path / "out"
    argv = ["colorize", str(path), "-o", str(out), "--model", str(tiny_keras), "--size", "16"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kio.ExtensionMismatchWarning)
        code = main([*argv, "-q"])
    captured = capsys.readouterr()
    outcome = _outcome(name, exp)
    # The model loads once, and only when the plan holds a photo to read (a broken link or
    # a folder named like an image is reported without loading it: fast start).
    planned = os.path.isfile(path)
    assert loads == ([(str(tiny_keras), {"batch_size": 8, "input_size": 16})] if planned else [])
    assert "Traceback" not in captured.err
    if outcome == "written":
        assert code == 0, captured
        (written,) = _visible_files(out)
        check_output(path, written)
    else:
        assert code == 1, captured
        assert _visible_files(out) == []
        line = next(x for x in captured.out.splitlines() if os.fspath(path) in x)
        assert line.strip().startswith("FAILED" if outcome == "failed" else "SKIPPED")
        if outcome == "failed":
            assert exp["reason"] in line.lower()


def test_exif_rotated_output_is_upright(corpus, colorizer, tmp_path):
    path, _ = corpus["exif_rotated.jpg"]
    res = colorizer.colorize_files([path], tmp_path, progress=False)
    got = check_output(path, res.written[0])
    h, w = got.shape[:2]
    assert h > w  # stored 32x24 landscape, displayed (and written) 24x32 portrait
    # The red marker ends up top-right, as a viewer shows it: its lightness, not the photo's.
    red_l = _lightness(np.array([[[255, 0, 0]]]))[0, 0]
    assert abs(_lightness(got)[1, w - 2] - red_l) < 6


# ---------------------------------------------------------------- the whole corpus at once
def test_batch_over_the_whole_corpus(corpus, tiny_keras, tmp_path):
    """A real `kcolor colorize` process over the corpus folder: it finishes, writes every good
    output, names every bad file, prints a summary, exits 1, and leaves the inputs untouched."""
    folder = next(iter(corpus.values()))[0].parent
    before = _hashes(folder)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "kcolor", "colorize", str(folder), "-o", str(out)]
    cmd += ["--model", str(tiny_keras), "--size", "16", "--batch-size", "4", "-q"]
    real_permissions = not IS_ROOT or SETPRIV is not None
    if IS_ROOT and SETPRIV:
        cmd = [SETPRIV, *DROP_DAC, *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=ENV, cwd=REPO)
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr, proc.stderr
    assert _hashes(folder) == before  # not one input byte or mtime changed

    failed = {
        line.split("FAILED ", 1)[1].split(": ", 1)[0]
        for line in proc.stdout.splitlines()
        if line.strip().startswith("FAILED ")
    }
    written = {p.name for p in _visible_files(out)}
    expect_failed, expect_written = set(), 0
    for name, (path, exp) in corpus.items():
        outcome = _outcome(name, exp)
        if name == "unreadable.png" and not real_permissions:
            outcome = "written"
        if outcome == "failed":
            expect_failed.add(os.fspath(path))
        elif outcome == "written":
            expect_written += 1
            out_name = path.name if path.suffix != ".gif" else path.stem + ".png"
            assert out_name in written, (name, sorted(written))
            check_output(path, out / out_name)
    assert failed == expect_failed
    assert len(written) == expect_written
    head = proc.stdout.splitlines()[0]
    assert head.startswith(f"{expect_written} written, {len(expect_failed)} failed, 1 skipped")
    assert f"SKIPPED {folder / 'folder.jpg'}" in proc.stdout
    if real_permissions:
        assert f"FAILED {folder / 'unreadable.png'}: permission denied" in proc.stdout


# ---------------------------------------------------------------- weights
def _one_line_error(err: str, *needles):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kcolor: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory, tiny_keras):
    """Broken weight files of every kind: {kind: path}."""
    from kcolor import presets
    from kcolor.models import alpha

    d = tmp_path_factory.mktemp("weights")
    good = d / "good.weights.h5"
    presets.save_weights(alpha(), good)
    data = good.read_bytes()
    files = {"good": good}
    files["corrupt"] = d / "corrupt.weights.h5"
    files["corrupt"].write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8)))
    files["truncated"] = d / "truncated.weights.h5"
    files["truncated"].write_bytes(data[: len(data) // 2])
    other = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(2, 3)])
    files["wrong_arch"] = d / "other.weights.h5"
    other.save_weights(files["wrong_arch"])
    kdata = tiny_keras.read_bytes()
    files["keras_corrupt"] = d / "corrupt.keras"
    files["keras_corrupt"].write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    files["keras_truncated"] = d / "truncated.keras"
    files["keras_truncated"].write_bytes(kdata[: len(kdata) // 2])
    rgb_in = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(2, 3)])
    files["keras_wrong_arch"] = d / "rgb_input.keras"
    rgb_in.save(files["keras_wrong_arch"])
    run = d / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"builder": "alpha", "input_size": 16}))
    (run / "model.weights.h5").write_bytes(data[: len(data) // 3])
    files["run_corrupt"] = run / "model.weights.h5"
    return files


@pytest.mark.parametrize("kind", ["corrupt", "truncated", "wrong_arch", "wrong_hash"])
def test_broken_preset_weights_are_named(kind, weight_files, tmp_path, capsys):
    from kcolor import presets

    source = weight_files["good" if kind == "wrong_hash" else kind]
    folder = tmp_path / f"preset-{kind}"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"builder": "alpha", "input_size": 16}))
    path = folder / "model.weights.h5"
    path.write_bytes(source.read_bytes())
    if kind == "wrong_hash":
        (folder / "metadata.json").write_text(json.dumps({"weights_sha256": "0" * 64}))
    name = f"test-broken-{kind}"
    presets.register_preset(name, folder=folder)
    try:
        with pytest.raises(WeightsError) as info:
            Colorizer.load(name)
        assert info.value.path == os.fspath(path) and os.fspath(path) in str(info.value)
        want = {
            "corrupt": "corrupt",
            "truncated": "corrupt, truncated",
            "wrong_arch": "another architecture",
            "wrong_hash": "sha-256",
        }[kind]
        assert want in str(info.value).lower()
        photo = tmp_path / "p.png"
        Image.fromarray(colour_image(8, 8)).save(photo)
        assert main(["colorize", str(photo), "-o", str(tmp_path / "o"), "--model", name]) == 2
        _one_line_error(capsys.readouterr().err, os.fspath(path))
        assert not (tmp_path / "o" / "p.png").exists()
    finally:
        presets.unregister_preset(name)


@pytest.mark.parametrize("kind", ["keras_corrupt", "keras_truncated", "keras_wrong_arch", "run"])
def test_broken_keras_files_are_named(kind, weight_files, tmp_path, capsys):
    path = weight_files["run_corrupt" if kind == "run" else kind]
    spec = path.parent if kind == "run" else path
    with pytest.raises(WeightsError) as info:
        Colorizer.load(spec)
    assert info.value.path == os.fspath(path)
    text = str(info.value)
    assert "\n" not in text
    assert ("not a kcolor colourisation model" if kind == "keras_wrong_arch" else "corrupt") in text
    if kind == "run":
        assert "truncated" in text
    photo = tmp_path / "p.png"
    Image.fromarray(colour_image(8, 8)).save(photo)
    assert main(["colorize", str(photo), "-o", str(tmp_path / "o"), "--model", str(spec)]) == 2
    _one_line_error(capsys.readouterr().err, os.fspath(path))


def test_weights_given_to_a_builder_are_checked(weight_files):
    from kcolor.models import alpha

    for kind in ("corrupt", "truncated", "wrong_arch", "keras_truncated"):
        with pytest.raises(WeightsError) as info:
            alpha(weights=weight_files[kind])
        assert info.value.path == os.fspath(weight_files[kind])


def test_lambda_layer_needs_an_explicit_opt_in(tmp_path, capsys):
    L = keras.Input((None, None, 1))
    ab = keras.layers.Conv2D(2, 3, padding="same", activation="tanh")(L)
    ab = keras.layers.Lambda(lambda t: t * 0.5)(ab)
    path = tmp_path / "lambda.keras"
    keras.Model(L, ab).save(path)
    with pytest.raises(WeightsError, match="Lambda") as info:
        Colorizer.load(path)
    assert "--unsafe" in str(info.value) and "safe_mode=False" in str(info.value)

    photo = tmp_path / "p.png"
    Image.fromarray(colour_image(8, 8)).save(photo)
    argv = ["colorize", str(photo), "-o", str(tmp_path / "o"), "--model", str(path), "-q"]
    assert main(argv) == 2
    _one_line_error(capsys.readouterr().err, os.fspath(path), "--unsafe")
    assert not (tmp_path / "o").exists() or _visible_files(tmp_path / "o") == []

    assert main([*argv, "--unsafe"]) == 0  # the user trusts it
    check_output(photo, tmp_path / "o" / "p.png")
    assert Colorizer.load(path, safe_mode=False).colorize(np.zeros((5, 7), np.uint8)).shape == (
        5,
        7,
        3,
    )


# ---------------------------------------------------------------- training
def _photos(folder, n, size=16):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(colour_image(size, size, seed=i)).save(folder / f"p{i:03d}.png")
    return folder


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_train_sigkill_resume_then_nan(tmp_path, capsys):
    """`kcolor train` killed with SIGKILL mid-epoch, resumed, then driven to NaN."""
    # 60 photos: an epoch of 48 one-photo batches lasts long enough that the kill below
    # lands inside epoch 2 even on a loaded machine, not in the instant between the
    # logger's row and the backup at an epoch's end.
    data = _photos(tmp_path / "data", 60)
    run = tmp_path / "run"
    argv = ["train", "--model", "alpha", "--data", str(data), "-o", str(run), "--size", "16"]
    argv += ["--batch-size", "1", "--val-split", "0.2", "-q"]
    history = run / "history.csv"

    def rows():
        try:
            return len(pd.read_csv(history))
        except Exception:  # noqa: BLE001 - not written yet
            return 0

    def backed_up():  # BackupAndRestore's record, the last thing written at an epoch's end
        try:
            return json.loads((run / "backup" / "training_metadata.json").read_text())["epoch"]
        except Exception:  # noqa: BLE001 - not written yet
            return 0

    cmd = [sys.executable, "-m", "kcolor", *argv, "--epochs", "50"]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 240
        while backed_up() < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.15)  # into the second epoch (48 batches of 1 photo)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        log = proc.communicate()[0].decode(errors="replace")
    assert proc.returncode == -signal.SIGKILL, log
    done = rows()
    # Killed inside an epoch: its row was never logged, and the backup has the epoch before.
    assert done >= 1 and backed_up() == done, log
    before = pd.read_csv(history)
    weights = run / "model.weights.h5"
    assert weights.is_file()
    # The best so far is remembered across the restart: pretend it was excellent, so no
    # resumed epoch can beat it and the weights must stay exactly as they are.
    meta_file = run / "metadata.json"
    meta = json.loads(meta_file.read_text())
    best = meta["best"]
    assert best["monitor"] == "val_loss"
    meta_file.write_text(json.dumps({**meta, "best": {**best, "value": 1e-9}}))
    model_sha = _sha(weights)

    epochs = done + 1
    assert main([*argv, "--epochs", str(epochs), "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"{done} epoch(s) done, continuing at epoch {done + 1} of {epochs}" in err, err
    after = pd.read_csv(history)
    assert after["epoch"].tolist() == list(range(epochs))  # each completed epoch exactly once
    cols = ["epoch", "loss", "val_loss", "seconds"]
    pd.testing.assert_frame_equal(after[cols][:done], before[cols])  # kept, not redone
    assert _sha(weights) == model_sha
    assert json.loads(meta_file.read_text())["best"]["value"] == 1e-9

    # A learning rate of 1e30 on a further resume: NaN, a clear message, exit 1, and the
    # last good weights untouched.
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**meta, "best": best}))  # the real best again
    model_sha = _sha(weights)
    code = main([*argv, "--epochs", str(epochs + 2), "--resume", "--lr", "1e30"])
    err = capsys.readouterr().err
    assert code == 1
    assert re.search("loss became (nan|inf)", err) and "still holds the best finite epoch" in err
    assert "--lr" in err and "Traceback" not in err
    assert _sha(weights) == model_sha
    model = kcolor.presets.build_model(run)  # checks the weights' SHA-256 too
    assert all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in model.weights)
    backup = json.loads((run / "backup" / "training_metadata.json").read_text())
    assert backup["epoch"] == epochs  # the NaN epoch was not backed up


def test_nan_on_the_first_epoch_saves_no_model(tmp_path, capsys):
    data = _photos(tmp_path / "data", 5)
    run = tmp_path / "run"
    argv = ["train", "--model", "alpha", "--data", str(data), "-o", str(run), "--size", "16"]
    code = main([*argv, "--epochs", "3", "--batch-size", "1", "--val-split", "0.2", "--lr", "1e30"])
    err = capsys.readouterr().err
    assert code == 1 and "no model was saved" in err, err
    assert not (run / "model.weights.h5").exists()
    # Nothing finished: a retry starts cleanly instead of asking for --resume.
    code = main([*argv, "--epochs", "1", "--batch-size", "1", "--val-split", "0.2"])
    assert code == 0 and (run / "model.weights.h5").is_file()


# ---------------------------------------------------------------- outputs and inputs
def test_a_killed_write_leaves_no_half_image(tmp_path, colorizer, monkeypatch):
    """Outputs go to a hidden temp file and are moved into place: a process killed while
    encoding (looked at from inside the encoder) has nothing under the output's name."""
    src = tmp_path / "in"
    _photos(src, 3, size=24)
    out = tmp_path / "out"
    seen = []
    real_save = Image.Image.save

    def dying_save(self, fp, format=None, **kw):  # noqa: A002
        real_save(self, fp, format=format, **kw)
        fp.flush()
        names = sorted(p.name for p in out.iterdir())
        seen.append(names)
        if len(seen) == 2:
            raise KeyboardInterrupt  # dies half-way through the second file
        return None

    monkeypatch.setattr(Image.Image, "save", dying_save)
    with pytest.raises(KeyboardInterrupt) as info:
        colorizer.colorize_files([src], out, progress=False)
    # While the second image was being encoded, only the first was visible, plus a temp file.
    visible = [n for n in seen[1] if not n.startswith(".")]
    assert visible == ["p000.png"] and any(n.startswith(".p001.png.") for n in seen[1])
    monkeypatch.undo()
    assert [p.name for p in _visible_files(out)] == ["p000.png"]
    check_output(src / "p000.png", out / "p000.png")
    assert list(out.iterdir()) == [out / "p000.png"]  # and the temp file was removed
    result = info.value.result
    assert result.interrupted and result.written == [os.fspath(out / "p000.png")]


def test_ctrl_c_keeps_partial_results_and_exits_130(tmp_path, tiny_keras, capsys, monkeypatch):
    src = _photos(tmp_path / "in", 7, size=20)
    before = _hashes(src)
    out = tmp_path / "out"
    calls = []
    real = Colorizer.colorize_arrays

    def interrupted_on_third_batch(self, photos, **kwargs):
        calls.append(len(photos))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, photos, **kwargs)

    monkeypatch.setattr(Colorizer, "colorize_arrays", interrupted_on_third_batch)
    argv = ["colorize", str(src), "-o", str(out), "--model", str(tiny_keras), "--batch-size", "2"]
    assert main([*argv, "-q"]) == 130
    captured = capsys.readouterr()
    assert captured.out.startswith("4 written, 0 failed; INTERRUPTED with 3 not done")
    assert "interrupted" in captured.err and "Traceback" not in captured.err
    written = _visible_files(out)
    assert [p.name for p in written] == [f"p00{i}.png" for i in range(4)]
    for p in written:
        check_output(src / p.name, p)
    assert _hashes(src) == before
    # Running the same command again does the rest, keeping (and reporting) what exists.
    monkeypatch.undo()
    assert main([*argv, "-q"]) == 1
    assert capsys.readouterr().out.startswith("3 written, 4 failed")
    assert len(_visible_files(out)) == 7


def test_disk_write_error_names_the_file_and_the_rest_goes_on(tmp_path, colorizer, monkeypatch):
    """A full disk (faked: os.fsync raises ENOSPC while one output is written)."""
    src = _photos(tmp_path / "in", 4, size=12)
    out = tmp_path / "out"
    real_fsync = os.fsync

    def full_disk(fd):
        if os.readlink(f"/proc/self/fd/{fd}").split("/")[-1].startswith(".p002.png."):
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(kio.writing.os, "fsync", full_disk)
    res = colorizer.colorize_files([src], out, progress=False)
    assert [Path(p).name for p in res.written] == ["p000.png", "p001.png", "p003.png"]
    ((path, reason),) = res.failed
    assert path == os.fspath(src / "p002.png")
    assert os.fspath(out / "p002.png") in reason and "No space left on device" in reason
    assert sorted(p.name for p in out.iterdir()) == ["p000.png", "p001.png", "p003.png"]
    with pytest.raises(ImageWriteError, match="No space left"):
        kio.save_image(out / "p002.png", np.zeros((2, 2, 3), np.uint8))


def test_output_folder_inside_the_input_folder(tmp_path, tiny_keras, capsys):
    album = _photos(tmp_path / "album", 3, size=12)
    out = album / "coloured"
    before = _hashes(album)
    argv = ["colorize", str(album), "-o", str(out), "--model", str(tiny_keras), "-r", "-q"]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("3 written, 0 failed")
    after = _hashes(album)
    assert {k: v for k, v in after.items() if not k.startswith("coloured")} == before
    # Again, recursively: our own outputs are never fed back in (no coloured/coloured/...).
    assert main(argv) == 1
    assert capsys.readouterr().out.startswith("0 written, 3 failed")
    assert sorted(p.relative_to(album).as_posix() for p in _visible_files(album)) == [
        "coloured/p000.png",
        "coloured/p001.png",
        "coloured/p002.png",
        "p000.png",
        "p001.png",
        "p002.png",
    ]


def test_unexpected_errors_are_one_line(tmp_path, capsys, monkeypatch):
    def boom(args):
        raise RuntimeError("deep inside h5py\nline two")

    monkeypatch.setitem(kcolor.cli.COMMANDS, "models", (kcolor.cli.COMMANDS["models"][0], boom))
    assert main(["models"]) == 1
    _one_line_error(capsys.readouterr().err, "RuntimeError: deep inside h5py", "KCOLOR_DEBUG")


# ---------------------------------------------------------------- memory
def _peak_rss_mb(pid) -> float:
    _, status, usage = os.wait4(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return usage.ru_maxrss / 1024  # kB on Linux


@pytest.mark.slow
def test_memory_stays_flat_from_50_to_500_images(tmp_path, tiny_keras):
    """Peak RSS of `kcolor colorize` on 50 and on 500 32x32 photos, run side by side."""
    procs = {}
    for n in (50, 500):
        src = tmp_path / f"in{n}"
        src.mkdir()
        base = colour_image(32, 32)
        for i in range(n):
            Image.fromarray(np.roll(base, i, axis=1)).save(src / f"{i:04d}.png")
        cmd = [sys.executable, "-m", "kcolor", "colorize", str(src), "-o", str(tmp_path / f"o{n}")]
        cmd += ["--model", str(tiny_keras), "--size", "32", "-q"]
        procs[n] = subprocess.Popen(cmd, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL)
    peak = {n: _peak_rss_mb(p.pid) for n, p in procs.items()}
    for n in procs:
        assert len(_visible_files(tmp_path / f"o{n}")) == n
    print(f"\npeak RSS: 50 images {peak[50]:.0f} MB, 500 images {peak[500]:.0f} MB")
    assert peak[500] <= max(peak[50] * 1.15, peak[50] + 60), peak
