"""kcolor.report: figures, tables, the HTML page shell and the run report, from a real tiny run."""

import base64
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from _tiny_training import tiny_data, tiny_model
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from PIL import Image

from kcolor import report
from kcolor.callbacks import ColorizationPreview, PandasLogger
from kcolor.errors import DataError
from kcolor.report import tables


def _png_pixels(png_bytes_or_path):
    if isinstance(png_bytes_or_path, bytes):
        png_bytes_or_path = io.BytesIO(png_bytes_or_path)
    return np.asarray(Image.open(png_bytes_or_path).convert("RGB"), dtype=float)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real tiny training run laid out as the module docstring says."""
    import keras  # (kcolor, imported above, has set the torch backend)

    keras.utils.set_random_seed(0)
    run = tmp_path_factory.mktemp("run")
    x, y = tiny_data(16)
    xv, yv = tiny_data(8, seed=1)
    model = tiny_model()
    callbacks = [
        PandasLogger(run / "history.csv"),
        ColorizationPreview(xv[:4], yv[:4], run / "previews", every=1, max_images=4),
    ]
    model.fit(
        x, y, batch_size=8, epochs=4, validation_data=(xv, yv), verbose=0, callbacks=callbacks
    )
    (run / "config.json").write_text(json.dumps({"model": "tiny", "epochs": 4, "size": [16, 16]}))
    pd.DataFrame({"model": ["tiny", "zeros"], "psnr": [21.5, 19.0], "mae": [0.04, 0.06]}).to_csv(
        run / "metrics.csv", index=False
    )
    return run


# ---------------------------------------------------------------- plot_history
def test_plot_history_from_csv(run_dir):
    fig = report.plot_history(run_dir / "history.csv")
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "mae"]  # constant lr: no lr panel
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["train", "validation"]
    assert lines[0].get_linestyle() == "-" and lines[1].get_linestyle() == "--"
    assert [ln.get_marker() for ln in lines] == ["o", "s"]
    assert list(lines[0].get_xdata()) == [0, 1, 2, 3]
    ticks = fig.axes[0].get_xticks()
    assert np.allclose(ticks, np.round(ticks))  # whole epochs only
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["train", "validation"]
    assert _png_pixels(report.figure_to_png(fig)).var() > 0


def test_plot_history_options():
    frame = pd.DataFrame(
        {
            "epoch": [0, 1, 2],
            "loss": [1.0, 0.1, 0.01],
            "val_loss": [1.2, 0.3, 0.2],
            "psnr": [10.0, 15.0, 18.0],
            "val_psnr": [9.0, 14.0, 16.0],
            "acc": [0.1, 0.5, 0.7],
            "learning_rate": [1e-2, 1e-3, 1e-4],
            "seconds": [1.0, 1.0, 1.0],
        }
    )
    fig = report.plot_history(frame, log_scale=True)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "psnr", "acc", "learning_rate"]
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    fig = report.plot_history(frame, metrics=["psnr"])
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 2
    assert fig.axes[0].get_yscale() == "linear"
    with pytest.raises(DataError, match="nope"):
        report.plot_history(frame, metrics=["nope"])
    with pytest.raises(DataError, match="no rows"):
        report.plot_history(frame.iloc[:0])
    with pytest.raises(DataError, match="missing.csv"):
        report.plot_history("missing.csv")


# ---------------------------------------------------------------- compare_grid
def test_compare_grid_mapping_of_mixed_images():
    rng = np.random.default_rng(0)
    grey = rng.random((3, 20, 30))  # (H, W) floats
    a = (rng.random((3, 20, 30, 3)) * 255).astype(np.uint8)
    b = rng.random((3, 20, 30, 1))
    truth = rng.random((3, 20, 30, 3))
    fig = report.compare_grid(
        {"grey": grey, "model A": a, "model B": b, "truth": truth},
        row_titles=["one", "two", "three"],
        title="comparison",
    )
    assert len(fig.axes) == 12
    assert [ax.get_title() for ax in fig.axes[:4]] == ["grey", "model A", "model B", "truth"]
    assert [fig.axes[k].get_ylabel() for k in (0, 4, 8)] == ["one", "two", "three"]
    shown = fig.axes[1].images[0].get_array()
    assert shown.shape == (20, 30, 3) and np.allclose(shown, a[0] / 255.0)
    assert fig.axes[2].images[0].get_array().shape == (20, 30, 3)
    # wider than tall cells: the figure follows the images' aspect
    w, h = fig.get_size_inches()
    assert w > h
    assert _png_pixels(report.figure_to_png(fig)).var() > 0


def test_compare_grid_rows_and_errors():
    img = np.zeros((8, 8, 3))
    fig = report.compare_grid([[img, img], [img, None]], column_titles=["x", "y"])
    assert len(fig.axes) == 4 and not fig.axes[3].images
    with pytest.raises(ValueError, match="column titles"):
        report.compare_grid([[img, img]], column_titles=["only one"])
    with pytest.raises(ValueError, match="no images"):
        report.compare_grid([])
    with pytest.raises(ValueError, match="expected an image"):
        report.compare_grid([[np.zeros((8, 8, 5))]])


# ---------------------------------------------------------------- metrics_table
def test_metrics_table_marks_the_best_value():
    data = {
        "alpha": {"psnr": 20.1, "mae": 0.09, "note": "x"},
        "beta": {"psnr": 22.4, "mae": 0.07, "note": "y"},
        "gamma": {"psnr": 21.0, "mae": 0.08, "note": "z"},
    }
    fig = report.metrics_table(data, title="val")
    assert len(fig.axes) == 1
    table = fig.axes[0].tables[0]
    cells = table.get_celld()
    green = to_rgba(tables._HIGHLIGHT)
    marked = {(r, c) for (r, c), cell in cells.items() if cell.get_facecolor() == green}
    # beta (row 2) is best for psnr (higher) and mae (lower); "note" has no direction
    assert marked == {(2, 0), (2, 1)}
    assert (
        cells[0, 0].get_text().get_text() == "psnr"
        and cells[1, -1].get_text().get_text() == "alpha"
    )
    assert _png_pixels(report.figure_to_png(fig)).var() > 0

    # "better" overrides the guess; a flat dict is a single row, with nothing to mark
    fig = report.metrics_table(data, better={"psnr": "min"})
    cells = fig.axes[0].tables[0].get_celld()
    assert cells[1, 0].get_facecolor() == green
    fig = report.metrics_table({"psnr": 20.0, "mae": 0.1})
    assert not any(
        cell.get_facecolor() == green for cell in fig.axes[0].tables[0].get_celld().values()
    )

    html = report.metrics_styler(data).to_html()
    style = html.split("</style>")[0]
    styled = set(re.findall(r"row(\d+)_col(\d+)", style))
    assert styled == {("1", "0"), ("1", "1")} and "font-weight: bold" in style and "22.4" in html


# ---------------------------------------------------------------- build_report
def test_build_report_from_a_real_run(run_dir):
    out = report.build_report(run_dir, title="Tiny run", max_previews=2)
    assert out == run_dir / "report.html"
    page = out.read_text()
    assert "<title>Tiny run</title>" in page
    for section in ("Training", "Previews", "Metrics", "Configuration"):
        assert f"<h2>{section}" in page
    # self-contained: history + 2 previews embedded, nothing loaded from elsewhere
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(embedded) == 3
    assert not re.search(r'src="(?!data:)', page)
    for b64 in embedded:
        assert _png_pixels(base64.b64decode(b64)).var() > 0
    assert "preview_epoch_003.png" in page and "preview_epoch_002.png" in page
    assert "preview_epoch_001.png" not in page
    assert '<td class="best">21.50</td>' in page and '<td class="best">0.04</td>' in page
    assert "4 epochs: solid blue line with circles = train, dashed orange line" in page
    assert "<th>model</th><td>tiny</td>" in page and "[16, 16]" in page
    for png in ("history.png", "metrics.png"):
        assert _png_pixels(run_dir / png).var() > 0


def test_one_epoch_history_has_one_integer_tick_and_a_caption_that_matches(tmp_path):
    frame = pd.DataFrame(
        {"epoch": [0], "loss": [0.0123], "val_loss": [0.0150], "seconds": [1.5], "samples": [16]}
    )
    fig = report.plot_history(frame)
    ax = fig.axes[0]
    assert list(ax.get_xticks()) == [0]
    lo, hi = ax.get_xlim()
    assert lo <= -0.5 and hi >= 0.5  # not the -0.045..0.045 of matplotlib's default
    assert [ln.get_marker() for ln in ax.get_lines()] == ["o", "s"]
    assert report.history_caption(frame) == (
        "1 epoch: blue circle = train, orange square = validation."
    )
    assert "solid" not in report.history_caption(frame)
    frame.to_csv(tmp_path / "history.csv", index=False)
    page = report.build_report(tmp_path).read_text()
    assert "1 epoch: blue circle = train, orange square = validation." in page
    assert ">0.0123</div>" in page and ">1.5 s</div>" in page  # cards use format_value
    long = pd.DataFrame({"epoch": range(40), "loss": np.linspace(1, 0.1, 40)})
    assert report.history_caption(long) == "40 epochs: solid blue = train."
    assert report.plot_history(long).axes[0].get_lines()[0].get_marker() in ("None", None, "")


def test_tables_format_each_column_by_its_metric():
    frame = pd.DataFrame(
        {
            "psnr": [22.6, 19.04321],
            "ssim": [0.81234, 0.7],
            "auc": [0.9, 0.85],
            "loss": [0.00032571, 0.0123],
            "samples": [20.0, 16.0],
        },
        index=pd.Index(["beta", "grey"], name="model"),
    )
    html = report.metrics_html(frame)
    for cell in ("22.60", "19.04", "0.812", "0.700", "0.900", "0.0003257", "0.0123", ">20<"):
        assert cell in html, cell
    cells = report.metrics_table(frame).axes[0].tables[0].get_celld()
    assert [cells[1, j].get_text().get_text() for j in range(5)] == [
        "22.60",
        "0.812",
        "0.900",
        "0.0003257",
        "20",
    ]
    styled = report.metrics_styler(frame).to_html()
    assert "22.60" in styled and "0.812" in styled
    # a tie has no winner
    tied = pd.DataFrame({"auc": [0.5, 0.5, 0.4]}, index=["a", "b", "c"])
    assert 'class="best"' not in report.metrics_html(tied)
    # an explicit fmt still wins
    assert "22.6000" in report.metrics_html(frame, fmt="{:.4f}")


def test_build_report_finds_another_history_csv_and_json_metrics(tmp_path):
    pd.DataFrame({"epoch": [0, 1], "loss": [0.5, 0.4]}).to_csv(tmp_path / "log.csv", index=False)
    (tmp_path / "metrics.json").write_text(json.dumps({"psnr": 20.0}))
    page = report.build_report(tmp_path).read_text()
    assert "log.csv" in page and "<h2>Metrics" in page and "Previews" not in page


def test_build_report_shows_the_preset_folder_json_files(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps({"builder": "beta", "args": {"input_shape": [None, None, 1]}})
    )
    (tmp_path / "metadata.json").write_text(
        json.dumps({"command": "kcolor train --model beta", "seed": 1})
    )
    (tmp_path / "train_config.json").write_text(json.dumps({"epochs": 3}))
    page = report.build_report(tmp_path).read_text()
    for heading in ("Configuration", "Training configuration", "Metadata"):
        assert f"<h2>{heading}</h2>" in page
    assert "<th>command</th><td>kcolor train --model beta</td>" in page
    (tmp_path / "metadata.json").write_text("{oops")
    with pytest.raises(DataError, match="metadata.json"):
        report.build_report(tmp_path)


def test_build_report_errors(tmp_path):
    with pytest.raises(DataError, match="no such run folder"):
        report.build_report(tmp_path / "absent")
    with pytest.raises(DataError, match="nothing to report"):
        report.build_report(tmp_path)
    (tmp_path / "config.json").write_text("{oops")
    with pytest.raises(DataError, match="config.json"):
        report.build_report(tmp_path)


def test_direction_guesses():
    assert [
        tables._direction(n) for n in ("val_loss", "psnr", "val_mae", "delta_colorfulness")
    ] == [
        "min",
        "max",
        "min",
        "min",
    ]
    assert tables._direction("colorfulness") is None and tables._direction("chroma_ratio") is None


@pytest.mark.slow
def test_example_00_smoke(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "00_callbacks_and_reports.py"
    spec = importlib.util.spec_from_file_location("example_00", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(["--smoke", "--out", str(tmp_path / "run")])
    run = tmp_path / "run"
    assert out == run / "report.html" and out.stat().st_size > 10_000
    assert list(pd.read_csv(run / "history.csv")["epoch"]) == [0, 1, 2]
    assert set(json.loads((run / "metrics.json").read_text())) == {
        "small_colorizer",
        "grey (ab = 0)",
    }
    assert sorted(p.name for p in (run / "previews").iterdir()) == [
        "preview_epoch_000.png",
        "preview_epoch_001.png",
        "preview_epoch_002.png",
    ]
    assert not (run / "backup").exists()  # BackupAndRestore cleans up after a finished run


# ---------------------------------------------------------------- the package itself
def test_import_kcolor_report_loads_no_keras_or_torch():
    """Reports can be drawn where Keras and torch are neither installed nor wanted."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import kcolor.report as r\n"
        "from kcolor.report import html, figures, history, tables, run\n"
        "r.build_report, r.page, r.compare_grid, r.metrics_html, r.plot_history\n"
        "print(sorted(m for m in ('keras', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_page_is_the_one_html_shell():
    from pathlib import Path

    from kcolor.report.html import html_page, kv_table, page

    text = page('a <b> & "c"', "<p>body</p>", subtitle=["x<y"], stamp=False)
    assert text.startswith("<!DOCTYPE html>\n") and text.endswith("</body></html>\n")
    assert "<title>a &lt;b&gt; &amp; &quot;c&quot;</title>" in text
    assert '<h1>a &lt;b&gt; &amp; &quot;c&quot;</h1><p class="sub">x&lt;y</p>' in text
    assert "<p>body</p>" in text  # the body is HTML, not escaped
    assert "td.best" in text  # kcolor's style
    assert "<style>x</style>" in page("t", "", css="x", stamp=False)
    assert '<p class="sub">' not in page("t", "", stamp=False)
    assert re.search(
        r'<p class="sub">a &middot; \d{4}-\d\d-\d\d \d\d:\d\d</p>', html_page("t", [], ["a"])
    )
    assert (
        kv_table([("<k>", 1)]) == '<table class="kv"><tr><th>&lt;k&gt;</th><td>1</td></tr></table>'
    )
    # no other kcolor module builds a page of its own
    package = Path(report.__file__).resolve().parents[1]
    shells = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if re.search(r"<!doctype html|<style", p.read_text(encoding="utf-8"), re.IGNORECASE)
    ]
    assert shells == ["report/html.py"]


@pytest.mark.parametrize(
    "old, new", [("kcolor.reports", "kcolor.report"), ("kcolor.figures", "kcolor.report.figures")]
)
def test_old_report_paths_warn_and_are_the_new_modules(old, new):
    import importlib
    import sys

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    if old == "kcolor.reports":  # what examples of earlier versions use still works
        assert module.build_report is report.build_report
        assert module._metrics_frame({"psnr": 1.0}).shape == (1, 1)


def test_bookkeeping_columns_match_the_training_log():
    from kcolor.callbacks import BOOKKEEPING_COLUMNS

    assert report.BOOKKEEPING_COLUMNS == BOOKKEEPING_COLUMNS
