"""The preset folder format: its layout, ``config.json`` / ``metadata.json`` schema and hash check.

A preset (a shipped one under ``kcolor/weights/``, or any ``kcolor train`` run folder) is
a folder holding::

    config.json        how to build the network: {"builder", "args", "input_size", ...}
    model.weights.h5   its weights (keras ``save_weights`` format)
    metadata.json      how it was made: command, training config, data, seed, epochs,
                       wall time, device, metrics, and the SHA-256 of the weights

This module reads, checks and verifies one such folder; no Keras, no numpy (``kcolor
models`` and usage errors stay instant). Names: :func:`read_config`,
:func:`read_metadata`, :func:`verify`, :func:`is_preset_folder`, :func:`legacy_kind`,
:func:`sha256sum`, :func:`write_json`, and the file names :data:`CONFIG`,
:data:`WEIGHTS`, :data:`METADATA`.

Example:
    >>> from kcolor.presets import format, registry
    >>> folder = registry.WEIGHTS_DIR / "beta-photos"
    >>> format.is_preset_folder(folder)
    True
    >>> format.read_config(folder)["builder"]
    'beta'
    >>> format.verify(folder).name                      # checks the weights' SHA-256
    'model.weights.h5'
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from kcolor.errors import WeightsError

__all__ = [
    "CONFIG",
    "FORMAT",
    "FORMAT_VERSION",
    "LEGACY_MODEL",
    "METADATA",
    "WEIGHTS",
    "is_preset_folder",
    "legacy_kind",
    "legacy_message",
    "read_config",
    "read_json",
    "read_metadata",
    "sha256sum",
    "verify",
    "write_json",
]

#: The file names of a preset folder, and the format's name and version (in ``config.json``).
CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
METADATA = "metadata.json"
#: The whole model of an old ``kcolor train`` run folder (:func:`legacy_kind`).
LEGACY_MODEL = "model.keras"
FORMAT = "kcolor-preset"
FORMAT_VERSION = 1


# ---------------------------------------------------------------- hashing and json
def sha256sum(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_json(path: Path) -> dict:
    """A JSON object file of a preset folder, or :class:`~kcolor.errors.WeightsError` naming it."""
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


# ---------------------------------------------------------------- one folder
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
    if "architecture" in config and (path / LEGACY_MODEL).is_file():
        return "train-run"
    if "example" in config and (path / WEIGHTS).is_file():
        return "example-run"
    return None


def legacy_message(folder: Path, kind: str) -> str:
    return (
        f"an old kcolor run folder ({'kcolor train' if kind == 'train-run' else 'example'} "
        "format, before presets were folders). Convert it once with "
        f"`kcolor convert {folder} NEW_FOLDER` and use NEW_FOLDER."
    )


def read_config(folder: str | os.PathLike) -> dict:
    """The ``config.json`` of a preset folder, checked: builder name, its arguments, sizes."""
    folder = Path(folder)
    config = read_json(folder / CONFIG)
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
    return read_json(path) if path.exists() else {}


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


#: The exported inference graph in a preset folder (:mod:`kcolor.presets.export` writes it,
#: :mod:`kcolor.fast` runs it), and its record's key in ``metadata.json``.
EXPORT_FILE = "model.onnx"
EXPORT_KEY = "export"
