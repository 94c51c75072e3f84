"""The one artefact format: a preset folder, as ``kcolor train`` writes it and every loader reads it.

A preset (a shipped one under ``kcolor/weights/``, or any ``kcolor train`` run folder) is
a folder holding::

    config.json        how to build the network: {"builder", "args", "input_size", ...}
    model.weights.h5   its weights (keras ``save_weights`` format)
    metadata.json      how it was made: command, training config, data, seed, epochs,
                       wall time, device, metrics, and the SHA-256 of the weights

This module reads, verifies and locates such folders (a name, a folder, or a
registered download), with no Keras import, so ``kcolor models`` and usage errors stay
instant. Building and saving models lives in :mod:`kcolor.presets`.

Example:
    >>> from kcolor import artifacts
    >>> artifacts.DEFAULT_PRESET in artifacts.preset_names()
    True
    >>> folder = artifacts.locate("beta-photos")       # checks the weights' SHA-256
    >>> artifacts.read_config(folder)["builder"]
    'beta'
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from kcolor.errors import WeightsError

#: The folder holding the shipped presets, one sub-folder each.
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

#: The default preset of ``Colorizer.from_preset()``, ``kcolor colorize`` and ``kcolor demo``.
DEFAULT_PRESET = "unet-lite0-photos"

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
METADATA = "metadata.json"
FORMAT = "kcolor-preset"
FORMAT_VERSION = 1

# Presets registered at run time: name -> {"folder": path} or {"url": ..., "sha256": ...}.
_REGISTERED: dict[str, dict] = {}


# ---------------------------------------------------------------- hashing and json
def sha256sum(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(
            path, "missing: a preset folder needs config.json, model.weights.h5 and metadata.json"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise WeightsError(path, f"unreadable or not JSON ({err})") from err
    if not isinstance(value, dict):
        raise WeightsError(path, "must hold a JSON object")
    return value


def write_json(path: str | os.PathLike, value: dict) -> Path:
    """Write ``value`` as indented JSON, atomically (a temporary file, then a rename)."""
    from kcolor.io import atomic_write_bytes  # (numpy and PIL: only when writing)

    return atomic_write_bytes(path, (json.dumps(value, indent=2) + "\n").encode("utf-8"))


# ---------------------------------------------------------------- folders
def is_preset_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder in the preset format (it has ``config.json`` with a builder)."""
    path = Path(path)
    if not (path / CONFIG).is_file() or not (path / WEIGHTS).exists():
        return False
    try:
        return "builder" in json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False


def legacy_kind(path: str | os.PathLike) -> str | None:
    """``"train-run"`` (old ``kcolor train``: model.keras + config.json with an architecture),
    ``"example-run"`` (old examples 05/06: model.weights.h5 + config.json with an example),
    or ``None`` if ``path`` is neither."""
    path = Path(path)
    try:
        config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        config = None
    if not isinstance(config, dict) or "builder" in config:
        return None
    if "architecture" in config and (path / "model.keras").is_file():
        return "train-run"
    if "example" in config and (path / WEIGHTS).is_file():
        return "example-run"
    return None


def read_config(folder: str | os.PathLike) -> dict:
    """The ``config.json`` of a preset folder, checked: builder name, its arguments, sizes."""
    folder = Path(folder)
    config = _read_json(folder / CONFIG)
    if not isinstance(config.get("builder"), str):
        raise WeightsError(folder / CONFIG, 'names no builder (a "builder" key, e.g. "beta")')
    if not isinstance(config.get("args", {}), dict):
        raise WeightsError(folder / CONFIG, '"args" must be a JSON object')
    version = config.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise WeightsError(
            folder / CONFIG,
            f"preset format version {version!r} is newer than this kcolor reads "
            f"({FORMAT_VERSION}): upgrade kcolor (pip install -U kcolor)",
        )
    config.setdefault("args", {})
    config.setdefault("input_size", None)
    config.setdefault("multiple", 8)
    config.setdefault("embedder", None)
    config.setdefault("temperature", None)
    config.setdefault("prior_correction", 0.0)
    config.setdefault("vividness", None)  # kcolor.inference.vividness reads and checks it
    return config


