"""kcolor.presets.run_folder.RunFolder: the one description of a run folder's layout.

The report, the preset writer and the training all find a run's files through it; no other
kcolor module spells those file names in code.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from kcolor.presets import format as preset_format
from kcolor.presets.run_folder import RunFolder

PACKAGE = Path(__file__).resolve().parents[1] / "kcolor"

#: Where a file name of a run folder may be written in code: the two descriptions.
OWNERS = {"presets/run_folder.py", "presets/format.py"}
#: Same names that mean something else (not a run or preset folder's file).
ELSEWHERE = {
    ("evaluation/report.py", "report.html"),  # kcolor evaluate's own output folder
    ("presets/weights.py", "model.weights.h5"),  # a member of a Keras .keras archive
}


def _layout_names() -> set[str]:
    names = {v for k, v in vars(RunFolder).items() if k.isupper() and isinstance(v, str)}
    return names | {preset_format.LEGACY_MODEL}


def _string_constants(path: Path):
    """``(line, value)`` of the string constants of a module, its docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                yield node.lineno, node.value


def test_no_second_description_of_the_run_folder():
    names = _layout_names()
    assert {"history.csv", "train_config.json", "config.json", "model.keras"} <= names
    copies = [
        f"{rel}:{line}: {value!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if (rel := path.relative_to(PACKAGE).as_posix()) not in OWNERS
        for line, value in _string_constants(path)
        if value in names and (rel, value) not in ELSEWHERE
    ]
    assert not copies, "use RunFolder (or kcolor.presets.format) instead:\n  " + "\n  ".join(copies)


def test_the_checker_sees_a_copy(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('"""history.csv in a docstring is fine."""\nHISTORY = "history.csv"\n')
    assert list(_string_constants(path)) == [(2, "history.csv")]


def test_the_preset_files_are_the_preset_format_s():
    assert (RunFolder.CONFIG, RunFolder.WEIGHTS, RunFolder.METADATA) == (
        preset_format.CONFIG,
        preset_format.WEIGHTS,
        preset_format.METADATA,
    )
    assert RunFolder.EXPORT == preset_format.EXPORT_FILE


def test_the_report_finds_the_run_s_files_through_run_folder(tmp_path, monkeypatch):
    """Rename the files in RunFolder: the report follows, so it holds no copy of the names."""
    from kcolor.report import build_report

    for attr, name in [
        ("HISTORY", "log.csv"),
        ("METADATA", "meta.json"),
        ("METRICS_JSON", "scores.json"),
        ("REPORT", "page.html"),
        ("HISTORY_PNG", "curves.png"),
        ("METRICS_PNG", "table.png"),
    ]:
        monkeypatch.setattr(RunFolder, attr, name)
    run = RunFolder(tmp_path)
    pd.DataFrame({"epoch": [0, 1], "loss": [0.5, 0.4]}).to_csv(run.history, index=False)
    run.metadata.write_text(json.dumps({"command": "kcolor train --model beta"}))
    run.metrics_json.write_text(json.dumps({"psnr": 20.0}))
    out = build_report(tmp_path)
    assert out == tmp_path / "page.html"
    page = out.read_text()
    assert "log.csv" in page and "<h2>Metadata</h2>" in page and "<h2>Metrics" in page
    assert (tmp_path / "curves.png").is_file() and (tmp_path / "table.png").is_file()


def test_export_preset_keeps_the_history_through_run_folder(tmp_path):
    from kcolor import models
    from kcolor.presets import save

    src = save.save_to_preset(
        models.alpha(), tmp_path / "run", builder="alpha", args={}, input_size=32, export=False
    )
    RunFolder(src).history.write_text("epoch,loss\n0,0.5\n")
    out = save.export_preset(src, tmp_path / "shipped")
    assert RunFolder(out).history.read_text() == "epoch,loss\n0,0.5\n"

    # Replacing that preset with weights that have no history (a campaign checkpoint)
    # leaves no stale history behind.
    bare = save.save_to_preset(
        models.alpha(), tmp_path / "bare", builder="alpha", args={}, input_size=32, export=False
    )
    out = save.export_preset(bare, tmp_path / "shipped", overwrite=True)
    assert not RunFolder(out).history.exists()


def test_run_folder_is_light_and_keeps_its_old_paths():
    code = (
        "import sys\n"
        "from kcolor.presets.run_folder import RunFolder\n"
        "print(sorted(m for m in ('numpy', 'keras', 'torch', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
    from kcolor import training

    assert training.RunFolder is RunFolder
    sys.modules.pop("kcolor.training.folder", None)
    with pytest.warns(DeprecationWarning, match=r"kcolor\.presets\.run_folder"):
        from kcolor.training.folder import RunFolder as old
    assert old is RunFolder
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        from kcolor.training import RunFolder as public  # the public name: no warning
    assert public is RunFolder
