"""The fast path: colour photos with a preset's exported ONNX graph, with no Keras and no torch.

A preset folder that holds ``model.onnx`` (written by :mod:`kcolor.presets.export`,
hash-checked through ``metadata.json``) is run here by onnxruntime; the pre- and
post-processing is numpy and Pillow (:mod:`kcolor.color`, :mod:`kcolor.io`). Importing this
package, or colouring with it, imports neither Keras, torch nor kcolor's model code, so
``kcolor colorize`` and ``kcolor serve`` start in about a second.

Public names:
    FastColorizer: the :class:`kcolor.Colorizer` look-alike that runs the export
        (``kcolor.fast.colorizer``).
    find_export: the export record of a preset, or ``None`` when it has none
        (``kcolor.fast.graph``).
    open_session: the checked onnxruntime session of a preset's export (``kcolor.fast.graph``).
    load_colorizer: the export when a preset has one, else Keras, by ``engine``
        (``kcolor.fast.engine``): what ``kcolor colorize`` and ``kcolor serve`` use.

Example:
    >>> from kcolor.fast import FastColorizer
    >>> colorizer = FastColorizer.from_preset("unet-lite0-photos")   # doctest: +SKIP
    >>> rgb = colorizer.colorize("grandma.jpg")                       # doctest: +SKIP
"""

from kcolor._lazy import lazy_getattr

_LAZY = {
    "FastColorizer": ("kcolor.fast.colorizer", "FastColorizer"),
    "find_export": ("kcolor.fast.graph", "find_export"),
    "open_session": ("kcolor.fast.graph", "open_session"),
    "load_colorizer": ("kcolor.fast.engine", "load_colorizer"),
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = ["FastColorizer", "find_export", "load_colorizer", "open_session"]
