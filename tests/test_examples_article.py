"""The article's examples (04 alpha, 05 beta, 06 full, 07 pretrained) run end to end with --smoke.

Each runs in a subprocess with ``KCOLOR_SHARED`` pointing at a folder that does not exist,
so the path a fresh clone takes in CI (scikit-image photos, no ../shared) is the one tested;
one more test runs example 04 on the article's real woman.jpg from ../shared. The run
folders of 04-06 are preset folders: the tests load them back as presets, and check that
the ``kcolor train`` command recorded in ``metadata.json`` parses to the run's config.
"""

import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_path

REPO = Path(__file__).resolve().parents[1]


def _run(script, out, *extra, shared="/nonexistent/kcolor-shared", stderr=False):
    """The script's stdout (and, with ``stderr``, ``(stdout, stderr)``) after ``--smoke``."""
    env = {**os.environ, "MPLBACKEND": "Agg", "KCOLOR_SHARED": str(shared)}
    cmd = [sys.executable, str(REPO / "examples" / script), "--smoke", "--out", str(out), *extra]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return (proc.stdout, proc.stderr) if stderr else proc.stdout


def _numbers(text, name):
    """The numbers printed after ``name`` (``"psnr 22.60"`` -> ``["22.60"]``)."""
    return re.findall(rf"\b{name}\s+(-?[0-9][0-9.e+-]*)", text)


def _preset(out, builder):
    """Check that ``out`` is a preset folder of ``builder`` that loads and colours a photo."""
    import kcolor
    from kcolor import presets

    config = presets.read_config(out)
    assert config["builder"] == builder
    meta = presets.read_metadata(out)
    assert meta["weights_sha256"] == presets.sha256sum(out / "model.weights.h5")
    rgb = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    colour = kcolor.Colorizer.from_preset(out).colorize(rgb)
    assert colour.shape == rgb.shape and colour.dtype == np.uint8
    return config, meta


def _recorded_command(meta):
    """The TrainConfig that metadata.json's ``kcolor train`` command parses to."""
    from kcolor import cli

    words = shlex.split(meta["command"])
    assert words[:2] == ["kcolor", "train"]
    config = cli.train_config_from_args(cli.build_parser().parse_args(words[1:]))
    assert config.to_command() == meta["command"]  # the command round-trips
    return config


def _metrics(out):
    table = json.loads((out / "metrics.json").read_text())
    for row in table.values():
        for key in ("psnr", "auc", "colorfulness"):
            assert math.isfinite(row[key]), (key, row)
        assert 0.0 <= row["auc"] <= 1.0
    return table


def test_04_alpha_docstring_gives_its_default_steps():
    """Issue 27.10: the docstring said 1000 steps while the script's default is 400."""
    import ast

    source = (REPO / "examples" / "04_alpha.py").read_text()
    steps = re.search(r'"--steps",\s*type=int,\s*default=(\d+)', source).group(1)
    size = re.search(r'"--size",\s*type=int,\s*default=(\d+)', source).group(1)
    doc = ast.get_docstring(ast.parse(source))
    assert set(re.findall(r"(\d+) steps", doc)) == {steps}, doc
    assert f"{steps} steps at {size}x{size} by default" in " ".join(doc.split())


@pytest.mark.slow
def test_04_alpha_smoke(tmp_path):
    out = tmp_path / "alpha"
    stdout = _run("04_alpha.py", out)
    assert "PSNR on astronaut (trained)" in stdout and "(unseen)" in stdout
    for name in (
        "config.json",
        "history.csv",
        "compare.png",
        "report.html",
        "model.weights.h5",
        "metadata.json",
    ):
        assert (out / name).is_file(), name
    config, meta = _preset(out, "alpha")
    assert config["input_size"] == 64 and meta["steps"] == 40
    assert meta["made_by"] == f"python examples/04_alpha.py --smoke --out {out}"
    assert meta["command"] is None  # scikit-image's astronaut is not a file to train on
    table = _metrics(out)
    assert set(table) == {
        "alpha on astronaut (trained)",
        "grey astronaut",
        "alpha on chelsea (unseen)",
        "grey chelsea",
    }
    # 40 steps already colour the training photo better than leaving it grey.
    assert table["alpha on astronaut (trained)"]["psnr"] > table["grey astronaut"]["psnr"]


@pytest.mark.slow
def test_04_alpha_smoke_on_the_articles_woman(tmp_path):
    woman = shared_path("article", "alpha", "woman.jpg")
    out = tmp_path / "alpha"
    stdout, stderr = _run(
        "04_alpha.py", out, "--photo", str(woman), shared=woman.parents[2], stderr=True
    )
    assert "PSNR on woman (trained)" in stdout and "PSNR on man (unseen)" in stdout
    # The article's PNG-in-.jpg photos are known: read without a warning (issue 27.10).
    assert "Warning" not in stderr and "warning" not in stderr, stderr
    _, meta = _preset(out, "alpha")
    recorded = _recorded_command(meta)
    assert (recorded.model, recorded.data, recorded.batch_size, recorded.epochs) == (
        "alpha",
        [str(woman)],
        1,
        40,
    )
    assert not recorded.augment and recorded.val_split == 0
    table = _metrics(out)
    assert table["alpha on woman (trained)"]["psnr"] > table["grey woman"]["psnr"]


