"""Presets: the preset folder format, building, saving and loading; the one way from a name to a model.

A preset is a folder (a shipped one under ``kcolor/weights/``, or any ``kcolor train`` run)::

    config.json        {"builder": "beta", "args": {...}, "input_size": 128, "multiple": 8,
                        "embedder": null, "temperature": null,
                        "vividness": {"default": 0.5, "anchors": null}}  (optional)
    model.weights.h5   the weights
    metadata.json      the ``kcolor train`` command, training config, data, seed, epochs,
                       wall time, device, metrics and the weights' SHA-256

Submodules, lowest first (none imports Keras at import time, none imports
``kcolor.inference``, ``training``, ``evaluation`` or ``cli``; one exception for now:
``save_to_preset`` writes ``model.onnx`` through ``kcolor.presets.export.after_save``):

* :mod:`~kcolor.presets.format` - the folder layout, ``config.json``/``metadata.json``
  schema and SHA-256 check (``read_config``, ``read_metadata``, ``verify``, ...);
* :mod:`~kcolor.presets.run_folder` - ``RunFolder``, the one description of a run folder
  (a preset folder plus history, previews, backup and report; ``kcolor.training.RunFolder``);
* :mod:`~kcolor.presets.download` - hash-checked, cached download of a registered zip;
* :mod:`~kcolor.presets.registry` - the names: shipped presets, :data:`DEFAULT_PRESET`,
  ``register_preset``, ``locate`` (name or folder -> verified folder), ``list_presets``;
* :mod:`~kcolor.presets.vividness_record` - the ``"vividness"`` record of ``config.json``;
* :mod:`~kcolor.presets.weights` - ``load_weights`` (the ``weights=`` of every model);
* :mod:`~kcolor.presets.build` - ``get_builder``, ``build_model`` (folder -> network);
* :mod:`~kcolor.presets.save` - ``save_to_preset``, ``save_weights``, ``export_preset``,
  ``convert_legacy``;
* :mod:`~kcolor.presets.loader` - ``load`` (name, folder, run or ``.keras`` file -> a
  :class:`Loaded` model and how to run it) and ``check_spec``: what
  ``Colorizer.from_preset`` and every ``--model`` option go through.

``kcolor.artifacts``, ``kcolor.loading`` and ``kcolor.models._weights`` are deprecated
aliases of this package, :mod:`~kcolor.presets.loader` and :mod:`~kcolor.presets.weights`.

Example:
    >>> from kcolor import presets
    >>> presets.DEFAULT_PRESET
    'unet-lite0-photos'
    >>> presets.get_preset("beta-photos")["builder"]
    'beta'
    >>> model = presets.build_model("beta-photos")              # doctest: +SKIP
    >>> presets.save_to_preset(model, "my-preset", builder="beta",
    ...                        args={"input_shape": [None, None, 1]},
    ...                        input_size=128)                  # doctest: +SKIP
"""

from __future__ import annotations

from kcolor.presets.build import BUILDERS, build_model, get_builder
from kcolor.presets.download import cache_dir
from kcolor.presets.format import (
    CONFIG,
    FORMAT,
    FORMAT_VERSION,
    METADATA,
    WEIGHTS,
    is_preset_folder,
    legacy_kind,
    legacy_message,
    read_config,
    read_metadata,
    sha256sum,
    verify,
    write_json,
)
from kcolor.presets.loader import Loaded, check_spec, load
from kcolor.presets.registry import (
    DEFAULT_PRESET,
    WEIGHTS_DIR,
    describe,
    fine_tune_flags,
    get_preset,
    is_installed,
    is_remote,
    list_presets,
    locate,
    preset_names,
    register,
    register_preset,
    shipped_names,
    unknown_preset_message,
    unregister,
    unregister_preset,
)
from kcolor.presets.save import convert_legacy, export_preset, save_to_preset, save_weights
from kcolor.presets.weights import load_weights

__all__ = [
    "BUILDERS",
    "CONFIG",
    "DEFAULT_PRESET",
    "FORMAT",
    "FORMAT_VERSION",
    "METADATA",
    "WEIGHTS",
    "WEIGHTS_DIR",
    "Loaded",
    "build_model",
    "cache_dir",
    "check_spec",
    "convert_legacy",
    "describe",
    "export_preset",
    "fine_tune_flags",
    "get_builder",
    "get_preset",
    "is_installed",
    "is_preset_folder",
    "is_remote",
    "legacy_kind",
    "legacy_message",
    "list_presets",
    "load",
    "load_weights",
    "locate",
    "preset_names",
    "read_config",
    "read_metadata",
    "register",
    "register_preset",
    "save_to_preset",
    "save_weights",
    "sha256sum",
    "shipped_names",
    "unknown_preset_message",
    "unregister",
    "unregister_preset",
    "verify",
    "write_json",
]
