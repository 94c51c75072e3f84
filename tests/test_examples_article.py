"""The article's examples (04 alpha, 05 beta, 06 full, 07 pretrained) run end to end with --smoke.

Each runs in a subprocess with ``KCOLOR_SHARED`` pointing at a folder that does not exist,
so the path a fresh clone takes in CI (scikit-image photos, no ../shared) is the one tested;
one more test runs example 04 on the article's real woman.jpg from ../shared.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path

REPO = Path(__file__).resolve().parents[1]


def _run(script, out, *extra, shared="/nonexistent/kcolor-shared"):
    env = {**os.environ, "MPLBACKEND": "Agg", "KCOLOR_SHARED": str(shared)}
    cmd = [sys.executable, str(REPO / "examples" / script), "--smoke", "--out", str(out), *extra]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _metrics(out):
    table = json.loads((out / "metrics.json").read_text())
    for row in table.values():
        for key in ("psnr", "auc", "colorfulness"):
            assert math.isfinite(row[key]), (key, row)
        assert 0.0 <= row["auc"] <= 1.0
    return table


@pytest.mark.slow
def test_04_alpha_smoke(tmp_path):
    out = tmp_path / "alpha"
    stdout = _run("04_alpha.py", out)
    assert "PSNR on astronaut (trained)" in stdout and "(unseen)" in stdout
    for name in ("config.json", "history.csv", "compare.png", "report.html", "model.weights.h5"):
        assert (out / name).is_file(), name
    table = _metrics(out)
    assert set(table) == {"alpha on astronaut (trained)", "grey astronaut",
                          "alpha on chelsea (unseen)", "grey chelsea"}  # fmt: skip
    # 40 steps already colour the training photo better than leaving it grey.
    assert table["alpha on astronaut (trained)"]["psnr"] > table["grey astronaut"]["psnr"]


@pytest.mark.slow
def test_04_alpha_smoke_on_the_articles_woman(tmp_path):
    woman = shared_path("article", "alpha", "woman.jpg")
    out = tmp_path / "alpha"
    stdout = _run("04_alpha.py", out, "--photo", str(woman), shared=woman.parents[2])
    assert "PSNR on woman (trained)" in stdout and "PSNR on man (unseen)" in stdout
    table = _metrics(out)
    assert table["alpha on woman (trained)"]["psnr"] > table["grey woman"]["psnr"]


@pytest.mark.slow
def test_05_beta_smoke(tmp_path):
    out = tmp_path / "beta"
    # two data-loading processes and a time budget: the options the GPU runs use
    stdout = _run("05_beta.py", out, "--loss", "saturation", "--workers", "2", "--minutes", "5")
    assert "beta (held out)" in stdout
    config = json.loads((out / "config.json").read_text())
    assert config["train_images"] == 4 and config["val_images"] == 2
    assert config["workers"] == 2 and config["minutes"] == 5 and config["epochs_run"] == 1
    assert config["loss"].startswith("saturation")
    assert {"epoch", "loss", "val_loss"} <= set(
        (out / "history.csv").read_text().split("\n")[0].split(",")
    )
    table = _metrics(out)
    assert set(table) == {"beta (held out)", "grey baseline (held out)"}
    assert table["grey baseline (held out)"]["chroma_ratio"] < 0.01  # grey has no colour


@pytest.mark.slow
def test_06_full_smoke_lite0(tmp_path):
    out = tmp_path / "full"
    _run("06_full.py", out, "--embedder", "efficientnet_lite0", "--workers", "2")
    assert json.loads((out / "config.json").read_text())["workers"] == 2
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


@pytest.mark.parametrize("name", ["docs/article_test_grid.png", "docs/eval_grid.png"])
def test_docs_grid_is_small(name):
    path = REPO / name
    if not path.exists():
        pytest.skip(f"{name} not generated yet")
    assert path.stat().st_size < 400_000