@pytest.mark.slow
def test_05_beta_smoke(tmp_path, monkeypatch):
    out = tmp_path / "beta"
    # two data-loading processes and a time budget: the options the GPU runs use
    stdout = _run("05_beta.py", out, "--loss", "saturation", "--workers", "2", "--minutes", "5")
    assert "beta (held out)" in stdout
    # One number format (kcolor.formatting, as in example 07) and no "1 epochs" (issue 27.10).
    assert "trained 1 epoch in" in stdout and " 1 epochs" not in stdout
    row = next(line for line in stdout.splitlines() if line.startswith("beta (held out)"))
    assert re.fullmatch(r"\d+\.\d\d", _numbers(row, "psnr")[0]), row
    assert re.fullmatch(r"-?\d\.\d{3}", _numbers(row, "auc")[0]), row
    assert _numbers(row, "photos") == ["2"], row
    config, meta = _preset(out, "beta")
    assert config["input_size"] == 32 and config["embedder"] is None
    assert meta["train_images"] == 4 and meta["val_images"] == 2 and meta["epochs_run"] == 1
    run = meta["train_config"]
    assert run["workers"] == 2 and run["minutes"] == 5 and run["loss"] == "saturation"
    recorded = _recorded_command(meta)
    assert (recorded.model, recorded.loss, recorded.workers, recorded.minutes) == (
        "beta",
        "saturation",
        2,
        5,
    )
    assert meta["made_by"].startswith("python examples/05_beta.py --smoke")
    assert meta["metrics"]["held_out"]["photos"] == 2
    assert {"epoch", "loss", "val_loss"} <= set(
        (out / "history.csv").read_text().split("\n")[0].split(",")
    )
    table = _metrics(out)
    assert set(table) == {"beta (held out)", "grey baseline (held out)"}
    assert table["grey baseline (held out)"]["chroma_ratio"] < 0.01  # grey has no colour
    # --save-preset NAME: the run exported as the float16 preset folder WEIGHTS_DIR/NAME
    from kcolor import presets

    sys.path.insert(0, str(REPO / "examples"))
    from _load import load_example

    monkeypatch.setattr(presets, "WEIGHTS_DIR", tmp_path / "weights")
    shipped = load_example("05_beta.py").export(out, "beta-test")
    assert shipped == tmp_path / "weights" / "beta-test"
    meta = presets.read_metadata(shipped)
    assert meta["name"] == "beta-test" and meta["weights_dtype"] == "float16"
    assert meta["command"] == presets.read_metadata(out)["command"] and "run" not in meta
    _preset(shipped, "beta")


@pytest.mark.slow
def test_06_full_smoke_lite0(tmp_path):
    out = tmp_path / "full"
    _run("06_full.py", out, "--embedder", "efficientnet_lite0", "--workers", "2")
    config, meta = _preset(out, "fusion")
    assert config["embedder"] == "efficientnet_lite0" and config["args"]["embedding_dim"] == 1000
    assert meta["train_config"]["workers"] == 2
    recorded = _recorded_command(meta)
    assert recorded.model == "fusion" and recorded.embed_cache  # the example's default
    table = _metrics(out)
    assert "fusion (efficientnet_lite0) (held out)" in table
    emb = np.load(out / "embeddings_efficientnet_lite0.npy")
    assert emb.shape == (4, 1000)
    np.testing.assert_allclose(emb.sum(axis=1), 1.0, atol=1e-3)  # class probabilities


@pytest.mark.slow
def test_07_pretrained_smoke(tmp_path):
    out = tmp_path / "pretrained"
    stdout = _run("07_pretrained.py", out)
    assert (out / "test_grid.png").is_file() and (out / "metrics.csv").is_file()
    from PIL import Image

    with Image.open(out / "eval_grid.png") as grid:  # grey | each preset | truth, 4 photos
        assert grid.width > 300 and grid.height > 300
        assert np.asarray(grid.convert("L")).std() > 10  # not a blank figure
    table = _metrics(out)
    assert "grey baseline" in table and len(table) >= 2
    assert "grey baseline" in stdout
    # The same number format as example 05 (kcolor.formatting): PSNR 2 decimals, AuC 3.
    grey = next(line for line in stdout.splitlines() if line.startswith("grey baseline"))
    header = next(line for line in stdout.splitlines() if "psnr" in line and "auc" in line)
    cells = dict(zip(header.split(), grey.replace("grey baseline", "", 1).split(), strict=True))
    assert re.fullmatch(r"\d+\.\d\d", cells["psnr"]), grey
    assert re.fullmatch(r"\d\.\d{3}", cells["auc"]), grey
    assert cells["photos"] == "4", grey


@pytest.mark.parametrize("name", ["docs/article_test_grid.png", "docs/eval_grid.png"])
def test_docs_grid_is_small(name):
    path = REPO / name
    if not path.exists():
        pytest.skip(f"{name} not generated yet")
    assert path.stat().st_size < 400_000
