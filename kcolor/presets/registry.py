"""The preset names: the shipped presets, the registered ones, and the one way from a name to a folder.

:func:`locate` turns a preset name (or a preset folder path) into its verified folder;
:data:`DEFAULT_PRESET` is what ``Colorizer.from_preset()``, ``kcolor colorize`` and
``kcolor demo`` use. The shipped presets are the folders under :data:`WEIGHTS_DIR`
(``kcolor/weights/``, package data); :func:`register_preset` adds a name for a local
folder or a downloadable zip (:mod:`kcolor.presets.download`). No Keras.

Example:
    >>> from kcolor.presets import registry
    >>> registry.DEFAULT_PRESET in registry.preset_names()
    True
    >>> registry.locate("beta-photos").name             # checks the weights' SHA-256
    'beta-photos'
    >>> registry.describe("beta-photos")["builder"]
    'beta'
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from kcolor.errors import WeightsError
from kcolor.presets import download as _download
from kcolor.presets.format import (
    CONFIG,
    WEIGHTS,
    is_preset_folder,
    legacy_kind,
    legacy_message,
    read_config,
    read_metadata,
    verify,
)

__all__ = [
    "DEFAULT_PRESET",
    "WEIGHTS_DIR",
    "describe",
    "fine_tune_flags",
    "folder_of",
    "get_preset",
    "is_installed",
    "is_remote",
    "list_presets",
    "locate",
    "preset_names",
    "register_preset",
    "shipped_names",
    "unknown_preset_message",
    "unregister_preset",
]

#: The folder holding the shipped presets, one sub-folder each (package data).
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"

#: The default preset of ``Colorizer.from_preset()``, ``kcolor colorize`` and ``kcolor demo``.
DEFAULT_PRESET = "unet-lite0-photos"

# Presets registered at run time: name -> {"folder": path} or {"url": ..., "sha256": ...}.
_REGISTERED: dict[str, dict] = {}


# ---------------------------------------------------------------- names
def shipped_names() -> list[str]:
    """The presets inside the installed package, sorted."""
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(p.name for p in WEIGHTS_DIR.iterdir() if (p / CONFIG).is_file())


def preset_names() -> list[str]:
    """Every preset name: the shipped ones, then those registered with :func:`register_preset`."""
    names = shipped_names()
    return names + [n for n in _REGISTERED if n not in names]


def register_preset(
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

    Args:
        name: the new preset name.
        folder: a local preset folder.
        url: the ``https://`` or ``file://`` URL of a zip of a preset folder.
        sha256: the zip's SHA-256 (required with ``url``).
        overwrite: replace a preset of that name.

    Raises:
        ValueError: the name exists, neither or both of ``folder``/``url``, no ``sha256``.

    Example:
        >>> from kcolor.presets import registry
        >>> registry.register_preset("mine", folder="runs/mine")
        >>> "mine" in registry.preset_names()
        True
        >>> registry.unregister_preset("mine")
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


def unregister_preset(name: str) -> None:
    """Forget a preset registered with :func:`register_preset` (no error if absent)."""
    _REGISTERED.pop(name, None)


def is_remote(name: str) -> bool:
    """Whether preset ``name`` is fetched from a ``url`` (registered with :func:`register_preset`)."""
    return bool(_REGISTERED.get(name, {}).get("url"))


def is_installed(name: str) -> bool:
    """Whether preset ``name``'s files are on this machine now (shipped, local or downloaded)."""
    try:
        return (folder_of(name, fetch=False) / WEIGHTS).is_file()
    except WeightsError:
        return False


def unknown_preset_message(spec: str) -> str:
    return (
        f"{spec!r} is neither a preset nor a preset folder. Presets: "
        f"{', '.join(preset_names())} (`kcolor models` describes them); a folder "
        "written by `kcolor train` works too."
    )


# ---------------------------------------------------------------- name -> folder
def folder_of(name: str, fetch: bool) -> Path:
    """The folder of preset ``name`` (unverified); ``fetch``: download a remote one now."""
    if name in _REGISTERED:
        entry = _REGISTERED[name]
        if entry["folder"] is not None:
            return Path(entry["folder"])
        folder = _download.cache_dir() / name
        if fetch and not (folder / WEIGHTS).is_file():
            _download.download(name, entry["url"], entry["sha256"], folder)
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
        folder = folder_of(text, fetch=True)
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


def describe(name: str) -> dict:
    """A preset's listing: name, default flag, description, command, input size, installed."""
    folder = folder_of(name, fetch=False)
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


def list_presets() -> dict[str, str]:
    """Every preset: ``{name: description}``, shipped ones first."""
    out = {}
    for name in preset_names():
        try:
            out[name] = describe(name)["description"]
        except WeightsError:
            out[name] = "(unreadable preset folder)"
    return out


def get_preset(name: str) -> dict:
    """What preset ``name`` (or a preset folder) is: its config, metadata and folder.

    Raises:
        WeightsError: no such preset (the message lists them), or the folder is broken.
    """
    folder = locate(name)
    config = read_config(folder)
    meta = read_metadata(folder)
    return {
        "name": os.fspath(name),
        "folder": os.fspath(folder),
        "builder": config["builder"],
        "args": config["args"],
        "input_size": config["input_size"],
        "multiple": config["multiple"],
        "embedder": config["embedder"],
        "temperature": config["temperature"],
        "prior_correction": config["prior_correction"],
        "vividness": config.get("vividness"),
        "description": meta.get("description", ""),
        "metadata": meta,
    }


def fine_tune_flags(name: str) -> list[str]:
    """The ``kcolor train`` options that fine-tune preset ``name``: its network's options
    (``--model``, ``--model-arg``, ``--embedder``, ``--loss``, from the last ``kcolor train``
    of the command chain in its ``metadata.json``) and ``--init NAME``. No Keras import.

    Example:
        >>> from kcolor.presets import registry
        >>> " ".join(registry.fine_tune_flags("beta-faces"))
        '--model beta --loss saturation --init beta-faces'
    """
    try:
        info = describe(name)
        meta = read_metadata(info["folder"]) if info["installed"] else {}
        parts = str(meta.get("command") or "").split(" && ")
        # the last `kcolor train` of the chain: later steps (a training campaign's
        # tools, for the default) keep that network
        trains = [c for c in parts if c.strip().startswith("kcolor train")]
        tokens = shlex.split(trains[-1] if trains else parts[-1])
    except (WeightsError, OSError, ValueError):
        info, tokens = {}, []
    flags = []
    for flag, value in zip(tokens, tokens[1:], strict=False):
        if flag in ("--model", "--model-arg", "--embedder") or (
            flag == "--loss" and value != "mse"
        ):
            flags += [flag, value]
    if "--model" not in flags:
        flags = ["--model", info.get("builder") or "BUILDER", *flags]
    return [*flags, "--init", name]


#: The old names of :func:`register_preset` and :func:`unregister_preset` (``kcolor.artifacts``).
register = register_preset
unregister = unregister_preset
