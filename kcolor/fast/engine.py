"""Choose the engine: the exported graph (fast) when a preset has one, else Keras.

``kcolor colorize`` and ``kcolor serve`` load their colouriser here. ``engine="auto"`` runs
a preset's ``model.onnx`` with onnxruntime (no Keras, no torch) and falls back to Keras,
with a one-line note, only for a preset without an export (a fusion preset, an older run
folder) or a ``.keras`` file; ``"onnx"`` insists on the export, ``"keras"`` always uses
Keras. A corrupt or stale export is an error naming the file, never a silent fallback.

Example:
    >>> from kcolor.fast.engine import load_colorizer
    >>> type(load_colorizer("unet-lite0-photos")).__name__
    'FastColorizer'
"""

from __future__ import annotations

import os
from pathlib import Path

from kcolor.errors import WeightsError
from kcolor.fast.graph import find_export
from kcolor.presets import registry

__all__ = ["ENGINES", "load_colorizer", "preset_folder"]

#: The values of ``--engine``.
ENGINES = ("auto", "onnx", "keras")


def preset_folder(spec) -> Path | None:
    """The verified preset folder ``spec`` names (``None``: the default preset), or ``None``
    for a ``.keras`` file (which has no export)."""
    if spec is None:
        return registry.locate(registry.DEFAULT_PRESET)
    text = os.fspath(spec)
    named = text in registry.preset_names() and os.sep not in text
    if not named and Path(text).expanduser().is_file():
        return None
    return registry.locate(spec)


def load_colorizer(spec=None, *, engine: str = "auto", on_fallback=None, **kwargs):
    """The colouriser of ``spec`` (a preset name, preset or run folder, ``.keras`` file;
    ``None``: the default preset) on ``engine``.

    Args:
        spec: what to load.
        engine: ``"auto"`` (the export when there is one), ``"onnx"`` or ``"keras"``.
        on_fallback: called with a one-line note when ``"auto"`` falls back to Keras for
            a preset without an export (not for a ``.keras`` file).
        **kwargs: ``batch_size``, ``input_size``, ``vividness``, ``safe_mode``, ... as for
            ``Colorizer.from_preset``.

    Returns:
        A :class:`kcolor.fast.FastColorizer`, or a :class:`kcolor.Colorizer` for Keras.

    Raises:
        WeightsError: an unknown or broken preset; its export missing with
            ``engine="onnx"``; its export corrupt, stale or unloadable.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine != "keras":
        folder = preset_folder(spec)
        name = registry.DEFAULT_PRESET if spec is None else os.fspath(spec)
        if folder is not None and find_export(folder) is not None:
            from kcolor.fast.colorizer import FastColorizer

            return FastColorizer.from_preset(folder, label=name, **kwargs)
        if engine == "onnx":
            raise WeightsError(
                folder if folder is not None else name,
                "has no exported graph (model.onnx): export one with "
                f"`kcolor export {name} -o FOLDER`, or use --engine keras",
            )
        note = folder is not None and on_fallback is not None  # a .keras file is Keras anyway
    else:
        note = False
    from kcolor.inference.colorizer import Colorizer

    colorizer = Colorizer.from_preset(spec, **kwargs)
    if note:  # after loading: a preset that fails to load gets its error alone
        on_fallback(f"{name} has no exported graph (model.onnx): using Keras (slower start)")
    return colorizer
