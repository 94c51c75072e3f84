"""kcolor.data -> kcolor.curation, kcolor.artifacts/loading/models._weights -> kcolor.presets.

The old import paths still work, warn once with ``DeprecationWarning`` naming the new path,
and give the new module objects (so a patch reaches both); kcolor itself never uses them;
presets and curation import nothing above them.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import pytest
from test_imports import PACKAGE, import_graph

OLD_TO_NEW = [
    ("kcolor.data", "kcolor.curation"),
    ("kcolor.data.manifest", "kcolor.curation.manifest"),
    ("kcolor.data.cli", "kcolor.curation.cli"),
    ("kcolor.artifacts", "kcolor.presets"),
    ("kcolor.loading", "kcolor.presets.loader"),
    ("kcolor.models._weights", "kcolor.presets.weights"),
]


def _forget(old: str) -> None:
    """Drop ``old`` (and, for ``kcolor.data``, the package too) from ``sys.modules``."""
    for name in [old, old.rpartition(".")[0] if old.startswith("kcolor.data.") else ""]:
        sys.modules.pop(name, None)


@pytest.mark.parametrize("old, new", OLD_TO_NEW)
def test_old_paths_warn_and_are_the_new_modules(old, new):
    _forget(old)
    with pytest.warns(DeprecationWarning, match=r"kcolor\.(curation|presets)"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


def test_old_names_still_work():
    for name in ("kcolor.data", "kcolor.data.manifest", "kcolor.artifacts", "kcolor.loading"):
        sys.modules.pop(name, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from kcolor.data.manifest import COLUMNS

        from kcolor.artifacts import DEFAULT_PRESET, locate, read_config
        from kcolor.data import scan
        from kcolor.loading import Loaded, check_spec, load
    from kcolor import curation, presets

    assert COLUMNS is curation.manifest.COLUMNS and scan is curation.scan
    assert read_config(locate(DEFAULT_PRESET))["builder"] == "unet"
    assert (Loaded, check_spec, load) == (presets.Loaded, presets.check_spec, presets.load)


def test_kcolor_itself_uses_no_old_path():
    old = {
        "kcolor.data",
        "kcolor.artifacts",
        "kcolor.loading",
        "kcolor.models._weights",
        "kcolor.judges",
        "kcolor.training.folder",
    }
    graph = import_graph(PACKAGE)
    users = {m: sorted(set(e) & old) for m, e in graph.items() if set(e) & old and m not in old}
    assert not users, f"import the new paths instead: {users}"
    # and the `kcolor data` command runs without a DeprecationWarning
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-m", "kcolor", "data", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "scan" in done.stdout


def test_training_find_photos_is_a_deprecated_name_of_find_colour_photos(tmp_path):
    """One photo finder (kcolor.io.find_photos); training's colour filter has its own name."""
    import numpy as np
    from PIL import Image

    from kcolor import training

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "c.png")
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(tmp_path / "g.png")
    assert training.find_colour_photos([tmp_path]) == ([tmp_path / "c.png"], 1)
    with pytest.warns(DeprecationWarning, match="find_colour_photos"):
        assert training.find_photos([tmp_path]) == ([tmp_path / "c.png"], 1)