def read_metadata(folder: str | os.PathLike) -> dict:
    """The ``metadata.json`` of a preset folder (``{}`` when the folder has none)."""
    path = Path(folder) / METADATA
    return _read_json(path) if path.exists() else {}


def verify(folder: str | os.PathLike) -> Path:
    """The weights file of a preset folder, after checking it against ``metadata.json``'s SHA-256.

    Raises:
        WeightsError: naming the file: missing, or failing its hash (corrupt or replaced).
    """
    folder = Path(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise WeightsError(weights, "missing: the preset folder holds no weights")
    expected = read_metadata(folder).get("weights_sha256")
    if expected:
        digest = sha256sum(weights)
        if digest != expected:
            raise WeightsError(
                weights,
                f"fails its SHA-256 check (metadata.json says {expected}, the file is {digest}): "
                "it is corrupt or was replaced. Reinstall kcolor (for a shipped preset), or "
                "train or copy the folder again.",
            )
    return weights


# ---------------------------------------------------------------- names
def shipped_names() -> list[str]:
    """The presets inside the installed package, sorted."""
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(p.name for p in WEIGHTS_DIR.iterdir() if (p / CONFIG).is_file())


def preset_names() -> list[str]:
    """Every preset name: the shipped ones, then those registered with :func:`register`."""
    names = shipped_names()
    return names + [n for n in _REGISTERED if n not in names]


def register(
    name: str,
    *,
    folder: str | os.PathLike | None = None,
    url: str | None = None,
    sha256: str | None = None,
    overwrite: bool = False,
) -> None:
    """Make ``name`` a preset: a local ``folder``, or a ``url`` of a ``.zip`` of a preset folder.

    A ``url`` (``https://`` or ``file://``) is fetched once into ``$KERAS_HOME/kcolor``
    (default ``~/.keras/kcolor``), checked against ``sha256``, and unpacked there.

    Example:
        >>> from kcolor import artifacts
        >>> artifacts.register("mine", folder="runs/mine")        # doctest: +SKIP
    """
    if not overwrite and name in preset_names():
        raise ValueError(f"A preset named {name!r} exists already; pass overwrite=True.")
    if (folder is None) == (url is None):
        raise ValueError("Give a preset either `folder` or `url`.")
    if url is not None and not sha256:
        raise ValueError(f"Preset {name!r}: a `url` needs its `sha256` to check the download.")
    _REGISTERED[name] = {
        "folder": None if folder is None else os.fspath(folder),
        "url": url,
        "sha256": sha256,
    }


def unregister(name: str) -> None:
    """Forget a preset registered with :func:`register` (no error if absent)."""
    _REGISTERED.pop(name, None)


def is_remote(name: str) -> bool:
    """Whether preset ``name`` is fetched from a ``url`` (registered with :func:`register`)."""
    return bool(_REGISTERED.get(name, {}).get("url"))


def cache_dir() -> Path:
    """Where downloaded presets go: ``$KERAS_HOME/kcolor`` (default ``~/.keras/kcolor``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "kcolor"


def is_installed(name: str) -> bool:
    """Whether preset ``name``'s files are on this machine now (shipped, local or downloaded)."""
    try:
        return (_folder_of(name, fetch=False) / WEIGHTS).is_file()
    except WeightsError:
        return False


def unknown_preset_message(spec: str) -> str:
    return (
        f"{spec!r} is neither a preset nor a preset folder. Presets: "
        f"{', '.join(preset_names())} (`kcolor models` describes them); a folder "
        "written by `kcolor train` works too."
    )


def _folder_of(name: str, fetch: bool) -> Path:
    if name in _REGISTERED:
        entry = _REGISTERED[name]
        if entry["folder"] is not None:
            return Path(entry["folder"])
        folder = cache_dir() / name
        if fetch and not (folder / WEIGHTS).is_file():
            _download(name, entry["url"], entry["sha256"], folder)
        return folder
    if name in shipped_names():
        return WEIGHTS_DIR / name
    raise WeightsError(None, unknown_preset_message(name))


def locate(spec: str | os.PathLike) -> Path:
    """The preset folder that ``spec`` (a preset name or a folder path) names, verified.

    Raises:
        WeightsError: unknown name (listing the presets), not a preset folder (saying how
            to convert an old run folder), a failed download, or a failed hash check.
    """
    text = os.fspath(spec)
    path = Path(text).expanduser()
    if text in preset_names() and os.sep not in text:
        folder = _folder_of(text, fetch=True)
    elif path.is_dir():
        folder = path
    else:
        raise WeightsError(None, unknown_preset_message(text))
    if not is_preset_folder(folder):
        kind = legacy_kind(folder)
        if kind is not None:
            raise WeightsError(folder, legacy_message(folder, kind))
        if not (folder / CONFIG).is_file():
            raise WeightsError(
                folder,
                "not a preset folder (no config.json). A `kcolor train` run folder holds one "
                "once the run has started; pass a preset name, a run folder or a .keras file.",
            )
        if not (folder / WEIGHTS).exists():
            raise WeightsError(
                folder / WEIGHTS,
                "missing: no epoch of this run has finished yet, so there is no model to use",
            )
        read_config(folder)  # raises with the reason
    verify(folder)
    return folder


def legacy_message(folder: Path, kind: str) -> str:
    return (
        f"an old kcolor run folder ({'kcolor train' if kind == 'train-run' else 'example'} "
        "format, before presets were folders). Convert it once with "
        f"`kcolor convert {folder} NEW_FOLDER` and use NEW_FOLDER."
    )


def _download(name: str, url: str, digest: str, folder: Path) -> None:
    """Fetch ``url`` (a zip of a preset folder), check its SHA-256 and unpack it into ``folder``."""
    import zipfile

    folder.parent.mkdir(parents=True, exist_ok=True)
    archive = folder.parent / f"{name}.zip"
    if archive.is_file() and sha256sum(archive) != digest:
        archive.unlink()  # a stale or corrupt copy: fetch again
    if not archive.is_file():
        from kcolor.io import atomic_path

        try:
            with atomic_path(archive, suffix=".part") as tmp:
                with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=60) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                got = sha256sum(tmp)
                if got != digest:
                    raise WeightsError(
                        url,
                        f"the download of preset {name!r} fails its SHA-256 check (expected "
                        f"{digest}, got {got}); try again later, or fetch the file yourself "
                        "and register its folder with kcolor.artifacts.register(name, folder=...)",
                    )
        except (urllib.error.URLError, OSError, ValueError) as err:
            if isinstance(err, WeightsError):
                raise
            raise WeightsError(
                url,
                f"could not fetch preset {name!r} ({err}). Check the network connection, or "
                "fetch the file yourself and register its folder with "
                "kcolor.artifacts.register(name, folder=...).",
            ) from err
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}."))
    try:
        with zipfile.ZipFile(archive) as z:
            members = [m for m in z.namelist() if not m.endswith("/")]
            for member in members:
                target = Path(member).name  # flat: never write outside the folder
                if target in (CONFIG, WEIGHTS, METADATA) or target.endswith((".csv", ".png")):
                    (staging / target).write_bytes(z.read(member))
        if not is_preset_folder(staging):
            raise WeightsError(
                archive, "the archive holds no preset folder (config.json + model.weights.h5)"
            )
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except zipfile.BadZipFile as err:
        raise WeightsError(archive, f"not a readable zip archive ({err})") from err
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def describe(name: str) -> dict:
    """A preset's listing: name, default flag, description, command, input size, installed."""
    folder = _folder_of(name, fetch=False)
    installed = (folder / WEIGHTS).is_file()
    config = read_config(folder) if installed else {}
    meta = read_metadata(folder) if installed else {}
    return {
        "name": name,
        "default": name == DEFAULT_PRESET,
        "description": meta.get("description", ""),
        "builder": config.get("builder"),
        "input_size": config.get("input_size"),
        "embedder": config.get("embedder"),
        "installed": installed,
        "command": meta.get("command"),
        "folder": os.fspath(folder),
    }
